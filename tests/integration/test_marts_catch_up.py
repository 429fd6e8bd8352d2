"""The marts catch up with raw: a backfill whose dbt step is killed, then a plain daily `mdp run`, leaves
every raw day in the marts (ops.marts_builds remembers which loads the last good build covered); that next
run also stops the killed run's temporary Prefect server and marks its flow runs Crashed."""

from __future__ import annotations

import datetime as dt
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from connectors.registry import connector_class
from deployments.local import stop_process_group
from sandbox.config import SandboxConfig
from sandbox.runner import SANDBOX_SECRETS, SandboxHandle, start_sandbox

pytestmark = [pytest.mark.slow]

TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    # Paris is at most a day ahead of UTC: the sandbox answers up to tomorrow.
    config = SandboxConfig(
        seed=5,
        google_accounts=1,
        meta_accounts=1,
        microsoft_accounts=1,
        tiktok_accounts=1,
        linkedin_accounts=1,
        as_of=TODAY + dt.timedelta(days=1),
    )
    with start_sandbox(config) as handle:
        yield handle


def write_config(tmp_path: Path, sandbox: SandboxHandle) -> Path:
    fragment = sandbox.pipeline_fragment()
    for section in fragment["connectors"]:
        section["lookback_days"] = 2
        # the primary stream is enough to catch up the marts (every stream runs in tests/integration/test_reports.py)
        section["streams"] = [connector_class(section["type"]).table.table_name]
        if section["type"] == "meta_ads":
            section["poll_initial_seconds"] = 0.2
    data: dict[str, Any] = {
        "timezone": "Europe/Paris",
        "reporting_currency": "EUR",
        "warehouse": {"type": "duckdb", "path": str(tmp_path / "wh.duckdb")},
        **fragment,
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def mdp(tmp_path: Path, *args: str, api_url: str | None = None) -> subprocess.Popen[str]:
    """`mdp ARGS` in a child process: on a temporary Prefect server in `tmp_path`, or on `api_url`'s."""
    env = {**os.environ, **SANDBOX_SECRETS, "PREFECT_HOME": str(tmp_path / "prefect"), "COLUMNS": "200"}
    if api_url is not None:
        env["PREFECT_API_URL"] = api_url
    env["PREFECT_LOGGING_LEVEL"] = "INFO"  # an in-process CLI test may have left WARNING in this environment
    return subprocess.Popen(
        [sys.executable, "-m", "mdp.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )


def kill_when(process: subprocess.Popen[str], marker: str, timeout: float = 600) -> list[str]:
    """Read the output until `marker` appears, then SIGKILL the process (not its group)."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if not ready:
            if process.poll() is not None:
                break
            continue
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            os.kill(process.pid, signal.SIGKILL)  # as `kill -9 PID` would: its children stay behind
            process.wait(30)
            return lines
    stop_process_group(process)  # type: ignore[arg-type]
    raise AssertionError(f"{marker!r} never appeared:\n{''.join(lines[-40:])}")


def spend_by_day(path: Path, sql: str) -> dict[tuple[str, dt.date], float]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {(c, d): round(float(s), 4) for c, d, s in con.execute(sql).fetchall()}


RAW = (
    "SELECT 'google_ads', date, sum(cost_micros) / 1e6 FROM raw_google_ads.ad_performance GROUP BY ALL "
    "UNION ALL SELECT 'meta_ads', date, sum(spend) FROM raw_meta_ads.ad_insights GROUP BY ALL "
    "UNION ALL SELECT 'microsoft_ads', date, sum(spend) FROM raw_microsoft_ads.ad_performance GROUP BY ALL "
    "UNION ALL SELECT 'tiktok_ads', date, sum(spend) FROM raw_tiktok_ads.ad_performance GROUP BY ALL "
    "UNION ALL SELECT 'linkedin_ads', date, sum(cost_in_local_currency) FROM raw_linkedin_ads.ad_performance "
    "GROUP BY ALL"
)
MARTS = "SELECT channel, date_day, sum(spend) FROM marts.fct_ad_performance_daily GROUP BY ALL"


@pytest.mark.usefixtures("prefect_server")
def test_a_killed_dbt_step_is_caught_up_by_the_next_plain_run(tmp_path: Path, sandbox: SandboxHandle) -> None:
    config = write_config(tmp_path, sandbox)
    from prefect.settings import PREFECT_API_URL

    # the first run only builds the marts: on the session's server (the killed run and the next need their own)
    first = mdp(tmp_path, "run", "--config", str(config), "--no-monitoring", api_url=str(PREFECT_API_URL.value()))
    out, _ = first.communicate(timeout=900)
    assert first.returncode == 0, out[-3000:]  # the marts exist and are up to date

    start, end = TODAY - dt.timedelta(days=40), TODAY - dt.timedelta(days=35)
    backfill = mdp(tmp_path, "run", "--config", str(config), "--start", str(start), "--end", str(end), "--verbose")
    output = kill_when(backfill, "dbt build --target")
    assert backfill.returncode == -signal.SIGKILL, "".join(output[-20:])

    raw = spend_by_day(tmp_path / "wh.duckdb", RAW)
    assert {start + dt.timedelta(days=n) for n in range(6)} < {day for _, day in raw}
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        in_marts = con.execute(
            "SELECT count(*) FROM marts.fct_ad_performance_daily WHERE date_day BETWEEN ? AND ?", [start, end]
        ).fetchone()
    assert in_marts == (0,)  # the kill came before the marts had the backfill

    daily = mdp(tmp_path, "run", "--config", str(config))
    out, _ = daily.communicate(timeout=900)
    assert daily.returncode == 0, out[-3000:]
    # The killed run's temporary Prefect server is stopped, its flow runs no longer show Running.
    assert "stopped 1 temporary Prefect server(s) a killed run left behind" in out
    assert "marked Crashed" in out
    raw = spend_by_day(tmp_path / "wh.duckdb", RAW)
    marts = spend_by_day(tmp_path / "wh.duckdb", MARTS)
    assert len(raw) == 5 * (6 + 2)  # five channels: the backfill and the two days of the daily run
    assert marts == raw
