"""Reconciliation with the platforms' own totals, through the daily flow with dbt on the three sandboxes: every
loaded account-day matches; rows missing server-side (the `rows_missing` fault: the ad rows of a campaign left
out while the account's totals count them) heal when extracting again helps, and otherwise fail the run naming
channel, account, day, metric and both values, land in ops.load_log as failed (so `mdp status` exits 1 and
`--retry-failed` takes them), and reach Slack."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sandbox import Fault, GoogleAdsSandbox, LinkedInAdsSandbox, MetaSandbox, MicrosoftAdsSandbox, TikTokAdsSandbox
from tests.integration.conftest import SlackReceiver
from tests.integration.test_fault_matrix import SECRETS, write_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("prefect_server"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 12)


@pytest.fixture
def servers(
    google_sandbox: GoogleAdsSandbox,
    meta_sandbox: MetaSandbox,
    microsoft_sandbox: MicrosoftAdsSandbox,
    tiktok_sandbox: TikTokAdsSandbox,
    linkedin_sandbox: LinkedInAdsSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return {
        "google_ads": google_sandbox,
        "meta_ads": meta_sandbox,
        "microsoft_ads": microsoft_sandbox,
        "tiktok_ads": tiktok_sandbox,
        "linkedin_ads": linkedin_sandbox,
    }


def config_for(tmp_path: Path, servers: dict[str, Any], **changes: Any) -> Path:
    import yaml

    path = write_config(
        tmp_path,
        servers["google_ads"],
        servers["meta_ads"],
        servers["microsoft_ads"],
        servers.get("tiktok_ads"),
        servers.get("linkedin_ads"),
    )
    data = yaml.safe_load(path.read_text())
    for section in data["connectors"]:
        section.update(changes.get(section["name"], {}))
    if "alerts" in changes:
        data["alerts"] = changes["alerts"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run(config: Path, **params: Any) -> Any:
    from flows.daily import daily_pipeline

    params.setdefault("start_date", START)
    params.setdefault("end_date", END)
    params.setdefault("run_monitoring", False)
    return asyncio.run(daily_pipeline(config_path=str(config), return_state=True, **params))


def query(config: Path, sql: str, parameters: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(config.parent / "wh.duckdb"), read_only=True) as con:
        return con.execute(sql, parameters or []).fetchall()


def test_what_extracting_again_fixes_heals_and_the_rest_fails_the_run_naming_it(
    tmp_path: Path, servers: dict[str, Any], slack_receiver: SlackReceiver
) -> None:
    """One run, two faults: a Google account misses rows on its first two calls only (healed by the second
    extraction), a Microsoft and a TikTok account miss them for good (the run fails naming both); then
    --retry-failed. LinkedIn's creative rows match its own account totals (adAnalytics pivot=ACCOUNT) on every
    account-day."""
    from prefect_slack import SlackWebhook

    from flows.retry import failed_units
    from flows.status import read_status
    from mdp.config import load_config
    from warehouse import from_config

    SlackWebhook(url=slack_receiver.url).save("mdp-reconcile-alerts", overwrite=True)
    google, microsoft = servers["google_ads"], servers["microsoft_ads"]
    healed, broken = google.account_ids[0], microsoft.account_ids[1]
    tiktok = servers["tiktok_ads"]
    broken_tiktok = tiktok.account_ids[1]
    config = config_for(
        tmp_path,
        servers,
        # one unit at a time: the account's first two calls are its ad_performance unit (ads, then campaigns)
        google_ads={"accounts": [healed], "max_concurrency": 1},
        alerts={"slack_webhook_block": "mdp-reconcile-alerts"},
    )
    google.faults.add(Fault("rows_missing", channel="google_ads", account=healed, times=2))
    microsoft.faults.add(Fault("rows_missing", channel="microsoft_ads", account=broken))
    tiktok.faults.add(Fault("rows_missing", channel="tiktok_ads", account=broken_tiktok))
    linkedin = servers["linkedin_ads"]
    state = run(config, connectors=["google_ads", "microsoft_ads", "tiktok_ads", "linkedin_ads"])
    assert state.is_failed()
    message = str(state.message)

    # the persisting difference, named with both values
    truth = microsoft.truth.day_totals("microsoft_ads", broken, START, level="account").cost
    pattern = (
        rf"microsoft_ads account {broken} {START} spend: platform {truth.normalize():f}\S* \w{{3}}, landed [0-9.]+"
    )
    assert re.search(pattern, message), message
    truth = tiktok.truth.day_totals("tiktok_ads", broken_tiktok, START, level="account").cost
    pattern = (
        rf"tiktok_ads account {broken_tiktok} {START} spend: platform {truth.normalize():f}\S* \w{{3}}, landed [0-9.]+"
    )
    assert re.search(pattern, message), message
    assert "step reconciliation: failed" in message
    for other in [healed, *microsoft.account_ids, *tiktok.account_ids, *linkedin.account_ids]:
        if other not in (broken, broken_tiktok):
            assert f"account {other}" not in message

    # the healed account: extracted once more, then equal to the platform's totals (the sandbox's truth)
    verdicts = dict(
        query(
            config,
            "SELECT account_id, list_distinct(list(verdict)) FROM marts.reconciliation_daily GROUP BY 1",
        )
    )
    assert verdicts[healed] == ["ok"]
    assert verdicts[broken] == ["mismatch"] or sorted(verdicts[broken]) == ["mismatch", "ok"]
    assert "mismatch" in verdicts[broken_tiktok]
    assert set(tiktok.account_ids) <= set(verdicts)
    assert all(v == ["ok"] for a, v in verdicts.items() if a not in (healed, broken, broken_tiktok))
    assert set(linkedin.account_ids) <= set(verdicts)
    for account, spend in query(
        config,
        "SELECT account_id, sum(spend) FROM marts.fct_ad_performance_daily WHERE channel = 'linkedin_ads' GROUP BY 1",
    ):
        assert spend == linkedin.truth.totals("linkedin_ads", account, START, END, level="account").cost
    spend = query(
        config,
        "SELECT sum(landed_value), sum(platform_value) FROM marts.reconciliation_daily "
        "WHERE metric = 'spend' AND account_id = ?",
        [healed],
    )
    cost = [
        google.truth.day_totals("google_ads", healed, START + dt.timedelta(days=n), level="account").cost
        for n in range(3)
    ]
    assert spend == [(sum(cost), sum(cost))]
    assert isinstance(spend[0][0], Decimal)

    # ops.load_log: the broken account-days are failed loads, for status and --retry-failed
    loaded = load_config(str(config))
    status = read_status(loaded, START, END)
    mine = [a for a in status.accounts if a.account == broken]
    assert mine
    assert mine[0].failed_days == [START, START + dt.timedelta(days=1), END]
    assert mine[0].last_error is not None
    assert mine[0].last_error.startswith("reconciliation: ")
    assert status.stale
    _, units = failed_units(from_config(loaded, read_only=True), loaded)
    assert {(u.stream, u.account, u.start, u.end) for u in units} == {
        ("ad_performance", broken, START, END),
        ("account_totals", broken, START, END),
        ("ad_performance", broken_tiktok, START, END),
        ("account_totals", broken_tiktok, START, END),
    }
    # Slack got the failure with the difference
    assert len(slack_receiver.messages) == 1
    assert f"microsoft_ads account {broken} {START} spend" in slack_receiver.messages[0]["text"]
    assert f"tiktok_ads account {broken_tiktok} {START} spend" in slack_receiver.messages[0]["text"]

    # once the platform serves every row again, --retry-failed heals exactly those days
    microsoft.faults.clear()
    tiktok.faults.clear()
    retried = run(
        config, connectors=["microsoft_ads", "tiktok_ads"], retry_failed="latest", start_date=None, end_date=None
    )
    assert retried.is_completed(), retried.message
    after = [a for a in read_status(loaded, START, END).accounts if a.connector in ("microsoft_ads", "tiktok_ads")]
    assert after
    assert not any(a.stale for a in after), after
