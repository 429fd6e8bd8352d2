"""`daily_pipeline` on a temporary Prefect API with a pipeline.yaml aimed at the Google Ads sandbox:
accounts discovered under the manager, every account-day equal to the truth, a revoked account failing
alone, quarantined rows counted in ops.load_log."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from connectors.google_ads.connector import GoogleAdsConnector
from sandbox import GOOGLE, Fault, GoogleAdsSandbox
from sandbox.google_streams import GoogleAccountDetails
from sandbox.truth import daterange

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("prefect_server", "secrets_env"),
    # Prefect's API clients leave loopback sockets to the garbage collector.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 16)


def write_config(tmp_path: Path, sandbox: GoogleAdsSandbox, streams: str | None = None) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "timezone: Europe/Paris\n"
        "warehouse: {type: duckdb, path: wh.duckdb}\n"
        "connectors:\n"
        "  - name: google_ads\n"
        "    type: google_ads\n"
        f"    endpoint: '{sandbox.endpoint}'\n"
        f"    manager_customer_id: '{sandbox.manager_id}'\n"
        "    chunk_days: 4\n"
        "    request_timeout_seconds: 10\n"
        "    retry: {max_attempts: 3, initial_delay_seconds: 0.01, max_delay_seconds: 1}\n"
        "    credentials: {developer_token: 'env:TEST_GOOGLE_ADS_DEVELOPER_TOKEN',\n"
        "                  access_token: 'env:TEST_GOOGLE_ADS_ACCESS_TOKEN'}\n"
        + (f"    streams: {streams}\n" if streams else "")
    )
    return path


def query(config: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(config.parent / "wh.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_daily_pipeline_loads_the_sandbox_accounts(tmp_path: Path, google_sandbox: GoogleAdsSandbox) -> None:
    from flows.daily import daily_pipeline

    revoked, malformed, clean = google_sandbox.account_ids
    google_sandbox.faults.add(Fault("revoked", account=revoked))
    # every call of the account (every stream) answers one row with a negative cost where cost is selected
    google_sandbox.faults.add(Fault("malformed", account=malformed, params={"mode": "negative_cost", "rows": 1}))
    config = write_config(tmp_path, google_sandbox)
    state = asyncio.run(
        daily_pipeline(
            config_path=str(config),
            start_date=START,
            end_date=END,
            run_dbt=False,
            run_monitoring=False,
            return_state=True,
        )
    )
    assert state.is_failed()
    assert f"google_ads ad_performance account {revoked}" in state.message
    assert "OAUTH_TOKEN_REVOKED" in state.message
    # quarantined on every extraction (the second one included): named, never a quiet partial load
    assert re.search(rf"google_ads \w+ account {malformed} \S+: 1 row\(s\) quarantined", state.message)
    assert clean not in state.message

    loaded = dict(
        ((a, d), c)
        for a, d, c in query(
            config,
            "SELECT customer_id, date, sum(cost_micros) FROM raw_google_ads.ad_performance GROUP BY ALL",
        )
    )
    day = START
    while day <= END:
        expected = google_sandbox.truth.day_totals(GOOGLE, clean, day, level="account").cost_micros
        assert loaded[(clean, day)] == expected
        day += dt.timedelta(days=1)
    assert {a for a, _ in loaded} == {malformed, clean}
    # every report stream landed (snapshots are taken only when the window ends on the latest complete day) on
    # every day the truth has rows for it: keywords and search terms only where a SEARCH campaign delivered (the
    # loaded accounts' may be the campaign sandbox.dynamics pauses)
    truth = google_sandbox.truth
    details = [GoogleAccountDetails(truth.data.seed, truth.data.structure(GOOGLE, a)) for a in (malformed, clean)]
    keyword_days = {
        d
        for account in details
        for d in daterange(START, END)
        if any(next(account.keyword_slices(r), None) for r in truth.records(GOOGLE, account.account_id, d))
    }
    assert keyword_days
    for stream in GoogleAdsConnector.streams:
        if stream.kind == "report":
            [(loaded_days,)] = query(config, f"SELECT count(DISTINCT date) FROM {stream.table.name}")
            keywords = stream.name in ("keyword_performance", "search_term_performance")
            assert loaded_days == (len(keyword_days) if keywords else (END - START).days + 1), stream.name

    log = query(
        config,
        "SELECT account_id, min(status), max(status), sum(quarantined) FROM ops.load_log GROUP BY ALL ORDER BY ALL",
    )
    by_account = {a: (lo, hi, q) for a, lo, hi, q in log}
    assert by_account[revoked][:2] == ("failed", "failed")
    assert by_account[clean] == ("success", "success", 0)
    # loaded (the rows that parse), then recorded failed by the reconciliation: status and --retry-failed see it
    assert by_account[malformed][:2] == ("failed", "success")
    assert by_account[malformed][2] >= 1


def test_a_delay_the_server_asks_for_is_honoured_beyond_max_delay_seconds(
    tmp_path: Path, google_sandbox: GoogleAdsSandbox
) -> None:
    """RESOURCE_EXHAUSTED asking 3 s (over the connector's max_delay_seconds of 1 s): the unit waits at
    least 3 s and loads; the other accounts load meanwhile; a delay over max_retry_wait_minutes fails."""
    from flows.daily import daily_pipeline

    waited, too_long, clean = google_sandbox.account_ids
    google_sandbox.faults.add(Fault("quota_retry", account=waited, times=1, params={"retry_delay_seconds": 3}))
    google_sandbox.faults.add(Fault("quota_retry", account=too_long, params={"retry_delay_seconds": 121}))
    # one stream (and its platform totals), a task per unit: the clean account's units must all finish within
    # the 3 s the other account waits
    config = write_config(tmp_path, google_sandbox, streams="[ad_performance]")
    config.write_text(config.read_text() + "    max_retry_wait_minutes: 1\n    max_concurrency: 12\n")
    state = asyncio.run(
        daily_pipeline(
            config_path=str(config),
            start_date=START,
            end_date=END,
            run_dbt=False,
            run_monitoring=False,
            return_state=True,
        )
    )
    assert state.is_failed()
    assert f"google_ads ad_performance account {too_long}" in state.message
    assert "asks to wait 121s, over max_retry_wait_minutes (1 min)" in state.message
    assert waited not in state.message
    assert clean not in state.message

    calls = google_sandbox.calls.times(waited)
    # The account's first call failed; its unit's retry (the last call) came no sooner than the 3 s asked.
    assert calls[-1] - calls[0] >= 3.0, calls
    assert google_sandbox.calls.times(clean)[-1] < calls[0] + 3.0  # the clean account did not wait
    loaded = query(config, "SELECT customer_id, count(DISTINCT date) FROM raw_google_ads.ad_performance GROUP BY ALL")
    assert dict(loaded) == {waited: 7, clean: 7}
