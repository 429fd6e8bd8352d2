"""The tiktok_ads connector type: registered only through the `mdp.connectors` entry point, its settings
validated with one-line errors naming the key, its raw tables declared once, its dbt mappings consistent."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from connectors.registry import BUILT_IN, ENTRY_POINT_GROUP, build_connector, connector_class
from connectors.tiktok_ads.api import MAX_PAGE_SIZE, REPORT_QUERIES
from connectors.tiktok_ads.connector import TikTokAdsConnector, report_windows
from connectors.tiktok_ads.schema import REPORT_TABLES
from flows.dbt_channels import UNIONS, check_dbt_mapping
from mdp.config import config_from_mapping
from mdp.errors import ConfigError

CREDENTIALS = {"access_token": "env:TIKTOK_ACCESS_TOKEN", "secret": "env:TIKTOK_APP_SECRET"}  # pragma: allowlist secret


def section(**overrides: object) -> dict[str, object]:
    return {"name": "tiktok", "type": "tiktok_ads", "app_id": "7100", "credentials": CREDENTIALS, **overrides}


def build(**overrides: object) -> TikTokAdsConnector:
    config = config_from_mapping({"connectors": [section(**overrides)]})
    connector = build_connector(config, config.connectors[0])
    assert isinstance(connector, TikTokAdsConnector)
    return connector


def test_the_type_resolves_through_the_entry_point_only() -> None:
    assert "tiktok_ads" not in BUILT_IN
    (entry,) = [e for e in entry_points(group=ENTRY_POINT_GROUP) if e.name == "tiktok_ads"]
    assert entry.value == "connectors.tiktok_ads.connector:TikTokAdsConnector"
    assert connector_class("tiktok_ads") is TikTokAdsConnector


def test_a_valid_section_builds_without_calling_the_api() -> None:
    connector = build(accounts=["111", "222"], endpoint="http://127.0.0.1:8702/")
    assert connector.settings.base_url == "http://127.0.0.1:8702"
    assert connector.settings.page_size == MAX_PAGE_SIZE
    assert connector.lookback_days == 7
    assert build().settings.base_url == "https://business-api.tiktok.com"
    listed = build(accounts=["111"], app_id=None, credentials={"access_token": "env:T"})  # no discovery: no app
    assert listed.settings.app_id is None


@pytest.mark.parametrize(
    ("overrides", "key", "text"),
    [
        ({"accounts": ["act_123"]}, "accounts[0]", "is not a TikTok advertiser_id"),
        ({"accounts": ["1", "1"]}, "accounts", "listed twice"),
        ({"app_id": "my-app"}, "app_id", "is not a TikTok app_id"),
        ({"credentials": {"secret": "env:X"}}, "credentials", "missing access_token"),  # pragma: allowlist secret
        ({"credentials": {**CREDENTIALS, "refresh_token": "env:X"}}, "credentials", "unknown credentials"),
        ({"credentials": {**CREDENTIALS, "access_token": "literal-token"}}, "credentials", "env:"),
        ({"credentials": {"access_token": "env:T"}}, "connectors[0]", "set app_id and credentials.secret"),
        ({"endpoint": "127.0.0.1:8702"}, "endpoint", "http(s) URL"),
        ({"page_size": 5000}, "page_size", "1000"),
        ({"max_retries": -1}, "max_retries", ">= 0"),
        ({"report_type": "BASIC"}, "report_type", "unknown key"),
    ],
)
def test_bad_settings_fail_naming_the_key(overrides: dict[str, object], key: str, text: str) -> None:
    with pytest.raises(ConfigError) as raised:
        build(**overrides)
    lines = [line for line in str(raised.value).splitlines() if key in line]
    assert lines, str(raised.value)
    assert any(text in line for line in lines), str(raised.value)


def test_every_stream_has_a_report_and_a_table() -> None:
    assert [s.name for s in TikTokAdsConnector.streams] == list(REPORT_QUERIES) == list(REPORT_TABLES)
    assert TikTokAdsConnector.table is REPORT_TABLES["ad_performance"]
    assert TikTokAdsConnector.totals_stream == "account_totals"
    for spec in REPORT_TABLES.values():
        assert spec.schema_name == "raw_tiktok_ads"
        assert (spec.account_column, spec.date_column) == ("account_id", "date")
        assert set(spec.column_docs) == set(spec.schema.names)
    assert "account_timezone" in REPORT_TABLES["ad_performance"].schema.names


def test_the_dbt_models_are_intermediate_models_of_known_unions() -> None:
    check_dbt_mapping("tiktok_ads", TikTokAdsConnector)  # models exist and macros/channels.sql lists them
    assert set(TikTokAdsConnector.dbt_models) <= set(UNIONS)
    assert all(m == f"int_tiktok_ads__{u}" for u, m in TikTokAdsConnector.dbt_models.items())


def test_long_windows_are_cut_into_the_days_a_daily_report_accepts() -> None:
    import datetime as dt

    start = dt.date(2025, 1, 1)
    assert report_windows(start, start) == [(start, start)]
    windows = report_windows(start, dt.date(2025, 3, 1))
    assert windows == [(start, dt.date(2025, 1, 30)), (dt.date(2025, 1, 31), dt.date(2025, 3, 1))]


def test_describe_names_no_secret() -> None:
    described = build().describe()
    assert described["type"] == "tiktok_ads"
    assert described["endpoint"] == "TikTok's production Business API"
    assert "credentials" not in described
