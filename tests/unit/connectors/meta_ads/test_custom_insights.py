"""Meta custom_insights and passthrough fields without a server: what the configuration may say (checked
against the facebook-business SDK's insights fields), the one-line errors naming the key, the columns and
types, and the parsing of Graph rows (scalar, exploded by action, passthrough)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from facebook_business.adobjects.adsinsights import AdsInsights
from pydantic import ValidationError

from connectors.base import Account
from connectors.kit.rows import BadRow
from connectors.kit.schema import MONEY
from connectors.meta_ads import custom
from connectors.meta_ads.connector import MetaAdsConnector
from connectors.meta_ads.settings import MetaAdsSettings
from mdp.config import validation_message
from mdp.errors import ConfigError

DAY = dt.date(2025, 3, 3)
ACCOUNT = Account("123", "Shop", "EUR", "Europe/Paris")
BASE: dict[str, Any] = {
    "name": "meta",
    "type": "meta_ads",
    "accounts": ["act_123"],
    "credentials": {"access_token": "env:META_TOKEN"},
}


def settings(*entries: dict[str, Any], **extra: Any) -> MetaAdsSettings:
    return MetaAdsSettings.model_validate(BASE | {"custom_insights": list(entries)} | extra)


def refused(*entries: dict[str, Any]) -> str:
    """The one-line message the configuration check gives."""
    with pytest.raises(ValidationError) as caught:
        settings(*entries)
    message = validation_message(caught.value, "pipeline.yaml", ("connectors", 0))
    assert "\n" not in message
    return message


def entry(**values: Any) -> dict[str, Any]:
    return {"name": "custom", "level": "campaign", "fields": ["spend"]} | values


# The catalogue is the SDK's ---------------------------------------------------------------------------------


def test_every_catalogued_field_is_one_the_sdk_declares_with_a_matching_type() -> None:
    for name, info in custom.FIELDS.items():
        sdk_type = AdsInsights._field_types[name]
        expected = "list<AdsActionStats>" if info.kind in custom.LIST_KINDS else "string"
        assert sdk_type == expected, name


def test_sdk_enums_are_read_from_the_sdk() -> None:
    assert "action_device" in custom.SDK_ACTION_BREAKDOWNS
    assert "action_device" not in custom.SDK_BREAKDOWNS
    assert {"country", "publisher_platform"} <= custom.SDK_BREAKDOWNS
    assert set(custom.LEVELS) == custom.SDK_LEVELS
    assert {"conversion", "impression", "mixed", "lifetime"} == custom.SDK_ACTION_REPORT_TIMES


# What the configuration may say --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "key", "text"),
    [
        ({"fields": ["spnd"]}, "custom_insights[0].fields[0]", "unknown field 'spnd' (did you mean 'spend'?)"),
        ({"fields": ["spend", "impresions"]}, "fields[1]", "did you mean 'impressions'?"),
        ({"fields": ["spend,impressions"]}, "fields[0]", "one name per list entry"),
        ({"fields": ["a' OR '1"]}, "fields[0]", "is not allowed"),
        ({"fields": ["metrics.clicks; DROP TABLE x"]}, "fields[0]", "is not allowed"),
        ({"fields": ["spend\nimpressions"]}, "fields[0]", "ASCII only: U+000A"),
        ({"fields": ["sp\u0435nd"]}, "fields[0]", "ASCII only: U+0435 CYRILLIC SMALL LETTER IE"),
        ({"fields": ["ｓpend"]}, "fields[0]", "ASCII only: U+FF53"),
        ({"fields": ["SPEND"]}, "fields[0]", "is not allowed"),
        ({"fields": [1]}, "fields[0]", "text"),
        ({"fields": ["action_device"]}, "fields[0]", "is an action breakdown: list it under action_breakdowns"),
        ({"fields": ["country"]}, "fields[0]", "is a breakdown: list it under breakdowns"),
        ({"fields": ["account_id"]}, "fields[0]", "always in a custom table"),
        ({"fields": ["date_start"]}, "fields[0]", "always in a custom table (column 'date')"),
        ({"fields": ["results"]}, "fields[0]", "nested object (list<Object>)"),
        ({"fields": ["video_play_curve_actions"]}, "fields[0]", "nested object (list<AdsHistogramStats>)"),
        ({"fields": ["labels"]}, "fields[0]", "is not a metric or dimension"),
        ({"fields": ["ad_id", "spend"]}, "fields[0]", "not in rows of level 'campaign'"),
        ({"fields": ["quality_ranking", "spend"]}, "fields[0]", "needs level 'ad'"),
        ({"fields": ["spend", "spend"]}, "custom_insights[0].fields", "listed twice"),
        ({"breakdowns": ["action_device"]}, "breakdowns[0]", "is an action breakdown"),
        ({"breakdowns": ["contry"]}, "breakdowns[0]", "did you mean 'country'?"),
        ({"breakdowns": ["age; DROP"]}, "breakdowns[0]", "is not allowed"),
        ({"breakdowns": ["platform_position"]}, "custom_insights[0].breakdowns", "needs publisher_platform"),
        ({"breakdowns": ["age", "age"]}, "breakdowns", "listed twice"),
        ({"action_breakdowns": ["country"], "fields": ["actions"]}, "action_breakdowns[0]", "is a breakdown"),
        ({"action_breakdowns": ["action_devise"], "fields": ["actions"]}, "action_breakdowns[0]", "action_device"),
        ({"action_attribution_windows": ["7d_view"], "fields": ["actions"]}, "windows[0]", "no longer returned"),
        ({"action_attribution_windows": ["7d_clik"], "fields": ["actions"]}, "windows[0]", "did you mean '7d_click'"),
        ({"action_report_time": "sometimes", "fields": ["actions"]}, "action_report_time", "conversion"),
        ({"level": "keyword"}, "custom_insights[0].level", "account"),
        ({"name": "Bad Name"}, "custom_insights[0].name", "lower_snake_case"),
        ({"name": "by_dev\u0456ce"}, "custom_insights[0].name", "ASCII only"),
        ({"fields": []}, "custom_insights[0].fields", ""),
        ({"query": "x"}, "custom_insights[0].query", "unknown key"),
    ],
)
def test_a_bad_entry_is_refused_in_one_line_naming_its_key(values: dict[str, Any], key: str, text: str) -> None:
    message = refused(entry(**values))
    assert message.startswith("invalid configuration in pipeline.yaml: connectors[0].custom_insights[0]")
    assert key in message
    assert text in message


@pytest.mark.parametrize(
    ("values", "text"),
    [
        ({"fields": ["actions", "spend"]}, "declare them in another custom_insights entry"),
        ({"fields": ["campaign_name"]}, "no metric"),
        ({"action_breakdowns": ["action_device"]}, "action_breakdowns: applies to list-of-actions fields"),
        ({"action_attribution_windows": ["7d_click"]}, "action_attribution_windows: applies"),
        ({"action_report_time": "conversion"}, "action_report_time: applies"),
        ({"breakdowns": ["frequency_value"], "fields": ["reach", "spend"]}, "frequency_value goes with the reach"),
        ({"breakdowns": ["region"], "fields": ["actions"]}, "off-Meta actions"),
        ({"breakdowns": ["region"], "fields": ["video_p25_watched_actions"]}, "does not support the region"),
        (
            {"breakdowns": ["hourly_stats_aggregated_by_advertiser_time_zone"], "fields": ["reach"]},
            "hourly breakdown",
        ),
        (
            {"breakdowns": ["hourly_stats_aggregated_by_audience_time_zone"], "fields": ["video_play_actions"]},
            "hourly breakdown",
        ),
    ],
)
def test_combinations_meta_refuses_are_refused(values: dict[str, Any], text: str) -> None:
    assert text in refused(entry(**values))


def test_names_are_unique_and_columns_never_collide() -> None:
    assert "listed twice" in refused(entry(), entry())
    # `actions` with window 7d_click and a field that would give the same column name cannot both land.
    collision = entry(fields=["campaign_id", "campaign_id"])
    assert "listed twice" in refused(collision)


def test_a_column_collision_is_refused_never_renamed() -> None:
    entry_ = custom.Entry("x", "campaign", ("actions",), action_attribution_windows=("7d_click",))
    columns = [c.name for c in custom.entry_columns(entry_)]
    assert columns == ["campaign_id", "action_type", "actions", "actions_7d_click"]
    clash = custom.Entry("x", "campaign", ("spend",), breakdowns=("spend",))  # a breakdown named like a field
    with pytest.raises(ValueError, match="would both be column 'spend'"):
        custom.check_entry(clash)


def test_defaults_are_graphs_and_a_good_entry_builds_its_stream() -> None:
    s = settings(
        {"name": "video_by_device", "fields": ["video_p25_watched_actions", "video_p100_watched_actions"]},
        {"name": "campaign_reach", "level": "campaign", "fields": ["campaign_name", "reach", "frequency", "spend"]},
    )
    first = s.custom_insights[0]
    assert (first.level, first.breakdowns, first.action_breakdowns, first.action_report_time) == ("ad", [], [], None)
    connector = MetaAdsConnector(s)
    video = connector.stream("custom_video_by_device")
    assert video.table.name == "raw_meta_ads.custom_video_by_device"
    assert video.key == ("account_id", "date", "ad_id", "action_type")
    reach = connector.stream("custom_campaign_reach")
    schema = reach.table.schema
    assert schema.field("reach").type == pa.int64()
    assert schema.field("frequency").type == pa.float64()
    assert schema.field("spend").type == MONEY
    assert schema.field("account_currency").type == pa.string()
    additive = {c.name: c.additive for c in reach.columns}
    assert additive == {"campaign_id": True, "campaign_name": True, "reach": False, "frequency": False, "spend": True}
    assert reach.key == ("account_id", "date", "campaign_id", "campaign_name")
    query = custom.entry_query(connector._entries["custom_video_by_device"])
    assert query.action_breakdowns == ("action_type",)
    assert query.level == "ad"
    assert connector.describe()["custom_insights"] == ["video_by_device", "campaign_reach"]


def test_the_action_type_is_always_asked_for_first() -> None:
    entry_ = custom.Entry("x", "ad", ("actions",), action_breakdowns=("action_device",))
    assert entry_.request_action_breakdowns == ("action_type", "action_device")
    scalar = custom.Entry("x", "ad", ("spend",))
    assert scalar.request_action_breakdowns == ()


# Typing and parsing -------------------------------------------------------------------------------------------


def row(**values: Any) -> dict[str, Any]:
    return {"account_id": "123", "date_start": "2025-03-03", "date_stop": "2025-03-03"} | values


def test_scalar_rows_are_typed_money_as_decimal_never_float() -> None:
    e = custom.Entry("x", "campaign", ("campaign_name", "impressions", "reach", "spend", "cpc", "ctr"))
    [record] = custom.parse_entry_row(
        row(
            campaign_id="77",
            campaign_name="C",
            impressions="1000",
            reach="800",
            spend="12.345678",
            cpc="0.1",
            ctr="2.5",
        ),
        ACCOUNT,
        e,
        DAY,
        DAY,
    )
    assert record["spend"] == Decimal("12.345678")
    assert isinstance(record["spend"], Decimal)
    assert record["cpc"] == Decimal("0.100000")
    assert record["impressions"] == 1000
    assert record["reach"] == 800
    assert record["ctr"] == 2.5
    assert record["campaign_id"] == "77"
    assert record["account_currency"] == "EUR"
    # Graph leaves a metric out: 0 when it adds up, unknown when it does not.
    [empty] = custom.parse_entry_row(row(campaign_id="77"), ACCOUNT, e, DAY, DAY)
    assert empty["impressions"] == 0
    assert empty["spend"] == Decimal(0)
    assert empty["reach"] is None
    assert empty["cpc"] is None


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"spend": "-1.00"}, "negative_cost"),
        ({"impressions": "1.5"}, "unparsable"),
        ({"impressions": "N/A"}, "unparsable"),
        ({"reach": "-3"}, "negative_metric"),
        ({"spend": "1000000000000"}, "out_of_range"),
        ({"campaign_id": ""}, "missing_id"),
        ({"campaign_id": "12a"}, "invalid_id"),
        ({"account_id": "999"}, "account_mismatch"),
        ({"date_start": "2025-03-09", "date_stop": "2025-03-09"}, "date_out_of_range"),
    ],
)
def test_bad_scalar_values_are_quarantine_reasons(values: dict[str, Any], reason: str) -> None:
    e = custom.Entry("x", "campaign", ("impressions", "reach", "spend"))
    with pytest.raises(BadRow) as caught:
        custom.parse_entry_row(row(campaign_id="77") | values, ACCOUNT, e, DAY, DAY)
    assert caught.value.reason.code == reason


def test_list_fields_explode_by_action_type_and_action_breakdowns() -> None:
    e = custom.Entry(
        "x",
        "campaign",
        ("actions", "action_values"),
        action_breakdowns=("action_device",),
        action_attribution_windows=("7d_click",),
    )
    raw = row(
        campaign_id="77",
        actions=[
            {"action_type": "purchase", "action_device": "iphone", "value": "3", "7d_click": "2"},
            {"action_type": "purchase", "action_device": "desktop", "value": "1"},
            {"action_type": "link_click", "value": "10"},  # an off-Meta entry without its device
        ],
        action_values=[{"action_type": "purchase", "action_device": "iphone", "value": "30.50", "7d_click": "20"}],
    )
    records = custom.parse_entry_row(raw, ACCOUNT, e, DAY, DAY)
    keyed = {(r["action_type"], r["action_device"]): r for r in records}
    assert set(keyed) == {("purchase", "iphone"), ("purchase", "desktop"), ("link_click", "unknown")}
    iphone = keyed["purchase", "iphone"]
    assert (iphone["actions"], iphone["actions_7d_click"]) == (3.0, 2.0)
    assert iphone["action_values"] == Decimal("30.500000")
    assert iphone["action_values_7d_click"] == Decimal("20")
    desktop = keyed["purchase", "desktop"]
    assert desktop["actions_7d_click"] == 0.0
    assert desktop["action_values"] == Decimal(0)  # Graph leaves zero entries out
    assert sum(r["actions"] for r in records) == 14.0  # nothing counted twice


@pytest.mark.parametrize(
    ("actions", "detail"),
    [
        ([{"action_type": "purchase", "value": "1"}, {"action_type": "purchase", "value": "2"}], "twice"),
        ([{"value": "1"}], "without an action_type"),
        ("purchase", "not a list"),
        ([{"action_type": "purchase", "value": "-1"}], "negative"),
    ],
)
def test_malformed_action_lists_quarantine_the_row(actions: Any, detail: str) -> None:
    e = custom.Entry("x", "campaign", ("actions",))
    with pytest.raises(BadRow) as caught:
        custom.parse_entry_row(row(campaign_id="77", actions=actions), ACCOUNT, e, DAY, DAY)
    assert detail in str(caught.value)


# Passthrough --------------------------------------------------------------------------------------------------


def test_passthrough_fields_become_pt_columns_of_ad_insights() -> None:
    connector = MetaAdsConnector(
        settings(passthrough_fields=["video_p100_watched_actions", "actions:video_view", "reach", "action_values"])
    )
    schema = connector.table.schema
    assert schema.field("pt_video_p100_watched_actions").type == pa.float64()
    assert schema.field("pt_actions_video_view").type == pa.float64()
    assert schema.field("pt_reach").type == pa.int64()
    assert schema.field("pt_action_values").type == MONEY
    assert {c.name: c.additive for c in connector.passthrough_columns()}["pt_reach"] is False
    fields = connector._queries["ad_insights"].fields
    assert {"video_p100_watched_actions", "actions", "reach", "action_values"} <= set(fields)
    assert len(fields) == len(set(fields))
    items = connector._passthrough
    raw = {
        "video_p100_watched_actions": [{"action_type": "video_view", "value": "7"}, {"action_type": "x", "value": "3"}],
        "actions": [{"action_type": "video_view", "value": "40"}, {"action_type": "link_click", "value": "9"}],
        "reach": "55",
    }
    values = {item.column.name: custom.passthrough_value(raw, item) for item in items}
    assert values == {
        "pt_video_p100_watched_actions": 10.0,
        "pt_actions_video_view": 40.0,
        "pt_reach": 55,
        "pt_action_values": Decimal(0),
    }


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("rech", "did you mean 'reach'?"),
        ("ad_name", "is a dimension"),
        ("spend:purchase", "not a list of actions"),
        ("actions:a' OR '1", "is not an action type"),
        ("actions:purch\u0430se", "ASCII only"),
        ("purchase_roas", "name one action type"),
        ("reach; DROP TABLE x", "is not allowed"),
        ("results", "nested object"),
    ],
)
def test_bad_passthrough_fields_are_refused_naming_metrics_and_the_field(field: str, text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        MetaAdsConnector(settings(passthrough_fields=[field]))
    message = str(caught.value)
    assert message.startswith("invalid configuration: metrics: ")
    assert repr(field) in message
    assert text in message
    assert "\n" not in message


def test_typing_of_each_kind() -> None:
    assert custom.typed("12", custom.FIELDS["impressions"], "impressions") == 12
    assert custom.typed("1,234.5", custom.FIELDS["spend"], "spend") == Decimal("1234.500000")
    assert custom.typed("0.333333", custom.FIELDS["frequency"], "frequency") == pytest.approx(0.333333)
    assert custom.typed("2.5", custom.FIELDS["actions"], "actions") == 2.5
    assert custom.FIELDS["cost_per_action_type"].arrow_type == MONEY
    assert not custom.FIELDS["cost_per_action_type"].additive
    assert custom.FIELDS["video_p100_watched_actions"].additive
