"""The microsoft_ads connector type: registered only through the `mdp.connectors` entry point, its settings
validated with one-line errors naming the key, its raw tables declared once, its dbt mappings consistent."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest

from connectors.microsoft_ads.connector import MicrosoftAdsConnector
from connectors.microsoft_ads.schema import REPORT_TABLES
from connectors.microsoft_ads.settings import REPORT_QUERIES, SERVICE_PATHS, TIME_ZONES
from connectors.registry import BUILT_IN, ENTRY_POINT_GROUP, build_connector, connector_class
from mdp.config import config_from_mapping
from mdp.errors import ConfigError
from mdp.paths import TRANSFORMATIONS_DIR

CREDENTIALS = {
    "refresh_token": "env:MSADS_REFRESH_TOKEN",
    "client_id": "env:MSADS_CLIENT_ID",
    "developer_token": "env:MSADS_DEVELOPER_TOKEN",
}


def section(**overrides: object) -> dict[str, object]:
    return {"name": "msads", "type": "microsoft_ads", "customer_id": "123", "credentials": CREDENTIALS, **overrides}


def build(**overrides: object) -> MicrosoftAdsConnector:
    config = config_from_mapping({"connectors": [section(**overrides)]})
    connector = build_connector(config, config.connectors[0])
    assert isinstance(connector, MicrosoftAdsConnector)
    return connector


def test_the_type_resolves_through_the_entry_point_only() -> None:
    assert "microsoft_ads" not in BUILT_IN
    (entry,) = [e for e in entry_points(group=ENTRY_POINT_GROUP) if e.name == "microsoft_ads"]
    assert entry.value == "connectors.microsoft_ads.connector:MicrosoftAdsConnector"
    assert connector_class("microsoft_ads") is MicrosoftAdsConnector
    assert MicrosoftAdsConnector.type_name == "microsoft_ads"


def test_a_valid_section_builds_without_calling_the_api() -> None:
    connector = build(accounts=["111", "222"], endpoint="http://127.0.0.1:8701/")
    assert connector.settings.endpoint == "http://127.0.0.1:8701"
    assert connector.settings.service_location("ReportingService") == (
        "http://127.0.0.1:8701/Api/Advertiser/Reporting/v13/ReportingService.svc"
    )
    assert connector.lookback_days == 30
    assert build().settings.service_location("ReportingService") is None  # production: the WSDL's own address


@pytest.mark.parametrize(
    ("overrides", "key", "text"),
    [
        ({"customer_id": "abc"}, "customer_id", "is not a Microsoft Advertising CustomerId"),
        ({"accounts": ["F123456"]}, "accounts[0]", "ASCII digits; not the account number"),
        ({"accounts": ["1", "1"]}, "accounts", "listed twice"),
        ({"credentials": {"refresh_token": "env:X"}}, "credentials", "missing client_id, developer_token"),
        ({"credentials": {**CREDENTIALS, "username": "env:X"}}, "credentials", "unknown credentials"),
        ({"credentials": {**CREDENTIALS, "client_id": "literal-id"}}, "credentials", "env:"),
        ({"endpoint": "127.0.0.1:8701"}, "endpoint", "http(s) URL"),
        ({"token_url": "ftp://x"}, "token_url", "http(s) URL"),
        ({"poll_initial_seconds": -1}, "poll_initial_seconds", "expected a number >= 0, got -1"),
        ({"report_timeout": 5}, "report_timeout", "unknown key"),
    ],
)
def test_bad_settings_fail_naming_the_key(overrides: dict[str, object], key: str, text: str) -> None:
    with pytest.raises(ConfigError) as raised:
        build(**overrides)
    (line,) = [line for line in str(raised.value).splitlines() if f"connectors[0].{key}" in line]
    assert text in line, str(raised.value)


def test_every_stream_has_a_report_and_a_table() -> None:
    assert [s.name for s in MicrosoftAdsConnector.streams] == list(REPORT_QUERIES) == list(REPORT_TABLES)
    assert MicrosoftAdsConnector.table is REPORT_TABLES["ad_performance"]
    for spec in REPORT_TABLES.values():
        assert spec.schema_name == "raw_microsoft_ads"
        assert (spec.account_column, spec.date_column) == ("account_id", "date")
        assert set(spec.column_docs) == set(spec.schema.names)
    assert set(SERVICE_PATHS) == {"CustomerManagementService", "ReportingService"}


def test_the_dbt_models_exist() -> None:
    models = {p.stem for p in (TRANSFORMATIONS_DIR / "models" / "intermediate" / "microsoft_ads").glob("*.sql")}
    assert set(MicrosoftAdsConnector.dbt_models.values()) == models
    assert "ad_performance" in MicrosoftAdsConnector.dbt_models


def test_time_zones_map_to_iana_names() -> None:
    from zoneinfo import ZoneInfo

    for name in TIME_ZONES.values():
        ZoneInfo(name)  # raises for an unknown name


def test_describe_names_no_secret_reference_value() -> None:
    described = build().describe()
    assert described["type"] == "microsoft_ads"
    assert described["endpoint"] == "Microsoft's production services"
    assert "credentials" not in described
    assert Path(__file__)  # the module is importable without the SDK being loaded
