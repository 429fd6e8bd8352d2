"""Meta custom_insights and passthrough fields through the official facebook-business SDK against the Graph
sandbox: video watched actions by action_device, actions by action_type x action_destination, reach and frequency
at campaign level, spend by a breakdown adding up to ad_insights, passthrough columns on ad_insights, quarantine
and retries on the same paths as the built-in streams."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
import yaml

from connectors.meta_ads.connector import MetaAdsConnector
from mdp import paths
from sandbox import MetaSandbox
from sandbox.faults import Fault

START, END = dt.date(2025, 3, 1), dt.date(2025, 3, 4)
Make = Callable[..., MetaAdsConnector]
VIDEO = ["video_p25_watched_actions", "video_p50_watched_actions", "video_p75_watched_actions"]
VIDEO += ["video_p95_watched_actions", "video_p100_watched_actions"]
CUSTOM: list[dict[str, Any]] = [
    {"name": "video_by_device", "level": "ad", "fields": VIDEO, "action_breakdowns": ["action_device"]},
    {
        "name": "actions_by_destination",
        "level": "campaign",
        "fields": ["actions", "action_values"],
        "action_breakdowns": ["action_type", "action_destination"],
        "action_attribution_windows": ["1d_click", "7d_click"],
    },
    {"name": "campaign_reach", "level": "campaign", "fields": ["campaign_name", "impressions", "reach", "frequency"]},
    {
        "name": "spend_by_device",
        "level": "campaign",
        "fields": ["spend", "impressions", "clicks"],
        "breakdowns": ["device_platform"],
    },
]
PASSTHROUGH = ["video_p100_watched_actions", "actions:link_click", "reach"]


def extract(
    connector: MetaAdsConnector, stream: str, account: str, start: dt.date = START, end: dt.date = END
) -> list[dict[str, Any]]:
    spec = connector.stream(stream).table
    tables = []
    for batch in connector.extract(stream, account, start, end):
        assert batch.rows.schema == spec.schema
        assert batch.quarantine == []
        tables.append(batch.rows)
    return (pa.concat_tables(tables) if tables else spec.schema.empty_table()).to_pylist()


@pytest.fixture
def connector(make_connector: Make) -> MetaAdsConnector:
    return make_connector(custom_insights=CUSTOM, passthrough_fields=PASSTHROUGH)


def test_video_watched_actions_by_device_add_up_to_the_ads_passthrough_totals(
    connector: MetaAdsConnector, meta_sandbox: MetaSandbox
) -> None:
    account = meta_sandbox.account_ids[0]
    rows = extract(connector, "custom_video_by_device", account)
    assert rows
    assert {r["action_type"] for r in rows} == {"video_view"}
    assert len({r["action_device"] for r in rows}) > 3
    by_ad: dict[tuple[dt.date, str], float] = defaultdict(float)
    for r in rows:
        quartiles = [r[f] for f in VIDEO]
        assert quartiles == sorted(quartiles, reverse=True), r  # p25 >= p50 >= p75 >= p95 >= p100
        by_ad[r["date"], r["ad_id"]] += r["video_p100_watched_actions"]
    ads = extract(connector, "ad_insights", account)
    assert {(r["date"], r["ad_id"]): r["pt_video_p100_watched_actions"] for r in ads} == dict(by_ad)
    for r in ads:
        assert r["pt_reach"] == r["reach"]
        link_clicks = {a["action_type"]: float(a["value"]) for a in json.loads(r["actions"] or "[]")}
        assert r["pt_actions_link_click"] == link_clicks.get("link_click", 0.0)


def test_actions_by_type_and_destination_add_up_to_the_campaigns_actions(
    connector: MetaAdsConnector, meta_sandbox: MetaSandbox
) -> None:
    account = meta_sandbox.account_ids[1]
    rows = extract(connector, "custom_actions_by_destination", account)
    assert len({r["action_destination"] for r in rows}) == 2
    counts: dict[tuple[Any, ...], float] = defaultdict(float)
    values: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
    for r in rows:
        assert r["actions_1d_click"] <= r["actions_7d_click"] <= r["actions"] or r["actions"] == 0
        counts[r["date"], r["campaign_id"], r["action_type"]] += r["actions"]
        assert isinstance(r["action_values"], Decimal)
        if r["action_values"]:
            values[r["date"], r["campaign_id"], r["action_type"]] += r["action_values"]
    expected_counts: dict[tuple[Any, ...], float] = defaultdict(float)
    expected_values: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
    for r in extract(connector, "ad_insights", account):
        for a in json.loads(r["actions"] or "[]"):
            expected_counts[r["date"], r["campaign_id"], a["action_type"]] += float(a["value"])
        for a in json.loads(r["action_values"] or "[]"):
            expected_values[r["date"], r["campaign_id"], a["action_type"]] += Decimal(a["value"])
    assert dict(counts) == dict(expected_counts)
    assert dict(values) == dict(expected_values)


def test_reach_and_frequency_at_campaign_level(connector: MetaAdsConnector, meta_sandbox: MetaSandbox) -> None:
    account = meta_sandbox.account_ids[0]
    rows = extract(connector, "custom_campaign_reach", account)
    assert rows
    for r in rows:
        assert 0 < r["reach"] <= r["impressions"]
        assert r["frequency"] == pytest.approx(r["impressions"] / r["reach"], rel=1e-5)
        assert r["campaign_name"]
    stream = connector.stream("custom_campaign_reach")
    assert {c.name for c in stream.columns if not c.additive} == {"reach", "frequency"}
    keys = [(r["date"], r["campaign_id"]) for r in rows]
    assert len(keys) == len(set(keys))


def test_spend_by_a_breakdown_equals_the_accounts_ad_insights_spend_per_day(
    connector: MetaAdsConnector, meta_sandbox: MetaSandbox
) -> None:
    for account in meta_sandbox.account_ids:
        custom: dict[dt.date, Decimal] = defaultdict(Decimal)
        for r in extract(connector, "custom_spend_by_device", account):
            assert isinstance(r["spend"], Decimal)
            assert r["account_currency"]
            custom[r["date"]] += r["spend"]
        ads: dict[dt.date, Decimal] = defaultdict(Decimal)
        for r in extract(connector, "ad_insights", account):
            ads[r["date"]] += r["spend"]
        totals = {r["date"]: r["spend"] for r in extract(connector, "account_totals", account) if r["spend"]}
        assert dict(custom) == dict(ads) == totals


def test_a_malformed_custom_row_is_quarantined_with_its_reason(
    connector: MetaAdsConnector, meta_sandbox: MetaSandbox
) -> None:
    meta_sandbox.faults.add(
        Fault("malformed", report="insights:campaign:device_platform:", params={"mode": "negative_cost", "rows": 1})
    )
    account = meta_sandbox.account_ids[0]
    quarantine = []
    loaded = 0
    for batch in connector.extract("custom_spend_by_device", account, START, START):
        quarantine += batch.quarantine
        loaded += batch.rows.num_rows
    assert len(quarantine) == 1
    assert quarantine[0].reason.startswith("negative_cost:spend")
    assert loaded > 0


def test_custom_streams_retry_and_run_like_the_built_in_ones(
    connector: MetaAdsConnector, meta_sandbox: MetaSandbox
) -> None:
    meta_sandbox.faults.add(Fault("throttle", method="insights_async", times=1, params={"code": 80004}))
    meta_sandbox.faults.add(Fault("job_failed", method="insights_async", times=1))
    account = meta_sandbox.account_ids[0]
    rows = extract(connector, "custom_campaign_reach", account, START, END)
    assert {r["date"] for r in rows} == {START + dt.timedelta(days=n) for n in range(4)}
    units = [(name, account, START, END) for name in ("custom_video_by_device", "custom_spend_by_device")]
    connector.prepare(units)  # started and polled together, then read by extract
    assert extract(connector, "custom_spend_by_device", account)


def test_the_docs_worked_example_runs_against_the_sandbox(make_connector: Make, meta_sandbox: MetaSandbox) -> None:
    text = (paths.PROJECT_ROOT / "docs" / "connectors" / "meta_ads.md").read_text(encoding="utf-8")
    block = text.split("<!-- worked example: custom insights")[1].split("```yaml\n")[1].split("```")[0]
    [section] = yaml.safe_load(block)["connectors"]
    keys = ("custom_insights", "passthrough_fields")
    connector = make_connector(**{key: section[key] for key in keys})
    account = meta_sandbox.account_ids[0]
    for entry in section["custom_insights"]:
        rows = extract(connector, f"custom_{entry['name']}", account)
        assert rows, entry["name"]
        assert connector.stream(f"custom_{entry['name']}").table.name == f"raw_meta_ads.custom_{entry['name']}"
    ads = extract(connector, "ad_insights", account)
    assert sum(r["pt_video_p100_watched_actions"] for r in ads) > 0
    assert sum(r["pt_actions_link_click"] for r in ads) > 0
