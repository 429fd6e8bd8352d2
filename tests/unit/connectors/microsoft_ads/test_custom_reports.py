"""custom_reports and passthrough fields of the microsoft_ads connector, checked against the Reporting WSDL the
bingads SDK bundles: one-line errors naming the key (with a did-you-mean), hostile values refused before any
call, Microsoft's column restrictions, collisions refused, columns typed (amounts MONEY, ratios not additive)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from connectors.base import Account
from connectors.kit.custom import CustomStream
from connectors.kit.schema import MONEY
from connectors.microsoft_ads.api import METRIC_KINDS, is_statistic, report_types, snake_case
from connectors.microsoft_ads.connector import MicrosoftAdsConnector
from connectors.microsoft_ads.rows import ReportBatch
from connectors.registry import build_connector
from mdp.config import config_from_mapping
from mdp.errors import ConfigError

CREDENTIALS = {
    "refresh_token": "env:MSADS_REFRESH_TOKEN",
    "client_id": "env:MSADS_CLIENT_ID",
    "developer_token": "env:MSADS_DEVELOPER_TOKEN",
}
BY_NETWORK = {"name": "by_network", "report_type": "CampaignPerformance", "columns": ["CampaignId", "Network", "Spend"]}


def build(**overrides: object) -> MicrosoftAdsConnector:
    section = {"name": "msads", "type": "microsoft_ads", "customer_id": "123", "credentials": CREDENTIALS, **overrides}
    config = config_from_mapping(
        {
            "connectors": [
                {"name": "other", "type": "microsoft_ads", "customer_id": "1", "credentials": CREDENTIALS},
                section,
            ]
        }
    )
    connector = build_connector(config, config.connectors[1])
    assert isinstance(connector, MicrosoftAdsConnector)
    return connector


def refused(**overrides: object) -> str:
    with pytest.raises(ConfigError) as raised:
        build(**overrides)
    message = str(raised.value)
    assert "\n" not in message
    return message


def report(**changes: object) -> dict[str, object]:
    return {**BY_NETWORK, **changes}


def test_the_catalogue_is_the_sdk_wsdl() -> None:
    types = report_types()
    assert report_types() is types  # read once per process
    campaign = types["CampaignPerformanceReportRequest"]
    assert campaign.scope_type == "AccountThroughCampaignReportScope"
    assert {"CampaignId", "Network", "Spend", "AllConversions"} <= set(campaign.columns)
    assert campaign.daily
    assert not types["BudgetSummaryReportRequest"].daily
    # every column of a daily report type that reads like a statistic has a type (none lands as a text key)
    for kind in types.values():
        if kind.daily:
            assert [c for c in kind.columns if is_statistic(c) and c not in METRIC_KINDS] == [], kind.name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CampaignId", "campaign_id"),
        ("AverageCPV", "average_cpv"),
        ("VideoViewsAt25Percent", "video_views_at_25_percent"),
        ("TotalWatchTimeInMS", "total_watch_time_in_ms"),
        ("DeviceOS", "device_os"),
        ("CPI", "cpi"),
    ],
)
def test_column_names_are_snake_case(name: str, expected: str) -> None:
    assert snake_case(name) == expected


@pytest.mark.parametrize(
    "report_type", ["CampaignPerformance", "CampaignPerformanceReport", "CampaignPerformanceReportRequest"]
)
def test_a_report_type_is_accepted_as_the_reporting_service_names_it(report_type: str) -> None:
    connector = build(custom_reports=[report(report_type=report_type)])
    entry = connector.settings.custom_reports[0]
    assert entry.report_type == "CampaignPerformanceReportRequest"
    assert entry.requested == ("TimePeriod", "AccountId", "CurrencyCode", "CampaignId", "Network", "Spend")


def test_a_custom_report_is_a_typed_stream_keyed_by_its_attributes() -> None:
    columns = [
        "TimePeriod",
        "AccountId",
        "CampaignId",
        "CampaignName",
        "Network",
        "Impressions",
        "Clicks",
        "Spend",
        "Conversions",
        "Revenue",
        "Ctr",
        "AverageCpc",
        "ReturnOnAdSpend",
    ]
    connector = build(custom_reports=[report(columns=columns)])
    stream = connector.stream("custom_by_network")
    assert isinstance(stream, CustomStream)
    assert stream.table.name == "raw_microsoft_ads.custom_by_network"
    assert stream.key == ("account_id", "date", "campaign_id", "campaign_name", "network")
    schema = stream.table.schema
    assert schema.names[:3] == ["account_id", "date", "account_currency"]
    types = {f.name: f.type for f in schema}
    assert types["impressions"] == pa.int64()
    assert types["spend"] == MONEY
    assert types["revenue"] == MONEY
    assert types["conversions"] == pa.float64()
    assert types["ctr"] == pa.float64()
    assert types["average_cpc"] == MONEY
    assert types["network"] == pa.string()
    by_source = {c.source: c for c in stream.columns}
    assert by_source["Spend"].money
    assert by_source["Spend"].additive
    assert not by_source["Ctr"].additive
    assert by_source["AverageCpc"].money
    assert not by_source["AverageCpc"].additive
    assert not by_source["ReturnOnAdSpend"].additive
    query, layout = connector.report("custom_by_network")
    assert query.request_type == "CampaignPerformanceReportRequest"
    assert query.scope_type == "AccountThroughCampaignReportScope"
    assert query.columns[:3] == ("TimePeriod", "AccountId", "CurrencyCode")
    assert layout.key == stream.key


@pytest.mark.parametrize(
    ("entry", "key", "text"),
    [
        (report(columns=["CampaignId", "Spendd"]), "custom_reports[0].columns[1]", "did you mean 'Spend'?"),
        (report(columns=["CampaignId", "spend"]), "custom_reports[0].columns[1]", "did you mean 'Spend'?"),
        (
            report(report_type="CampaignPerformanc"),
            "custom_reports[0].report_type",
            "did you mean 'CampaignPerformance'?",
        ),
        (report(report_type="Nope"), "custom_reports[0].report_type", "unknown report type 'Nope'"),
        (report(report_type="BudgetSummary"), "custom_reports[0].report_type", "no daily rows"),
        (report(aggregation="Monthly"), "custom_reports[0].aggregation", "only Daily rows land"),
        (report(aggregation="Dayly"), "custom_reports[0].aggregation", "did you mean 'Daily'?"),
        (report(columns=["Spend,Clicks"]), "custom_reports[0].columns[0]", "one column per list item"),
        (report(columns=["CampaignId", "a' OR '1"]), "custom_reports[0].columns[1]", "is not a report column name"),
        (
            report(columns=["Spend", "metrics.clicks; DROP TABLE x"]),
            "custom_reports[0].columns[1]",
            "not a report column",
        ),
        (report(columns=["Spend", "Clicks\nDROP"]), "custom_reports[0].columns[1]", "'Clicks\\nDROP'"),
        (report(columns=["Sp\u0435nd"]), "custom_reports[0].columns[0]", "non-ASCII"),  # Cyrillic e
        (report(columns=["\uff33pend"]), "custom_reports[0].columns[0]", "non-ASCII"),  # fullwidth S
        (report(columns=["AgeGroup", "Spend"]), "custom_reports[0].columns[0]", "unknown column 'AgeGroup'"),
        (report(columns=["CampaignId", "Spend", "Spend"]), "custom_reports[0]", "'Spend' is listed twice"),
        (report(columns=["CampaignId", "Network"]), "custom_reports[0]", "at least one performance statistic"),
        (report(columns=["CampaignId", "ImpressionSharePercent"]), "custom_reports[0]", "other than impression share"),
        (
            report(columns=["TopVsOther", "Clicks", "ImpressionSharePercent"]),
            "custom_reports[0]",
            "refuses impression share columns (ImpressionSharePercent) with TopVsOther",
        ),
        (
            report(columns=["CustomerName", "Clicks", "RelativeCtr"]),
            "custom_reports[0]",
            "refuses RelativeCtr with CustomerName",
        ),
        (report(name="By Network"), "custom_reports[0].name", "should match pattern"),
        (report(name="x; drop"), "custom_reports[0].name", "should match pattern"),
        ({**BY_NETWORK, "filter": "x"}, "custom_reports[0].filter", "unknown key"),
        ({"name": "x", "report_type": "CampaignPerformance"}, "custom_reports[0].columns", "required key is missing"),
    ],
)
def test_a_bad_custom_report_fails_in_one_line_naming_the_key(entry: dict[str, object], key: str, text: str) -> None:
    message = refused(custom_reports=[entry])
    assert f"connectors[1].{key}:" in message, message
    assert text in message, message


def test_two_custom_reports_may_not_share_a_table() -> None:
    message = refused(custom_reports=[BY_NETWORK, report(columns=["CampaignId", "Clicks"])])
    assert "connectors[1].custom_reports:" in message
    assert "two custom reports are named 'by_network'" in message


def test_a_hostile_name_is_refused_by_the_table_name_rule() -> None:
    message = refused(custom_reports=[report(name="by_network; DROP TABLE x")])
    assert "connectors[1].custom_reports[0].name" in message


def test_key_columns_may_be_listed_and_are_requested_once() -> None:
    entry = build(custom_reports=[report(columns=["TimePeriod", "CurrencyCode", "Network", "Clicks"])])
    assert entry.settings.custom_reports[0].requested == (
        "TimePeriod",
        "AccountId",
        "CurrencyCode",
        "Network",
        "Clicks",
    )
    assert "time_period" not in entry.stream("custom_by_network").table.schema.names


def test_passthrough_fields_add_typed_pt_columns_and_request_them() -> None:
    connector = build(passthrough_fields=["AllConversions", "AllRevenue", "VideoViews", "Ctr"])
    assert connector.supports_passthrough
    fields = {f.name: f.type for f in connector.stream("ad_performance").table.schema}
    assert fields["pt_allconversions"] == pa.float64()
    assert fields["pt_allrevenue"] == MONEY
    assert fields["pt_videoviews"] == pa.int64()
    assert fields["pt_ctr"] == pa.float64()
    columns = {c.source: c for c in connector.passthrough_columns()}
    assert columns["AllRevenue"].money
    assert columns["AllRevenue"].additive
    assert not columns["Ctr"].additive
    query, layout = connector.report("ad_performance")
    assert query.columns[-4:] == ("AllConversions", "AllRevenue", "VideoViews", "Ctr")
    assert layout.fields["AllRevenue"] == ("pt_allrevenue", "money")
    plain_query, _ = build().report("ad_performance")
    assert "AllConversions" not in plain_query.columns


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("AllConversionz", "did you mean 'AllConversions'?"),
        ("Network", "is an attribute, not a performance statistic"),
        ("Spend", "already a column of ad_performance"),
        ("metrics.clicks; DROP TABLE x", "is not an AdPerformanceReport column name"),
        ("a' OR '1", "is not an AdPerformanceReport column name"),
        ("All\u0421onversions", "non-ASCII"),
        ("AllConversions\n", "'AllConversions\\n'"),
        ("ImpressionSharePercent", "is not an AdPerformanceReport column"),
    ],
)
def test_a_bad_passthrough_field_fails_naming_metrics(field: str, text: str) -> None:
    message = refused(passthrough_fields=[field])
    assert message.startswith("invalid configuration in the configuration: metrics: Microsoft Ads field"), message
    assert text in message, message


def test_custom_rows_are_parsed_with_their_types_and_keys() -> None:
    connector = build(
        custom_reports=[report(columns=["CampaignId", "Network", "Clicks", "Spend", "Ctr", "AverageCpc"])]
    )
    _, layout = connector.report("custom_by_network")
    day = dt.date(2025, 3, 10)
    header = '"TimePeriod","AccountId","CurrencyCode","CampaignId","Network","Clicks","Spend","Ctr","AverageCpc"'
    lines = [
        header,
        '"2025-03-10","123","EUR","111","Syndicated search partners","4","2.50","4.00%","0.63"',
        '"2025-03-10","123","EUR","111","Audience network","0","0.00","0.00%",""',
        '"2025-03-10","123","EUR","111","Audience network","1","1.00","1.00%","1.00"',  # the same key again
        '"2025-03-10","123","EUR","111","Syndicated search partners","x","1.00","1.00%","1.00"',
    ]
    batch = ReportBatch("custom_by_network", Account("123", "Acme", "EUR"), day, day, layout)
    batch.add("\r\n".join(lines) + "\r\n")
    table = batch.collector.table()
    assert table.num_rows == 2
    first, second = table.to_pylist()
    assert first["spend"] == Decimal("2.5")
    assert isinstance(first["spend"], Decimal)
    assert first["ctr"] == 4.0
    assert first["average_cpc"] == Decimal("0.63")
    assert second["average_cpc"] is None
    assert first["account_currency"] == "EUR"
    reasons = sorted(q.reason for q in batch.quarantine)
    assert len(reasons) == 2
    assert any("duplicate_key" in r for r in reasons)
    assert any("unparsable" in r for r in reasons)
