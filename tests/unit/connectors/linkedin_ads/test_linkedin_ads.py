"""The linkedin_ads connector type: registered only through the `mdp.connectors` entry point, its settings
validated with one-line errors naming the key, HTTP answers classified, adAnalytics elements parsed or
quarantined with a reason code."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from importlib.metadata import entry_points
from typing import Any

import pytest

from connectors.base import Account
from connectors.linkedin_ads.client import analytics_query, classify, retry_after_seconds
from connectors.linkedin_ads.connector import LinkedInAdsConnector
from connectors.linkedin_ads.exceptions import LinkedInAdsError, LinkedInAdsRetryableError
from connectors.linkedin_ads.rows import AnalyticsBatch, entities_from
from connectors.linkedin_ads.schema import REPORT_TABLES
from connectors.linkedin_ads.settings import API_URL, API_VERSION, PIVOTS
from connectors.registry import BUILT_IN, ENTRY_POINT_GROUP, build_connector, connector_class
from mdp.config import config_from_mapping
from mdp.errors import ConfigError
from mdp.paths import TRANSFORMATIONS_DIR

CREDENTIALS = {
    "client_id": "env:LINKEDIN_CLIENT_ID",
    "client_secret": "env:LINKEDIN_CLIENT_SECRET",  # pragma: allowlist secret
    "refresh_token": "env:LINKEDIN_REFRESH_TOKEN",
}
DAY = dt.date(2025, 3, 10)
ACCOUNT = Account("507404993", "Acme", "EUR", "UTC")


def build(**overrides: object) -> LinkedInAdsConnector:
    section = {"name": "li", "type": "linkedin_ads", "credentials": CREDENTIALS, **overrides}
    config = config_from_mapping({"connectors": [section]})
    connector = build_connector(config, config.connectors[0])
    assert isinstance(connector, LinkedInAdsConnector)
    return connector


def test_the_type_resolves_through_the_entry_point_only() -> None:
    assert "linkedin_ads" not in BUILT_IN
    (entry,) = [e for e in entry_points(group=ENTRY_POINT_GROUP) if e.name == "linkedin_ads"]
    assert entry.value == "connectors.linkedin_ads.connector:LinkedInAdsConnector"
    assert connector_class("linkedin_ads") is LinkedInAdsConnector


def test_a_valid_section_builds_without_calling_the_api() -> None:
    connector = build(accounts=["111"], endpoint="http://127.0.0.1:8703/rest/", api_version="202501")
    assert connector.settings.endpoint == "http://127.0.0.1:8703/rest"
    assert connector.settings.api_version == "202501"
    assert connector.lookback_days == 30
    assert build().settings.endpoint == API_URL
    assert build().settings.api_version == API_VERSION
    assert "credentials" not in build().describe()


@pytest.mark.parametrize(
    ("overrides", "key", "text"),
    [
        ({"accounts": ["urn:li:sponsoredAccount:1"]}, "accounts[0]", "is not a LinkedIn ad account id"),
        ({"accounts": ["1", "1"]}, "accounts", "listed twice"),
        ({"credentials": {"refresh_token": "env:X"}}, "credentials", "missing client_id, client_secret"),
        ({"credentials": {**CREDENTIALS, "username": "env:X"}}, "credentials", "unknown credentials"),
        ({"credentials": {**CREDENTIALS, "client_id": "literal-id"}}, "credentials", "env:"),
        ({"api_version": "2024-11"}, "api_version", "YYYYMM"),
        ({"api_version": "202413"}, "api_version", "YYYYMM"),
        ({"endpoint": "api.linkedin.com/rest"}, "endpoint", "http(s) URL"),
        ({"token_url": "ftp://x"}, "token_url", "http(s) URL"),
        ({"page_size": 0}, "page_size", "1"),
    ],
)
def test_bad_settings_fail_naming_the_key(overrides: dict[str, object], key: str, text: str) -> None:
    with pytest.raises(ConfigError) as raised:
        build(**overrides)
    (line,) = [line for line in str(raised.value).splitlines() if f"connectors[0].{key}" in line]
    assert text in line, str(raised.value)


def test_streams_tables_and_dbt_models() -> None:
    assert [s.name for s in LinkedInAdsConnector.streams] == list(PIVOTS) == list(REPORT_TABLES)
    assert LinkedInAdsConnector.totals_stream == "account_totals"
    for spec in REPORT_TABLES.values():
        assert spec.schema_name == "raw_linkedin_ads"
        assert set(spec.column_docs) == set(spec.schema.names)
    models = {p.stem for p in (TRANSFORMATIONS_DIR / "models").rglob("*linkedin_ads*.sql")}
    assert set(LinkedInAdsConnector.dbt_models.values()) <= models


def test_the_analytics_query_keeps_restli_structure_and_encodes_the_urn() -> None:
    assert analytics_query(PIVOTS["country_performance"], "1", DAY, DAY).startswith(
        "q=statistics&pivots=List(CAMPAIGN_GROUP,MEMBER_COUNTRY_V2)&timeGranularity=DAILY&"
    )
    query = analytics_query(("CREATIVE",), "123", DAY, DAY + dt.timedelta(days=1))
    assert "pivot=CREATIVE&timeGranularity=DAILY" in query
    assert "dateRange=(start:(year:2025,month:3,day:10),end:(year:2025,month:3,day:11))" in query
    assert "accounts=List(urn%3Ali%3AsponsoredAccount%3A123)" in query
    assert query.endswith(
        "fields=dateRange,pivotValues,costInLocalCurrency,impressions,clicks,"
        "externalWebsiteConversions,conversionValueInLocalCurrency"
    )


@pytest.mark.parametrize(
    ("status", "retryable", "text"),
    [
        (429, True, "throttled"),
        (500, True, "HTTP 500"),
        (503, True, "HTTP 503"),
        (401, False, "renew connectors.li.credentials.refresh_token"),
        (403, False, "permission denied"),
        (400, False, "HTTP 400"),
        (404, False, "HTTP 404"),
    ],
)
def test_http_answers_are_classified(status: int, retryable: bool, text: str) -> None:
    body = f'{{"status": {status}, "code": "X", "message": "m"}}'
    error = classify(status, body, {"retry-after": "7"}, "LinkedIn Ads li: call", "li")
    assert isinstance(error, LinkedInAdsRetryableError) is retryable
    assert isinstance(error, LinkedInAdsError | LinkedInAdsRetryableError)
    assert text in str(error)
    assert "\n" not in str(error)
    if status == 429:
        assert error.retry_after == 7.0  # type: ignore[union-attr]


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Mon, 10 Mar 2025 12:00:30 GMT", now=lambda: 1741608000.0) == 30.0


def element(urn: str = "urn:li:sponsoredCreative:9", **values: Any) -> dict[str, Any]:
    day = {"year": DAY.year, "month": DAY.month, "day": DAY.day}
    base = {
        "dateRange": {"start": day, "end": day},
        "pivotValues": [urn],
        "costInLocalCurrency": "12.34",
        "impressions": 1000,
        "clicks": 10,
        "externalWebsiteConversions": 2,
        "conversionValueInLocalCurrency": "99.5",
    }
    return base | values


def batch(stream: str = "ad_performance") -> AnalyticsBatch:
    entities = entities_from(
        [("urn:li:sponsoredCreative:9", "Image ad", "urn:li:sponsoredCampaign:5")],
        [(5, "Campaign five", "urn:li:sponsoredCampaignGroup:3")],
        [(3, "Group three")],
    )
    return AnalyticsBatch(stream, ACCOUNT, DAY, DAY, entities)


def test_a_creative_row_carries_its_campaign_and_group_and_exact_money() -> None:
    rows = batch()
    rows.add(element())
    (record,) = rows.records
    assert (record["campaign_group_id"], record["campaign_id"], record["creative_id"]) == ("3", "5", "9")
    assert (record["campaign_group_name"], record["campaign_name"]) == ("Group three", "Campaign five")
    assert record["cost_in_local_currency"] == Decimal("12.34")
    assert record["conversion_value_in_local_currency"] == Decimal("99.5")
    assert record["account_timezone"] == "UTC"
    assert rows.collector.table().num_rows == 1


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"costInLocalCurrency": "-1.00"}, "negative_cost"),
        ({"clicks": -1}, "negative_metric"),
        ({"impressions": "n/a"}, "unparsable"),
        ({"impressions": 1.5}, "unparsable"),
        ({"pivotValues": []}, "missing_id"),
        ({"pivotValues": ["urn:li:sponsoredCreative:abc"]}, "invalid_id"),
        ({"pivotValues": ["urn:li:sponsoredCreative:77"]}, "missing_id:creative 77"),
        ({"dateRange": {"start": {"year": 2025}}}, "unparsable"),
        ({"dateRange": {"start": {"year": 2025, "month": 3, "day": 11}}}, "date_out_of_range"),
    ],
)
def test_a_bad_element_is_quarantined_with_its_reason(values: dict[str, Any], reason: str) -> None:
    rows = batch()
    rows.add(element(**values))
    assert not rows.records
    (quarantined,) = rows.quarantine
    assert quarantined.reason.startswith(reason), quarantined.reason
    assert quarantined.day == DAY


def test_a_second_row_of_the_same_creative_and_day_is_quarantined() -> None:
    rows = batch()
    rows.add(element())
    rows.add(element())
    assert len(rows.records) == 1
    assert [q.reason for q in rows.quarantine] == ["duplicate_key"]


def test_account_totals_rows_check_the_account() -> None:
    rows = batch("account_totals")
    rows.add(element("urn:li:sponsoredAccount:507404993"))
    rows.add(element("urn:li:sponsoredAccount:1", dateRange=element()["dateRange"]))
    assert [r["account_id"] for r in rows.records] == ["507404993"]
    assert [q.reason for q in rows.quarantine] == ["account_mismatch"]


def test_a_country_row_maps_its_geo_id_and_keeps_an_unknown_one() -> None:
    rows = batch("country_performance")
    group = "urn:li:sponsoredCampaignGroup:3"
    rows.add(element(pivotValues=[group, "urn:li:geo:103644278"]))
    rows.add(element(pivotValues=[group, "urn:li:geo:1"]))
    rows.add(element(pivotValues=[group]))
    assert [(r["campaign_group_name"], r["geo_id"], r["country_code"]) for r in rows.records] == [
        ("Group three", "103644278", "US"),
        ("Group three", "1", None),
    ]
    assert [q.reason.split(":")[0] for q in rows.quarantine] == ["missing_id"]
