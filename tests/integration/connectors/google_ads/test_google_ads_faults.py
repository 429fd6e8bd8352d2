"""Sandbox faults through the real client: what is retried, what fails an account at once, what is
quarantined, and what is ignored."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from connectors.google_ads.connector import GoogleAdsConnector
from connectors.google_ads.exceptions import GoogleAdsAPIError, GoogleAdsRetryableError
from mdp.errors import ConnectorError, RetryableAPIError
from sandbox import GOOGLE, Fault, GoogleAdsSandbox
from tests.integration.connectors.google_ads.conftest import ConnectorFactory
from warehouse.base import LoadContext, Scope
from warehouse.duckdb import DuckDBWarehouse

START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 16)


def rows_and_quarantine(connector: GoogleAdsConnector, account: str) -> tuple[pa.Table, list[Any]]:
    batches = list(connector.extract("ad_performance", account, START, END))
    return pa.concat_tables([b.rows for b in batches]), [q for b in batches for q in b.quarantine]


def recording_sleep(connector: GoogleAdsConnector) -> list[float]:
    waits: list[float] = []
    connector._sleep = waits.append
    return waits


def test_a_temporary_quota_error_is_retried_after_the_delay_the_api_asks(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    connector = make_connector()
    waits = recording_sleep(connector)
    account = google_sandbox.account_ids[0]
    google_sandbox.faults.add(Fault("quota_retry", account=account, times=2, params={"retry_delay_seconds": 1}))
    rows, _ = rows_and_quarantine(connector, account)
    assert rows.num_rows > 0
    assert len(waits) == 2
    assert all(w >= 1 for w in waits)
    assert google_sandbox.calls.total(account=account) == 4  # 2 refused + ad stream + campaign stream
    clean = make_connector()
    assert rows.equals(rows_and_quarantine(clean, account)[0])


def test_a_retry_delay_beyond_the_cap_goes_back_to_the_orchestrator(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    connector = make_connector()
    waits = recording_sleep(connector)
    account = google_sandbox.account_ids[0]
    google_sandbox.faults.add(Fault("quota_retry", account=account, params={"retry_delay_seconds": 30}))
    with pytest.raises(GoogleAdsRetryableError) as caught:
        rows_and_quarantine(connector, account)
    assert caught.value.retry_after == 30
    assert waits == []
    assert "RESOURCE_TEMPORARILY_EXHAUSTED" in str(caught.value)


def test_exhausted_daily_quota_fails_the_account_at_once_and_others_continue(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    connector = make_connector()
    first, second = google_sandbox.account_ids[:2]
    google_sandbox.faults.add(Fault("quota_daily", account=first))
    with pytest.raises(GoogleAdsAPIError) as caught:
        rows_and_quarantine(connector, first)
    assert not isinstance(caught.value, RetryableAPIError)
    message = str(caught.value)
    assert f"google_ads ad_performance account {first}" in message
    assert "RESOURCE_EXHAUSTED quota_error.RESOURCE_EXHAUSTED (request id " in message
    assert "daily quota exhausted" in message
    assert google_sandbox.calls.total(account=first) == 1
    assert rows_and_quarantine(connector, second)[0].num_rows > 0


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("revoked", "UNAUTHENTICATED authentication_error.OAUTH_TOKEN_REVOKED"),
        ("permission_denied", "PERMISSION_DENIED authorization_error.USER_PERMISSION_DENIED"),
    ],
)
def test_access_errors_are_fatal_for_that_account_only(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox, kind: str, code: str
) -> None:
    connector = make_connector()
    first, second = google_sandbox.account_ids[:2]
    google_sandbox.faults.add(Fault(kind, account=first))
    with pytest.raises(ConnectorError) as caught:
        rows_and_quarantine(connector, first)
    assert not isinstance(caught.value, RetryableAPIError)
    assert first in str(caught.value)
    assert code in str(caught.value)
    assert "request id" in str(caught.value)
    assert google_sandbox.calls.total(account=first) == 1
    assert rows_and_quarantine(connector, second)[0].num_rows > 0


def test_a_cancelled_account_is_a_clear_fatal_error(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    cancelled = google_sandbox.truth.data.google_cancelled.account_id
    connector = make_connector(accounts=[cancelled])
    with pytest.raises(GoogleAdsAPIError, match=f"{cancelled}.*CUSTOMER_NOT_ENABLED"):
        rows_and_quarantine(connector, cancelled)


@pytest.mark.parametrize("kind", ["internal", "unavailable"])
def test_server_errors_are_retried_with_backoff(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox, kind: str
) -> None:
    connector = make_connector()
    waits = recording_sleep(connector)
    account = google_sandbox.account_ids[2]
    google_sandbox.faults.add(Fault(kind, account=account, times=2))
    assert rows_and_quarantine(connector, account)[0].num_rows > 0
    assert len(waits) == 2
    assert 0 < waits[0] <= 0.01
    assert waits[1] <= 0.02
    assert google_sandbox.calls.total(account=account) == 4


def test_a_persistent_server_error_ends_as_retryable_after_max_attempts(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    connector = make_connector()
    waits = recording_sleep(connector)
    account = google_sandbox.account_ids[2]
    google_sandbox.faults.add(Fault("internal", account=account))
    with pytest.raises(GoogleAdsRetryableError, match="still failing after 4 attempt"):
        rows_and_quarantine(connector, account)
    assert len(waits) == 3
    assert google_sandbox.calls.total(account=account) == 4


def test_timeouts_are_retried(make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox) -> None:
    connector = make_connector(request_timeout_seconds=0.2)
    account = google_sandbox.account_ids[0]
    google_sandbox.faults.add(Fault("slow", account=account, times=1, params={"delay_seconds": 1}))
    assert rows_and_quarantine(connector, account)[0].num_rows > 0
    assert google_sandbox.calls.total(account=account) == 3

    google_sandbox.faults.clear()
    google_sandbox.faults.add(Fault("slow", account=account, params={"delay_seconds": 1}))
    stubborn = make_connector(request_timeout_seconds=0.2, retry={"max_attempts": 2, "initial_delay_seconds": 0})
    with pytest.raises(GoogleAdsRetryableError, match="DEADLINE_EXCEEDED"):
        rows_and_quarantine(stubborn, account)


@pytest.mark.parametrize(
    ("mode", "reasons"),
    [
        ("negative_cost", {"negative_cost", "residual_unreliable"}),
        ("missing_id", {"missing_id:ad_id", "missing_id:campaign_id"}),
    ],
)
def test_malformed_rows_are_quarantined_and_counted_never_loaded(
    make_connector: ConnectorFactory,
    google_sandbox: GoogleAdsSandbox,
    tmp_path: Path,
    mode: str,
    reasons: set[str],
) -> None:
    connector = make_connector()
    account = google_sandbox.account_ids[0]
    google_sandbox.faults.add(Fault("malformed", account=account, params={"mode": mode, "rows": 2}))
    rows, quarantine = rows_and_quarantine(connector, account)
    assert {q.reason for q in quarantine} <= reasons
    assert {q.reason for q in quarantine} & reasons - {"residual_unreliable"}
    assert all(q.account_id == account and START <= q.day <= END and q.record for q in quarantine)
    assert pc.min(rows["cost_micros"]).as_py() >= 0
    assert rows.filter(pc.is_null(rows["campaign_id"])).num_rows == 0
    assert rows.filter(pc.and_(pc.equal(rows["row_level"], "ad"), pc.is_null(rows["ad_id"]))).num_rows == 0

    warehouse = DuckDBWarehouse(tmp_path / "wh.duckdb")
    result = warehouse.replace_partitions(
        connector.table, rows, Scope.of([account], START, END), LoadContext("google_ads", "r1"), quarantine
    )
    assert result.quarantined == len(quarantine) > 0
    logged = warehouse.query("SELECT sum(quarantined), sum(rows) FROM ops.load_log")[0]
    assert logged == (len(quarantine), rows.num_rows)
    stored = warehouse.query("SELECT count(*) FROM raw_google_ads.ad_performance__quarantine")[0][0]
    assert stored == len(quarantine)


def test_missing_ad_ids_keep_the_daily_cost_honest(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    """An ad row quarantined for its id still counts as ad-level spend: the campaign-level residual does
    not absorb it, so loaded cost + quarantined cost = the account total."""
    connector = make_connector()
    account = google_sandbox.account_ids[1]
    google_sandbox.faults.add(
        Fault("malformed", account=account, first_call=1, times=1, params={"mode": "missing_id", "rows": 1})
    )
    rows, quarantine = rows_and_quarantine(connector, account)
    assert [q.reason for q in quarantine] == ["missing_id:ad_id"]
    import json

    bad = json.loads(quarantine[0].record)
    day = dt.date.fromisoformat(bad["date"])
    loaded = pc.sum(rows.filter(pc.equal(rows["date"], day))["cost_micros"]).as_py()
    total = google_sandbox.truth.day_totals(GOOGLE, account, day, level="account").cost_micros
    assert loaded + bad["cost_micros"] == total


def test_unrequested_fields_do_not_break_extraction(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    connector = make_connector()
    account = google_sandbox.account_ids[0]
    clean, _ = rows_and_quarantine(connector, account)
    google_sandbox.faults.add(Fault("schema_drift", account=account))
    drifted, quarantine = rows_and_quarantine(connector, account)
    assert quarantine == []
    assert drifted.equals(clean)


@pytest.mark.parametrize("fault", [{"kind": "spend_spike", "factor": 10}, {"kind": "row_drop", "keep_fraction": 0.2}])
def test_data_anomalies_are_loaded_as_served(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox, fault: dict[str, Any]
) -> None:
    account = google_sandbox.account_ids[2]
    day = dt.date(2025, 3, 12)
    google_sandbox.faults.add({**fault, "account": account, "day": day.isoformat()})
    rows, _ = rows_and_quarantine(make_connector(), account)
    loaded = pc.sum(rows.filter(pc.equal(rows["date"], day))["cost_micros"]).as_py()
    assert loaded == google_sandbox.truth.day_totals(GOOGLE, account, day, level="account").cost_micros
