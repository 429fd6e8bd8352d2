"""Google Ads custom queries: the GAQL parser and validator (hostile input included), the bundled field
catalogue, column typing and money conversion, settings errors naming the key, and passthrough fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from pydantic import ValidationError

from connectors.google_ads.catalogue import build_catalogue, catalogue_path, load_catalogue
from connectors.google_ads.custom import convert, custom_queries, field_info, passthrough_columns
from connectors.google_ads.gaql import GaqlError, custom_query, parse
from connectors.google_ads.settings import GoogleAdsSettings
from connectors.kit.custom import CustomColumn
from connectors.kit.schema import MONEY
from mdp.config import validation_message
from mdp.errors import ConfigError

BASE: dict[str, Any] = {
    "name": "google_ads",
    "type": "google_ads",
    "accounts": ["1234567890"],
    "credentials": {"developer_token": "env:DEV", "access_token": "env:TOKEN"},
}


def refused(query: str) -> str:
    with pytest.raises(GaqlError) as caught:
        custom_query(query)
    message = str(caught.value)
    assert "\n" not in message
    return message


def settings_error(*queries: dict[str, str]) -> str:
    with pytest.raises(ValidationError) as caught:
        GoogleAdsSettings.model_validate({**BASE, "custom_queries": list(queries)})
    message = validation_message(caught.value, "pipeline.yaml", ("connectors", 0))
    assert "\n" not in message
    return message


# the catalogue ---------------------------------------------------------------------------------------------


def test_bundled_catalogue_is_what_the_installed_client_gives() -> None:
    import json

    assert json.loads(catalogue_path().read_text(encoding="utf-8")) == build_catalogue()


def test_catalogue_describes_fields_and_resources() -> None:
    catalogue = load_catalogue()
    network = catalogue.fields["segments.ad_network_type"]
    assert (network.category, network.data_type) == ("SEGMENT", "ENUM")
    assert {"SEARCH", "SEARCH_PARTNERS", "CONTENT", "YOUTUBE"} <= set(network.enum_values)
    assert catalogue.fields["metrics.cost_micros"].data_type == "INT64"
    assert catalogue.fields["campaign"].category == "RESOURCE"
    for resource in (
        "customer",
        "campaign",
        "ad_group",
        "ad_group_ad",
        "keyword_view",
        "search_term_view",
        "geographic_view",
        "campaign_budget",
        "conversion_action",
    ):
        assert resource in catalogue.resources
    with_campaign = catalogue.selectable_with("campaign")
    assert {"campaign_budget.amount_micros", "customer.currency_code", "segments.device"} <= with_campaign
    assert "ad_group.name" not in with_campaign


# parsing and validation ------------------------------------------------------------------------------------


def test_the_example_query() -> None:
    query = custom_query("SELECT segments.ad_network_type, metrics.cost_micros FROM campaign")
    assert query.report
    assert [(c.name, c.role) for c in query.columns] == [
        ("campaign_id", "dimension"),
        ("segments_ad_network_type", "dimension"),
        ("metrics_cost", "metric"),
    ]
    assert query.gaql(dt.date(2025, 3, 1), dt.date(2025, 3, 2)) == (
        "SELECT campaign.id, segments.ad_network_type, metrics.cost_micros, customer.id, customer.currency_code, "
        "segments.date FROM campaign WHERE segments.date BETWEEN '2025-03-01' AND '2025-03-02'"
    )


def test_query_builder_layout_and_where_are_rendered_from_validated_parts() -> None:
    text = (
        "select\n  campaign.name,\n\tmetrics.clicks\nFROM campaign\n"
        "WHERE campaign.status IN (ENABLED, 'PAUSED') AND metrics.clicks > 10 AND campaign.name LIKE '%Brand%'"
    )
    query = custom_query(text)
    assert query.gaql(dt.date(2025, 1, 1), dt.date(2025, 1, 1)).endswith(
        "WHERE campaign.status IN (ENABLED, 'PAUSED') AND metrics.clicks > 10 AND campaign.name LIKE '%Brand%' "
        "AND segments.date BETWEEN '2025-01-01' AND '2025-01-01'"
    )


def test_a_resource_without_metrics_or_date_is_a_snapshot() -> None:
    query = custom_query("SELECT campaign_budget.amount_micros FROM campaign_budget")
    assert not query.report
    assert query.gaql() == (
        "SELECT campaign_budget.id, campaign_budget.amount_micros, customer.id, customer.currency_code "
        "FROM campaign_budget"
    )
    assert not custom_query("SELECT conversion_action.name, conversion_action.category FROM conversion_action").report


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT metrics.clicks; DROP TABLE x FROM campaign", "unexpected character ';'"),
        ("SELECT metrics.clicks FROM campaign; DROP TABLE x", "unexpected character ';'"),
        ("SELECT metrics.clicks FROM campaign WHERE campaign.name = 'a' OR '1'", "OR is not part of GAQL"),
        ("SELECT metrics.clicks FROM campaign WHERE campaign.name = 'a' OR '1'='1'", "OR is not part of GAQL"),
        ("SELECT metrics.clicks FROM campaign WHERE campaign.name = 'a\\' OR 1'", "quoted value"),
        ("SELECT metrics.clicks FROM campaign WHERE campaign.name = 'a\nb'", "quoted value"),
        ("SELECT metrics.clicks FROM campaign WHERE campaign.name = 'it''s'", "unexpected"),
        ("SELECT metrics.clicks FROM campaign -- comment", "unexpected character '-'"),
        ("SELECT metrics.clicks FROM campaign /* x */", "unexpected character '/'"),
        ("SELECT metrics.сlicks FROM campaign", "U+0441"),  # Cyrillic es
        ("SELECT metrics.clicks FROM сampaign", "U+0441"),
        ("SELECT metrics.clicks FROM campaign\u2028", "U+2028"),
        ("SELECT metrics.clicks\x00 FROM campaign", "U+0000"),
        ("SELECT ｍetrics.clicks FROM campaign", "U+FF4D"),  # fullwidth m
        ("SELECT Metrics.Clicks FROM campaign", "not a GAQL name"),
        ("SELECT metrics..clicks FROM campaign", "not a GAQL name"),
        ("SELECT * FROM campaign", "unexpected character '*'"),
        ("SELECT metrics.clicks FROM campaign WHERE campaign.id = 1 UNION SELECT 1", "unexpected 'UNION'"),
        ("", "empty"),
        ("SELECT metrics.clicks FROM campaign LIMIT 10", "LIMIT is not allowed"),
        ("SELECT metrics.clicks FROM campaign ORDER BY metrics.clicks DESC", "ORDER BY is not allowed"),
        ("SELECT metrics.clicks FROM campaign PARAMETERS include_drafts=true", "PARAMETERS is not allowed"),
        ("SELECT metrics.clicks FROM campaign WHERE segments.date DURING LAST_7_DAYS", "DURING is not allowed"),
        (
            "SELECT metrics.clicks FROM campaign WHERE segments.date BETWEEN '2025-01-01' AND '2025-01-31'",
            "BETWEEN is not allowed",
        ),
        ("SELECT metrics.clicks FROM campaign WHERE segments.date >= '2025-01-01'", "leave segments.date out"),
        ("SELECT segments.date, metrics.clicks FROM campaign", "leave segments.date out"),
        ("SELECT metrics.clicks, metrics.clicks FROM campaign", "selected twice"),
        ("SELECT metrics.clicks FROM campaign WHERE campaign.status = 'ENABLD'", "did you mean 'ENABLED'"),
        ("SELECT metrics.clicks FROM campaign WHERE metrics.clicks > 'ten'", "expected a number"),
        ("SELECT metrics.clicks FROM campaign WHERE campaign.name = 12", "expected a quoted value"),
        ("SELECT metrics.clicks FROM campaign WHERE metrics.clicks LIKE '1%'", "LIKE applies to text"),
        ("SELECT campaign FROM campaign", "is a resource"),
        ("SELECT metrics.clicks FROM metrics", "not supported by custom_queries"),
        ("SELECT metrics.clicks FROM ad_group_criterion", "not supported by custom_queries"),
        ("SELECT metrics.clicks FROM change_event", "unknown resource 'change_event'"),
        ("SELECT metrics.clicks FROM campaign WHERE campaign.status LIKE 'EN%'", "LIKE applies to text"),
    ],
)
def test_refused_queries(query: str, expected: str) -> None:
    assert expected in refused(query)


def test_unknown_field_and_resource_suggest_the_closest() -> None:
    assert refused("SELECT metrics.cots_micros FROM campaign") == (
        "unknown field 'metrics.cots_micros' (did you mean 'metrics.cost_micros'?)"
    )
    assert "unknown resource 'campain' (did you mean 'campaign'?)" in refused("SELECT metrics.clicks FROM campain")
    # v26 renamed video_views; the catalogue says so instead of letting the API refuse it at run time
    assert "did you mean 'metrics.video_trueview_views'" in refused("SELECT metrics.video_views FROM ad_group_ad")


def test_incompatible_segment_names_both_fields() -> None:
    message = refused("SELECT segments.conversion_action, metrics.cost_micros FROM campaign")
    assert message.startswith(
        "segments.conversion_action is selectable with conversion metrics only, and metrics.cost_micros is not one"
    )
    custom_query("SELECT segments.conversion_action_category, metrics.all_conversions_value FROM campaign")


def test_fields_not_selectable_with_the_resource() -> None:
    assert "cannot be selected FROM campaign" in refused("SELECT ad_group.name, metrics.clicks FROM campaign")
    assert "segment 'segments.geo_target_region' is not selectable with resource 'campaign'" in refused(
        "SELECT segments.geo_target_region, metrics.clicks FROM campaign"
    )
    assert "metric 'metrics.search_impression_share' is not selectable with resource 'ad_group_ad'" in refused(
        "SELECT metrics.search_impression_share FROM ad_group_ad"
    )


def test_two_fields_giving_one_column_are_refused() -> None:
    message = refused(
        "SELECT metrics.cross_device_conversions_value_micros, metrics.cross_device_conversions_value FROM campaign"
    )
    assert message == (
        "fields 'metrics.cross_device_conversions_value_micros' and 'metrics.cross_device_conversions_value' would "
        "both be column 'metrics_cross_device_conversions_value'; keep one"
    )


def test_non_ascii_text_in_a_quoted_value_is_kept_as_data() -> None:
    query = custom_query("SELECT campaign.name, metrics.clicks FROM campaign WHERE campaign.name = 'Été ’25'")
    assert "WHERE campaign.name = 'Été ’25' AND segments.date" in query.gaql(dt.date(2025, 1, 1), dt.date(2025, 1, 2))


def test_parse_keeps_conditions() -> None:
    parsed = parse("SELECT campaign.id FROM campaign WHERE campaign.status != 'REMOVED' AND campaign.name IS NOT NULL")
    assert [c.render() for c in parsed.conditions] == ["campaign.status != 'REMOVED'", "campaign.name IS NOT NULL"]


# typing and conversion -------------------------------------------------------------------------------------


def columns_of(query: str) -> dict[str, CustomColumn]:
    return {c.name: c for c in custom_query(query).columns}


def test_column_types_follow_the_catalogue() -> None:
    columns = columns_of(
        "SELECT campaign.name, campaign.status, campaign_budget.amount_micros, segments.year, segments.week, "
        "metrics.clicks, metrics.ctr, metrics.average_cpc, metrics.conversions, metrics.conversions_value, "
        "metrics.all_conversions_value_by_conversion_date, metrics.search_impression_share, "
        "metrics.value_per_conversion FROM campaign"
    )
    assert columns["campaign_id"].type == pa.string()
    assert columns["campaign_id"].role == "dimension"
    assert columns["campaign_status"].type == pa.string()
    assert columns["campaign_budget_amount"].type == MONEY
    assert columns["campaign_budget_amount"].money
    assert columns["segments_year"].type == pa.int64()
    assert columns["segments_week"].type == pa.string()
    assert columns["metrics_clicks"].type == pa.int64()
    assert columns["metrics_clicks"].additive
    assert columns["metrics_conversions"].type == pa.float64()
    for money in ("metrics_conversions_value", "metrics_all_conversions_value_by_conversion_date"):
        assert columns[money].type == MONEY
        assert columns[money].money
        assert columns[money].additive
    for ratio in ("metrics_ctr", "metrics_average_cpc", "metrics_search_impression_share"):
        assert not columns[ratio].additive
        assert columns[ratio].role == "metric"
    assert columns["metrics_value_per_conversion"].money
    assert not columns["metrics_value_per_conversion"].additive


def test_money_converts_exactly() -> None:
    columns = columns_of("SELECT metrics.cost_micros, metrics.conversions_value FROM campaign")
    cost, value = columns["metrics_cost"], columns["metrics_conversions_value"]
    assert convert(cost, field_info(cost), 1_234_567_891) == (Decimal("1234.567891"), None)
    assert convert(cost, field_info(cost), 10**17 + 1)[0] == Decimal("100000000000.000001")
    assert convert(value, field_info(value), 0.1 + 0.2) == (Decimal("0.300000"), None)
    assert convert(value, field_info(value), 1234.56) == (Decimal("1234.560000"), None)
    assert convert(value, field_info(value), float("nan"))[1].code == "unparsable"  # type: ignore[union-attr]
    negative = convert(cost, field_info(cost), -5)[1]
    assert negative is not None
    assert negative.code == "negative_cost"


def test_enum_ids_and_repeated_values() -> None:
    columns = columns_of("SELECT ad_group_ad.ad.final_urls, ad_group_ad.status, metrics.clicks FROM ad_group_ad")
    urls = columns["ad_group_ad_ad_final_urls"]
    assert convert(urls, field_info(urls), ["https://a.example/x"]) == ('["https://a.example/x"]', None)
    ad_id = columns["ad_group_ad_ad_id"]
    assert convert(ad_id, field_info(ad_id), 123) == ("123", None)
    assert convert(ad_id, field_info(ad_id), 0) == (None, None)
    status = columns["ad_group_ad_status"]
    assert convert(status, field_info(status), "ENABLED") == ("ENABLED", None)


# settings and streams --------------------------------------------------------------------------------------


def test_settings_error_names_the_key() -> None:
    message = settings_error(
        {"name": "ok", "query": "SELECT metrics.clicks FROM campaign"},
        {"name": "bad", "query": "SELECT metrics.cots_micros FROM campaign"},
    )
    assert message == (
        "invalid configuration in pipeline.yaml: connectors[0].custom_queries[1].query: unknown field "
        "'metrics.cots_micros' (did you mean 'metrics.cost_micros'?)"
    )


@pytest.mark.parametrize("name", ["By-Network", "by network", "x; DROP TABLE y", "ｂy_network", "a" * 41, "1st"])
def test_hostile_names_are_refused(name: str) -> None:
    message = settings_error({"name": name, "query": "SELECT metrics.clicks FROM campaign"})
    assert "connectors[0].custom_queries[0].name" in message


def test_names_are_unique() -> None:
    query = "SELECT metrics.clicks FROM campaign"
    message = settings_error({"name": "a", "query": query}, {"name": "a", "query": query})
    assert "connectors[0].custom_queries: " in message
    assert "listed twice" in message


def test_custom_streams_are_tables_of_their_own() -> None:
    settings = GoogleAdsSettings.model_validate(
        {
            **BASE,
            "custom_queries": [
                {"name": "by_network", "query": "SELECT segments.ad_network_type, metrics.cost_micros FROM campaign"}
            ],
        }
    )
    ((name, (stream, _query)),) = custom_queries(settings).items()
    assert name == "custom_by_network"
    assert stream.table.name == "raw_google_ads.custom_by_network"
    assert stream.key == ("account_id", "date", "campaign_id", "segments_ad_network_type")
    assert stream.table.schema.names[:3] == ["account_id", "date", "account_currency"]


def test_passthrough_fields() -> None:
    (views, value) = passthrough_columns(["metrics.video_trueview_views", "metrics.all_conversions_value"])
    assert (views.name, views.type, views.money) == ("pt_metrics_video_trueview_views", pa.int64(), False)
    assert (value.name, value.type, value.money) == ("pt_metrics_all_conversions_value", MONEY, True)
    (cost,) = passthrough_columns(["metrics.cost_micros"])
    assert cost.name == "pt_metrics_cost"


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("metrics.video_views", "did you mean 'metrics.video_trueview_views'"),
        ("campaign.name", "is a attribute, not a metric"),
        ("segments.device", "is a segment, not a metric"),
        ("metrics.search_impression_share", "not selectable with ad_group_ad"),
        ("metrics.clicks; DROP TABLE x", "is not a GAQL field name"),
        ("metrics.сlicks", "is not a GAQL field name"),
    ],
)
def test_bad_passthrough_fields_name_metrics(field: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        passthrough_columns([field])
    message = str(caught.value)
    assert message.startswith(f"invalid configuration: metrics: field {field!r}: ")
    assert expected in message


def test_connector_adds_passthrough_columns_and_custom_streams() -> None:
    from connectors.google_ads.connector import GoogleAdsConnector

    settings = GoogleAdsSettings.model_validate(
        {
            **BASE,
            "passthrough_fields": ["metrics.video_trueview_views"],
            "custom_queries": [
                {"name": "budgets", "query": "SELECT campaign_budget.amount_micros FROM campaign_budget"}
            ],
        }
    )
    connector = GoogleAdsConnector(settings)
    assert connector.stream("ad_performance").table.schema.field("pt_metrics_video_trueview_views").type == pa.int64()
    assert connector.stream("custom_budgets").kind == "snapshot"
    assert "custom_budgets" in connector.stream_names()
    assert "pt_metrics_video_trueview_views" not in GoogleAdsConnector.streams[0].table.schema.names
