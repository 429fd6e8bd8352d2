"""Rows of the Meta Ads streams beside ad_insights: breakdown rows, actions by attribution window (long format),
entity snapshots (budgets in currency units, creatives' link and texts), the settings and the docs."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.base import Account
from connectors.kit.rows import BadRow, to_table
from connectors.meta_ads.connector import MetaAdsConnector
from connectors.meta_ads.conversions import ConversionRule
from connectors.meta_ads.reports import insights_params
from connectors.meta_ads.rows import ROW_FORMATS, RowBatch, parse_action_rows, parse_breakdown_row
from connectors.meta_ads.schema import BREAKDOWN_TABLES
from connectors.meta_ads.settings import INSIGHTS_QUERIES, MetaAdsSettings
from connectors.meta_ads.snapshots import SnapshotBatch, budget, parse_entity

ACCOUNT = Account("123", "Shop FR", "EUR", "Europe/Paris")
DAY = dt.date(2025, 3, 3)
PURCHASE = ConversionRule(("purchase",))


def campaign_row(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "account_id": "123",
        "account_currency": "EUR",
        "campaign_id": "11",
        "campaign_name": "Spring",
        "impressions": "1000",
        "clicks": "25",
        "spend": "12.34",
        "reach": "800",
        "actions": [{"action_type": "link_click", "value": "20"}, {"action_type": "purchase", "value": "3"}],
        "action_values": [{"action_type": "purchase", "value": "90.50"}],
        "date_start": "2025-03-03",
        "date_stop": "2025-03-03",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_a_breakdown_row_carries_its_segment() -> None:
    record = parse_breakdown_row(
        campaign_row(publisher_platform="instagram", platform_position="instagram_reels"),
        ACCOUNT,
        PURCHASE,
        DAY,
        DAY,
        ("publisher_platform", "platform_position"),
    )
    assert (record["publisher_platform"], record["platform_position"]) == ("instagram", "instagram_reels")
    assert (record["spend"], record["conversions"], record["conversion_value"]) == (Decimal("12.34"), 3.0, 90.5)
    assert list(record) == BREAKDOWN_TABLES["platform_insights"].schema.names
    table = to_table([record], BREAKDOWN_TABLES["platform_insights"])
    assert table.num_rows == 1


def test_a_breakdown_row_without_its_segment_is_refused() -> None:
    with pytest.raises(BadRow, match=r"^missing_value:breakdown country"):
        parse_breakdown_row(campaign_row(), ACCOUNT, PURCHASE, DAY, DAY, ("country",))
    with pytest.raises(BadRow, match=r"^missing_id:campaign_id$"):
        parse_breakdown_row(campaign_row(campaign_id="", country="FR"), ACCOUNT, PURCHASE, DAY, DAY, ("country",))


def test_a_batch_of_breakdown_rows_quarantines_a_repeated_segment() -> None:
    batch = RowBatch(ACCOUNT, PURCHASE, ROW_FORMATS["country_insights"])
    batch.add([campaign_row(country="FR"), campaign_row(country="BE"), campaign_row(country="FR")], DAY, DAY)
    records, quarantine = batch.take()
    assert [r["country"] for r in records] == ["FR", "BE"]
    assert [q.reason for q in quarantine] == ["duplicate_key"]


def action_row(**changes: Any) -> dict[str, Any]:
    return campaign_row(
        actions=[
            {"action_type": "purchase", "value": "5", "1d_click": "2", "7d_click": "4", "1d_view": "1"},
            {"action_type": "link_click", "value": "40", "1d_click": "40", "7d_click": "40"},
        ],
        action_values=[
            {"action_type": "purchase", "value": "100", "1d_click": "40", "7d_click": "80", "1d_view": "20"}
        ],
        **changes,
    )


def test_actions_become_one_row_per_type_and_window() -> None:
    records = parse_action_rows(action_row(), ACCOUNT, DAY, DAY, ("1d_click", "7d_click", "1d_view"))
    got = {(r["action_type"], r["attribution_window"]): (r["actions"], r["action_value"]) for r in records}
    assert got == {
        ("purchase", "default"): (5.0, 100.0),
        ("purchase", "1d_click"): (2.0, 40.0),
        ("purchase", "7d_click"): (4.0, 80.0),
        ("purchase", "1d_view"): (1.0, 20.0),
        ("link_click", "default"): (40.0, None),
        ("link_click", "1d_click"): (40.0, None),
        ("link_click", "7d_click"): (40.0, None),
        ("link_click", "1d_view"): (0.0, None),  # a window Graph leaves out counts 0
    }
    assert {r["campaign_id"] for r in records} == {"11"}
    assert list(records[0]) == ROW_FORMATS["action_insights"].spec.schema.names


def test_actions_without_any_window_give_the_default_only() -> None:
    records = parse_action_rows(campaign_row(), ACCOUNT, DAY, DAY, ())
    assert [(r["action_type"], r["attribution_window"], r["actions"]) for r in records] == [
        ("link_click", "default", 20.0),
        ("purchase", "default", 3.0),
    ]
    assert parse_action_rows(campaign_row(actions=None, action_values=None), ACCOUNT, DAY, DAY, ("1d_click",)) == []


@pytest.mark.parametrize(
    ("actions", "reason"),
    [
        ([{"value": "1"}], "malformed:actions entry without an action_type"),
        (
            [{"action_type": "lead", "value": "1"}, {"action_type": "lead", "value": "2"}],
            "malformed:actions lists action_type 'lead' twice",
        ),
        ([{"action_type": "lead", "value": "1", "1d_click": "-1"}], "negative_metric:actions[lead].1d_click"),
        ([{"action_type": "lead", "value": "x"}], "unparsable:actions[lead].value"),
    ],
)
def test_bad_actions_quarantine_the_whole_row(actions: list[dict[str, str]], reason: str) -> None:
    with pytest.raises(BadRow, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse_action_rows(campaign_row(actions=actions), ACCOUNT, DAY, DAY, ("1d_click",))


def test_the_report_parameters_of_each_stream() -> None:
    since, until = DAY, DAY + dt.timedelta(days=6)
    params = insights_params(INSIGHTS_QUERIES["region_insights"], since, until, ("1d_click",))
    assert params["level"] == "campaign"
    assert params["breakdowns"] == ["region"]
    assert "region" not in params["fields"]
    assert "action_attribution_windows" not in params
    actions = insights_params(INSIGHTS_QUERIES["action_insights"], since, until, ("1d_click", "7d_click"))
    assert actions["action_breakdowns"] == ["action_type"]
    assert actions["action_attribution_windows"] == ["1d_click", "7d_click"]
    ads = insights_params(INSIGHTS_QUERIES["ad_insights"], since, until)
    assert (ads["level"], ads["time_increment"], ads["use_unified_attribution_setting"]) == ("ad", 1, True)
    assert "breakdowns" not in ads


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("5000", "EUR", Decimal("50")),
        ("5000", "JPY", Decimal("5000")),
        ("12345", "krw", Decimal("12345")),
        ("1999", "USD", Decimal("19.99")),
        ("0", "EUR", None),
        (None, "EUR", None),
    ],
)
def test_budgets_are_in_currency_units(value: str | None, currency: str, expected: Decimal | None) -> None:
    assert budget(value, currency) == expected


def test_campaign_and_adset_snapshots() -> None:
    campaign = parse_entity(
        {
            "id": "11",
            "name": "Spring",
            "status": "ACTIVE",
            "effective_status": "ACTIVE",
            "lifetime_budget": "300000",
            "created_time": "2024-06-22T09:00:00+0200",
        },
        "campaign_snapshot",
        ACCOUNT,
        DAY,
    )
    assert campaign["lifetime_budget"] == Decimal("3000")
    assert campaign["daily_budget"] is None
    assert campaign["created_time"] == dt.datetime(2024, 6, 22, 7, tzinfo=dt.UTC)
    assert (campaign["snapshot_date"], campaign["account_id"], campaign["account_currency"]) == (DAY, "123", "EUR")
    adset = parse_entity(
        {
            "id": "22",
            "campaign_id": "11",
            "daily_budget": "7000",
            "targeting": {"geo_locations": {"countries": ["FR", "BE"]}},
        },
        "adset_snapshot",
        ACCOUNT,
        DAY,
    )
    assert (adset["daily_budget"], json.loads(adset["targeting_countries"])) == (Decimal("70"), ["FR", "BE"])
    with pytest.raises(BadRow, match=r"^unparsable:created_time is not a time"):
        parse_entity({"id": "11", "created_time": "yesterday"}, "campaign_snapshot", ACCOUNT, DAY)


def test_creative_link_and_texts_from_the_story_or_the_asset_feed() -> None:
    story = parse_entity(
        {
            "id": "44",
            "object_story_spec": {"link_data": {"link": "https://a.example/x", "message": "Buy", "name": "Sale"}},
            "url_tags": "utm_source=facebook",
        },
        "creative_snapshot",
        ACCOUNT,
        DAY,
    )
    assert (story["link_url"], story["title"], story["body"]) == ("https://a.example/x", "Sale", "Buy")
    feed = parse_entity(
        {
            "id": "45",
            "title": "Own title",
            "asset_feed_spec": {"link_urls": [{"website_url": "https://b.example"}], "bodies": [{"text": "Body"}]},
        },
        "creative_snapshot",
        ACCOUNT,
        DAY,
    )
    assert (feed["link_url"], feed["title"], feed["body"]) == ("https://b.example", "Own title", "Body")


def test_a_snapshot_batch_quarantines_bad_and_repeated_items_and_notes_drift() -> None:
    batch = SnapshotBatch(ACCOUNT, "ad_snapshot", DAY)
    records, quarantine = batch.parse(
        [{"id": "1", "creative": {"id": "9"}}, {"id": "1"}, {"id": "x"}, {"id": "2", "new_field": 1}]
    )
    assert [(r["id"], r["creative_id"]) for r in records] == [("1", "9"), ("2", None)]
    assert [q.reason for q in quarantine] == ["duplicate_key", "invalid_id:id 'x' is not a Graph id"]
    assert all(q.day == DAY for q in quarantine)
    assert batch.unknown == {"new_field"}
    assert to_table(records, batch.spec).num_rows == 2


def settings(**changes: Any) -> MetaAdsSettings:
    return MetaAdsSettings.model_validate(
        {"name": "m", "type": "meta_ads", "credentials": {"access_token": "env:X"}, **changes}
    )


def test_attribution_window_settings() -> None:
    assert settings().action_attribution_windows == ["1d_click", "7d_click", "1d_view"]
    assert settings(action_attribution_windows=["default", "28d_click"]).requested_windows == ("28d_click",)
    for bad, reason in (
        (["1d_clik"], "unknown attribution window"),
        (["7d_view"], "no longer returned"),
        (["1d_click", "1d_click"], "twice"),
    ):
        with pytest.raises(ValidationError, match=reason):
            settings(action_attribution_windows=bad)


def test_the_docs_describe_every_stream_and_column() -> None:
    from mdp.paths import PROJECT_ROOT

    text = (PROJECT_ROOT / "docs" / "connectors" / "meta_ads.md").read_text(encoding="utf-8")
    for stream in MetaAdsConnector.streams:
        assert f"`{stream.table.name}`" in text, stream.name
        section = text[text.index(f"### `{stream.table.name}`") :].split("\n### ")[0]
        lines = {line.split(" | ")[0]: line for line in section.splitlines() if line.startswith("| `")}
        for name, doc in stream.table.column_docs.items():
            assert lines[f"| `{name}`"].endswith(f"| {doc} |"), (stream.name, name)
