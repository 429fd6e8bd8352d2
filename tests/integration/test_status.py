"""`mdp status` answers "is everything in?": a revoked account shows its failed days and the command
exits 1; after a rerun with dbt every account is fresh, the marts are level with raw, and it exits 0."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from mdp.cli import app
from sandbox import Fault, GoogleAdsSandbox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("prefect_server", "secrets_env"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 16)


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MDP_ST_DEVELOPER_TOKEN", "st-developer-token")
    monkeypatch.setenv("MDP_ST_ACCESS_TOKEN", "st-access-token")


def write_config(tmp_path: Path, sandbox: GoogleAdsSandbox) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "timezone: Europe/Paris\n"
        "warehouse: {type: duckdb, path: wh.duckdb}\n"
        "connectors:\n"
        "  - name: google_ads\n"
        "    type: google_ads\n"
        "    streams: [ad_performance]\n"
        f"    endpoint: '{sandbox.endpoint}'\n"
        f"    login_customer_id: '{sandbox.manager_id}'\n"
        f"    accounts: {json.dumps(sandbox.account_ids)}\n"
        "    retry: {max_attempts: 2, initial_delay_seconds: 0.01, max_delay_seconds: 1}\n"
        "    credentials: {developer_token: 'env:MDP_ST_DEVELOPER_TOKEN', access_token: 'env:MDP_ST_ACCESS_TOKEN'}\n"
    )
    return path


def status(config: Path) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(app, ["status", "--config", str(config), "--end", str(END), "--json"])
    return result.exit_code, json.loads(result.output)


def test_status_shows_failed_days_then_everything_fresh(tmp_path: Path, google_sandbox: GoogleAdsSandbox) -> None:
    from flows.daily import daily_pipeline

    revoked = google_sandbox.account_ids[0]
    config = write_config(tmp_path, google_sandbox)
    google_sandbox.faults.add(Fault("revoked", account=revoked))
    first = asyncio.run(
        daily_pipeline(config_path=str(config), start_date=START, end_date=END, run_monitoring=False, return_state=True)
    )
    assert first.is_failed()
    code, report = status(config)
    assert code == 1
    assert report["stale"] is True
    by_account = {a["account"]: a for a in report["accounts"]}  # type: ignore[union-attr]
    days = [str(START + dt.timedelta(days=n)) for n in range(7)]
    assert by_account[revoked]["failed_days"] == days
    assert by_account[revoked]["last_run_status"] == "failed"
    assert "OAUTH_TOKEN_REVOKED" in by_account[revoked]["last_error"]
    for account in google_sandbox.account_ids[1:]:
        assert by_account[account]["stale"] is False
        assert by_account[account]["last_loaded_day"] == str(END)

    google_sandbox.faults.clear()
    # the operator loop: status -> retry the failed units -> status
    plan = CliRunner().invoke(app, ["run", "--config", str(config), "--retry-failed", "--dry-run"])
    assert plan.exit_code == 0, plan.output
    first_id = str(first.state_details.flow_run_id)
    assert f"would rerun 2 failed unit(s) of run {first_id}:" in plan.output
    assert f"google_ads ad_performance account {revoked} {START}..{END}" in plan.output
    assert f"google_ads account_totals account {revoked} {START}..{END}" in plan.output
    rerun = asyncio.run(
        daily_pipeline(config_path=str(config), retry_failed="latest", run_monitoring=False, return_state=True)
    )
    assert rerun.is_completed(), rerun.message
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        retried = con.execute(
            "SELECT account_id, count(*), min(day), max(day) FROM ops.load_log "
            "WHERE run_id = ? AND table_name = 'raw_google_ads.ad_performance' GROUP BY 1",
            [str(rerun.state_details.flow_run_id)],
        ).fetchall()
    assert retried == [(revoked, 7, START, END)], "exactly the failed units, nothing else"
    nothing = CliRunner().invoke(app, ["run", "--config", str(config), "--retry-failed", "--dry-run"])
    assert "nothing to retry" in nothing.output
    unknown = CliRunner().invoke(app, ["run", "--config", str(config), "--resume", "no-such-run", "--dry-run"])
    assert unknown.exit_code == 2
    assert (
        unknown.output
        == "error: --resume: run no-such-run is not in ops.load_log (it loaded nothing: run it again whole)\n"
    )
    code, report = status(config)
    assert code == 0, report
    assert report["marts_behind_from"] is None
    assert report["raw_last_day"] == {"google_ads": str(END)}  # only the configured channels
    assert report["marts_last_day"] == {"google_ads": str(END)}
