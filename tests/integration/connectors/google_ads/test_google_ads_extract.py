"""The Google Ads connector on the sandbox with the official client: accounts, rows, totals, restatement."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from connectors.base import Extracted
from connectors.google_ads.connector import GoogleAdsConnector
from connectors.google_ads.exceptions import GoogleAdsAPIError
from connectors.google_ads.schema import AD_PERFORMANCE
from mdp.errors import RetryableAPIError
from sandbox import GOOGLE, GoogleAdsSandbox
from tests.integration.connectors.google_ads.conftest import ConnectorFactory
from warehouse.base import LoadContext, Scope
from warehouse.duckdb import DuckDBWarehouse

START, END = dt.date(2025, 3, 1), dt.date(2025, 3, 20)


def extract(connector: GoogleAdsConnector, account: str, start: dt.date, end: dt.date) -> Extracted:
    batches = list(connector.extract("ad_performance", account, start, end))
    rows = pa.concat_tables([b.rows for b in batches])
    return Extracted(rows, [q for b in batches for q in b.quarantine])


def days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def test_configured_accounts_are_listed_without_dashes(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    first, second = google_sandbox.account_ids[:2]
    connector = make_connector(accounts=[f"{first[:3]}-{first[3:6]}-{first[6:]}", second])
    assert [a.id for a in connector.list_accounts()] == [first, second]
    assert google_sandbox.calls.total() == 0


def test_discovery_lists_enabled_children_of_the_manager_only(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    manager = google_sandbox.manager_id
    connector = make_connector(accounts=[], login_customer_id=None, manager_customer_id=manager)
    accounts = connector.list_accounts()
    assert sorted(a.id for a in accounts) == sorted(google_sandbox.account_ids)
    cancelled = google_sandbox.truth.data.google_cancelled.account_id
    assert cancelled not in {a.id for a in accounts}
    assert all(a.currency and a.time_zone and a.name for a in accounts)
    # one listing call on the manager, no metrics query
    assert google_sandbox.calls.snapshot() == {(manager, "SearchStream"): 1}
    # the manager is sent as login-customer-id when only manager_customer_id is configured
    assert extract(connector, accounts[0].id, END, END).rows.num_rows > 0


def test_without_login_customer_id_a_client_account_is_refused(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    connector = make_connector(login_customer_id=None)
    account = google_sandbox.account_ids[0]
    with pytest.raises(GoogleAdsAPIError) as caught:
        extract(connector, account, END, END)
    assert not isinstance(caught.value, RetryableAPIError)
    message = str(caught.value)
    assert account in message
    assert "PERMISSION_DENIED authorization_error.USER_PERMISSION_DENIED (request id " in message


def test_rows_match_the_declared_schema_and_stay_in_scope(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    connector = make_connector()
    account = google_sandbox.account_ids[1]
    result = extract(connector, account, START, END)
    rows = result.rows
    assert rows.schema == AD_PERFORMANCE.schema
    assert result.quarantine == []
    assert set(rows["customer_id"].to_pylist()) == {account}
    assert {d for d in rows["date"].to_pylist()} == set(days(START, END))
    assert set(rows["row_level"].to_pylist()) == {"ad", "campaign"}
    for row in rows.to_pylist():
        if row["row_level"] == "campaign":
            assert row["ad_group_id"] is None
            assert row["ad_id"] is None
            assert row["cost_micros"] > 0 or row["impressions"] > 0
        else:
            assert row["ad_group_id"]
            assert row["ad_id"]
            assert row["ad_group_name"]
        assert row["currency_code"]
        assert row["account_timezone"]
        assert row["campaign_channel_type"]
    keys = [(r["date"], r["campaign_id"], r["ad_group_id"], r["ad_id"]) for r in rows.to_pylist()]
    assert len(keys) == len(set(keys))
    # one ad-level and one campaign-level stream for the whole chunk, never one call per day
    assert google_sandbox.calls.snapshot() == {(account, "SearchStream"): 2}


def test_cost_of_every_account_and_day_equals_the_account_total(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    connector = make_connector()
    truth = google_sandbox.truth
    for account in google_sandbox.account_ids:
        rows = extract(connector, account, START, END).rows.to_pylist()
        pmax = [r for r in rows if r["campaign_channel_type"] == "PERFORMANCE_MAX"]
        assert pmax
        assert all(r["row_level"] == "campaign" for r in pmax)
        per_day: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            per_day[row["date"]].append(row)
        for day in days(START, END):
            expected = truth.day_totals(GOOGLE, account, day, level="account")
            got = per_day[day]
            assert sum(r["cost_micros"] for r in got) == expected.cost_micros
            assert sum(r["impressions"] for r in got) == expected.impressions
            assert sum(r["clicks"] for r in got) == expected.clicks
            conversions = sum(Decimal(str(r["conversions"])) for r in got)
            assert conversions == expected.conversions
            value = sum(Decimal(str(r["conversions_value"])) for r in got)
            assert abs(value - expected.conversion_value) < Decimal("0.000001")
            ads = [r for r in got if r["row_level"] == "ad"]
            assert len(ads) == truth.day_totals(GOOGLE, account, day, level="ad").rows


def test_days_without_data_give_no_rows_and_no_error(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    connector = make_connector()
    result = extract(connector, google_sandbox.account_ids[0], END + dt.timedelta(days=1), END + dt.timedelta(5))
    assert result.rows.num_rows == 0
    assert result.rows.schema == AD_PERFORMANCE.schema


def test_restated_conversions_replace_the_old_values(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox, tmp_path: Path
) -> None:
    connector = make_connector()
    # not the first account: its mid-month campaign starts relative to "as of" (sandbox.dynamics), so moving the
    # clock past the 15th takes its earlier days away
    account = google_sandbox.account_ids[2]
    warehouse = DuckDBWarehouse(tmp_path / "wh.duckdb")
    window = (dt.date(2025, 3, 5), dt.date(2025, 3, 10))

    def load(start: dt.date, end: dt.date, run_id: str) -> None:
        result = extract(connector, account, start, end)
        warehouse.replace_partitions(
            connector.table,
            result.rows,
            Scope.of([account], start, end),
            LoadContext("google_ads", run_id),
            result.quarantine,
        )

    def conversions(day: dt.date) -> Decimal:
        value = warehouse.query(
            "SELECT sum(conversions) FROM raw_google_ads.ad_performance WHERE customer_id = ? AND date = ?",
            [account, day],
        )[0][0]
        return Decimal(str(round(value, 6)))

    google_sandbox.truth.as_of = window[1]
    load(dt.date(2025, 3, 1), window[1], "first")
    before = conversions(window[0])
    rows_before = warehouse.row_counts(connector.table)
    assert before == google_sandbox.truth.day_totals(GOOGLE, account, window[0], level="account").conversions

    google_sandbox.truth.as_of = END
    load(*window, "second")  # the lookback window only
    after = conversions(window[0])
    assert after == google_sandbox.truth.day_totals(GOOGLE, account, window[0], level="account").conversions
    assert after > before
    assert warehouse.row_counts(connector.table) == rows_before  # replaced, not appended
    runs = warehouse.query("SELECT date, min(_run_id) FROM raw_google_ads.ad_performance GROUP BY date ORDER BY date")
    assert {d: r for d, r in runs} == {
        d: ("second" if d >= window[0] else "first") for d in days(dt.date(2025, 3, 1), window[1])
    }


def test_one_connector_serves_parallel_units(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    connector = make_connector()
    units = [
        (a, s, e)
        for a in google_sandbox.account_ids
        for s, e in ((START, dt.date(2025, 3, 10)), (dt.date(2025, 3, 11), END))
    ]
    sequential = [extract(connector, *u).rows for u in units]
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = list(pool.map(lambda u: extract(connector, *u).rows, units))
    assert [t.equals(p) for t, p in zip(sequential, parallel, strict=True)] == [True] * len(units)
