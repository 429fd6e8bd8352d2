"""Google Ads custom queries and passthrough metrics through the official client on the sandbox: spend by ad
network adds up exactly to the ad performance spend, a resource without segments.date lands as a snapshot,
a passthrough metric fills its pt_ column, and bad rows are quarantined with a reason."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from pydantic import ValidationError

from connectors.base import Extracted
from connectors.google_ads.connector import GoogleAdsConnector
from connectors.kit.schema import MONEY
from mdp.paths import PROJECT_ROOT
from sandbox import GoogleAdsSandbox
from sandbox.faults import Fault
from tests.integration.connectors.google_ads.conftest import ConnectorFactory
from warehouse.base import LoadContext, Scope
from warehouse.duckdb import DuckDBWarehouse

START, END = dt.date(2025, 3, 12), dt.date(2025, 3, 18)
BY_NETWORK = "SELECT segments.ad_network_type, metrics.cost_micros, metrics.clicks FROM campaign"
BUDGETS = "SELECT campaign_budget.amount_micros, campaign_budget.period FROM campaign_budget"


def extract(connector: GoogleAdsConnector, stream: str, account: str, start: dt.date, end: dt.date) -> Extracted:
    batches = list(connector.extract(stream, account, start, end))
    return Extracted(pa.concat_tables([b.rows for b in batches]), [q for b in batches for q in b.quarantine])


@pytest.fixture
def connector(make_connector: ConnectorFactory) -> GoogleAdsConnector:
    return make_connector(
        custom_queries=[{"name": "by_network", "query": BY_NETWORK}, {"name": "budgets", "query": BUDGETS}],
        passthrough_fields=["metrics.video_trueview_views", "metrics.all_conversions_value"],
    )


def test_by_network_adds_up_to_ad_performance_spend(
    connector: GoogleAdsConnector, google_sandbox: GoogleAdsSandbox
) -> None:
    stream = connector.stream("custom_by_network")
    assert stream.table.name == "raw_google_ads.custom_by_network"
    assert stream.kind == "report"
    assert stream.table.schema.field("metrics_cost").type == MONEY
    for account in google_sandbox.account_ids[:3]:
        custom = extract(connector, "custom_by_network", account, START, END)
        assert custom.quarantine == []
        assert custom.rows.schema.equals(stream.table.schema)
        rows = custom.rows.to_pylist()
        assert rows, account
        assert {r["segments_ad_network_type"] for r in rows} <= {
            "SEARCH",
            "SEARCH_PARTNERS",
            "CONTENT",
            "YOUTUBE",
            "MIXED",
        }
        assert {r["account_id"] for r in rows} == {account}
        assert all(r["campaign_id"] for r in rows)
        assert all(r["account_currency"] for r in rows)
        keys = [(r["date"], r["campaign_id"], r["segments_ad_network_type"]) for r in rows]
        assert len(keys) == len(set(keys))
        by_day: dict[dt.date, Decimal] = defaultdict(Decimal)
        clicks: dict[dt.date, int] = defaultdict(int)
        for row in rows:
            by_day[row["date"]] += row["metrics_cost"]
            clicks[row["date"]] += row["metrics_clicks"]
        ads = extract(connector, "ad_performance", account, START, END)
        spend: dict[dt.date, Decimal] = defaultdict(Decimal)
        ad_clicks: dict[dt.date, int] = defaultdict(int)
        for row in ads.rows.to_pylist():
            spend[row["date"]] += Decimal(row["cost_micros"]) / 1_000_000
            ad_clicks[row["date"]] += row["clicks"]
        assert dict(by_day) == {d: v for d, v in spend.items() if v}
        assert dict(clicks) == {d: v for d, v in ad_clicks.items() if d in clicks}


def test_several_networks_split_a_search_campaign(
    connector: GoogleAdsConnector, google_sandbox: GoogleAdsSandbox
) -> None:
    rows = extract(connector, "custom_by_network", google_sandbox.account_ids[0], START, END).rows.to_pylist()
    networks: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for row in rows:
        networks[row["date"], row["campaign_id"]].add(row["segments_ad_network_type"])
    assert any(len(found) > 1 for found in networks.values())


def test_resource_without_date_is_a_snapshot(connector: GoogleAdsConnector, google_sandbox: GoogleAdsSandbox) -> None:
    stream = connector.stream("custom_budgets")
    assert stream.kind == "snapshot"
    account = google_sandbox.account_ids[0]
    result = extract(connector, "custom_budgets", account, END, END)
    assert result.quarantine == []
    rows = result.rows.to_pylist()
    assert rows
    assert {r["date"] for r in rows} == {END}
    assert all(r["campaign_budget_id"] for r in rows)
    assert all(isinstance(r["campaign_budget_amount"], Decimal) and r["campaign_budget_amount"] > 0 for r in rows)
    assert {r["campaign_budget_period"] for r in rows} == {"DAILY"}
    snapshot = extract(connector, "campaign_snapshot", account, END, END).rows.to_pylist()
    expected = {r["budget_id"]: Decimal(r["budget_amount_micros"]) / 1_000_000 for r in snapshot}
    assert {r["campaign_budget_id"]: r["campaign_budget_amount"] for r in rows} == expected


def test_passthrough_metrics_land_on_ad_performance(
    connector: GoogleAdsConnector, google_sandbox: GoogleAdsSandbox
) -> None:
    schema = connector.stream("ad_performance").table.schema
    assert schema.field("pt_metrics_video_trueview_views").type == pa.int64()
    assert schema.field("pt_metrics_all_conversions_value").type == MONEY
    viewed = 0
    for account in google_sandbox.account_ids:
        result = extract(connector, "ad_performance", account, START, END)
        assert result.quarantine == []
        for row in result.rows.to_pylist():
            if row["row_level"] == "ad":
                assert row["pt_metrics_video_trueview_views"] is not None
                assert row["pt_metrics_video_trueview_views"] <= row["impressions"]
                viewed += row["pt_metrics_video_trueview_views"]
                # the sandbox's all conversions value is the conversions value
                assert row["pt_metrics_all_conversions_value"] == Decimal(repr(row["conversions_value"])).quantize(
                    Decimal("0.000001")
                )
            video = row["campaign_channel_type"] == "VIDEO"
            if not video and row["pt_metrics_video_trueview_views"] is not None:
                assert row["pt_metrics_video_trueview_views"] == 0
    assert viewed > 0


def test_custom_stream_quarantines_a_negative_cost(
    connector: GoogleAdsConnector, google_sandbox: GoogleAdsSandbox
) -> None:
    google_sandbox.faults.add(Fault("malformed", channel="google_ads", params={"mode": "negative_cost", "rows": 1}))
    result = extract(connector, "custom_by_network", google_sandbox.account_ids[0], START, END)
    assert [q.reason for q in result.quarantine] == ["negative_cost"]
    assert result.rows.num_rows > 0


def test_custom_streams_load_into_their_tables_and_reload_idempotently(
    connector: GoogleAdsConnector, google_sandbox: GoogleAdsSandbox, tmp_path: Path
) -> None:
    warehouse = DuckDBWarehouse(tmp_path / "wh.duckdb")
    for name in ("custom_by_network", "custom_budgets", "ad_performance"):
        spec = connector.stream(name)
        start = END if spec.kind == "snapshot" else START
        for _ in range(2):  # a rerun replaces, never duplicates
            for account in google_sandbox.account_ids[:2]:
                result = extract(connector, name, account, start, END)
                warehouse.replace_partitions(
                    spec.table, result.rows, Scope.of([account], start, END), LoadContext("google_ads", "run"), []
                )
        [(count,)] = warehouse.query(f"SELECT count(*) FROM {spec.table.name}")
        expected = sum(extract(connector, name, a, start, END).rows.num_rows for a in google_sandbox.account_ids[:2])
        assert count == expected > 0, name
    [(cost,)] = warehouse.query("SELECT sum(metrics_cost) FROM raw_google_ads.custom_by_network")
    [(spend,)] = warehouse.query("SELECT sum(cost_micros) FROM raw_google_ads.ad_performance")
    assert Decimal(cost) == Decimal(spend) / 1_000_000


def test_an_incompatible_query_never_reaches_the_api(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    with pytest.raises(ValidationError) as caught:
        make_connector(
            custom_queries=[{"name": "bad", "query": "SELECT segments.conversion_action, metrics.clicks FROM campaign"}]
        )
    assert "custom_queries" in str(caught.value)
    assert google_sandbox.calls.total() == 0


def test_the_documented_example_runs_on_the_sandbox(
    make_connector: ConnectorFactory, google_sandbox: GoogleAdsSandbox
) -> None:
    text = (PROJECT_ROOT / "docs" / "connectors" / "google_ads.md").read_text(encoding="utf-8")
    block = text.split("<!-- custom-queries-example -->", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    (section,) = yaml.safe_load(block)["connectors"]
    connector = make_connector(
        custom_queries=section["custom_queries"], passthrough_fields=section["passthrough_fields"]
    )
    account = google_sandbox.account_ids[0]
    network = extract(connector, "custom_by_network", account, START, END)
    budgets = extract(connector, "custom_budgets", account, END, END)
    assert network.quarantine == budgets.quarantine == []
    assert network.rows.num_rows > 0
    assert budgets.rows.num_rows > 0
    ads = extract(connector, "ad_performance", account, START, END).rows
    assert "pt_metrics_video_trueview_views" in ads.schema.names
