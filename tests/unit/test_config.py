"""Configuration loading: valid files, environment overrides, and the exact error messages."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mdp.config import load_config
from mdp.errors import ConfigError
from mdp.paths import PROJECT_ROOT

GOOD = """
timezone: Europe/Paris
reporting_currency: EUR
warehouse: {type: duckdb, path: data/wh.duckdb}
connectors:
  - name: google_ads
    type: google_ads
    lookback_days: 14
    endpoint: "127.0.0.1:50051"
    accounts: ["1234567890"]
    credentials: {developer_token: "env:GOOGLE_ADS_DEVELOPER_TOKEN"}
  - name: meta_ads
    type: meta_ads
    accounts: ["act_123"]
    credentials: {access_token: "block:meta-access-token"}
alerts: {slack_webhook_block: mdp-alerts}
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("MDP_"):
            monkeypatch.delenv(key)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_sample_configuration_is_valid() -> None:
    config = load_config(PROJECT_ROOT / "pipeline.yaml")
    assert config.warehouse.type == "duckdb"
    assert config.warehouse_path() == PROJECT_ROOT / "data" / "warehouse.duckdb"


def test_good_file_loads_with_connector_specific_keys(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert [c.name for c in config.connectors] == ["google_ads", "meta_ads"]
    google = config.connector("google_ads")
    assert google.options()["endpoint"] == "127.0.0.1:50051"
    assert google.lookback_days == 14
    assert config.connector("meta_ads").lookback_days is None
    assert config.warehouse_path() == (tmp_path / "data" / "wh.duckdb").resolve()
    assert config.alerts.slack_webhook_block == "mdp-alerts"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MDP_TIMEZONE", "America/New_York")
    monkeypatch.setenv("MDP_WAREHOUSE__PATH", str(tmp_path / "other.duckdb"))
    config = load_config(write(tmp_path, GOOD))
    assert config.timezone == "America/New_York"
    assert config.warehouse_path() == tmp_path / "other.duckdb"
    assert config.reporting_currency == "EUR"


def test_bad_environment_override_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MDP_REPORTING_CURRENCY", "EURO")
    message = error_of(write(tmp_path, GOOD))
    assert "reporting_currency: expected an ISO 4217 currency code" in message
    assert "MDP_" in message


def test_missing_file_is_named(tmp_path: Path) -> None:
    assert error_of(tmp_path / "nope.yaml") == f"configuration file not found: {tmp_path / 'nope.yaml'}"


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "timezone: UTC\nwarehouse: {type: duckdb\n")
    message = error_of(path)
    assert message.startswith(f"invalid configuration in {path} at line 3")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- a\n- b\n")
    assert error_of(path) == (f"invalid configuration in {path}: expected a mapping of keys at the top level, got list")


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("timezone: Mars/Olympus", "  - timezone: expected an IANA time zone such as Europe/Paris or UTC"),
        ("reporting_currency: XYZ", "  - reporting_currency: expected an ISO 4217 currency code"),
        ("reporting_curency: EUR", "  - reporting_curency: unknown key"),
        ("warehouse: {type: sqlite}", "  - warehouse: Input tag 'sqlite' found using 'type' does not match"),
        ("warehouse: {type: duckdb, pth: x}", "  - warehouse.pth: unknown key"),
        ("warehouse: {type: bigquery}", "  - warehouse.project: required key is missing"),
        ("warehouse: {type: duckdb, lock_timeout_seconds: -1}", "  - warehouse.lock_timeout_seconds:"),
        ("connectors: [{name: g, type: google_ads, lookback_days: -3}]", "  - connectors[0].lookback_days:"),
        (
            "connectors: [{name: G-Ads, type: google_ads}]",
            "  - connectors[0].name: String should match pattern",
        ),
        ("connectors: [{type: google_ads}]", "  - connectors[0].name: required key is missing"),
        ("connectors: [{name: g, type: google_ads, accounts: ['1', '1']}]", "accounts listed twice: ['1']"),
        (
            "connectors: [{name: g, type: google_ads}, {name: g, type: meta_ads}]",
            "connector names must be unique, repeated: ['g']",
        ),
        ("alerts: {slack_webhook: x}", "  - alerts.slack_webhook: unknown key"),
    ],
)
def test_each_invalid_key_is_named_with_what_was_expected(tmp_path: Path, snippet: str, expected: str) -> None:
    path = write(tmp_path, snippet + "\n")
    message = error_of(path)
    assert message.startswith(f"invalid configuration in {path}:\n")
    assert expected in message


def test_literal_secret_is_refused_and_never_echoed(tmp_path: Path) -> None:
    token = "ya29.super-secret-token-value"
    path = write(
        tmp_path,
        f"connectors: [{{name: g, type: google_ads, credentials: {{developer_token: '{token}'}}}}]\n",
    )
    message = error_of(path)
    assert "connectors[0].credentials.developer_token: expected a secret reference" in message
    assert token not in message


def test_unknown_connector_name_lists_the_configured_ones(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    with pytest.raises(ConfigError, match=r"unknown connector 'bing'; configured connectors: google_ads, meta_ads"):
        config.connector("bing")


def test_yaml_is_strict_duplicate_keys_booleans_for_numbers_and_empty_files(tmp_path: Path) -> None:
    duplicated = write(tmp_path, GOOD + "connectors: []\n")
    assert error_of(duplicated).endswith(
        "at line 17, column 1: duplicate key 'connectors' (the later one would silently win)"
    )
    boolean = write(tmp_path, GOOD.replace("lookback_days: 14", "lookback_days: true"))
    assert "connectors[0].lookback_days: expected a number, got the boolean true" in error_of(boolean)
    weeks = write(tmp_path, GOOD + "monitoring: {weeks: false}\n")
    assert "monitoring.weeks: expected a number, got the boolean false" in error_of(weeks)
    empty = write(tmp_path, "\n# nothing\n")
    assert (
        error_of(empty) == f"invalid configuration in {empty}: the file is empty; start from the project's "
        "pipeline.yaml (docs/configuration.md lists every key)"
    )


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            "SUM(spend) FROM raw_meta_ads.ad_insights GROUP BY 1,2; DROP TABLE main.victim; SELECT 1,2,3,4 --",
            "is not a spend aggregate",
        ),
        ("SUM(spend); DROP TABLE x", "is not a spend aggregate (unexpected ';')"),
        ("SUM(spend) -- comment", "is not a spend aggregate (SQL comments are not allowed)"),
        ("'a' || 'b'", 'is not a spend aggregate (unexpected "\'")'),
        ("SUM(spend", "has unbalanced parentheses"),
        ("max(spend)", "must aggregate with SUM(...)"),
    ],
)
def test_spend_expressions_must_parse_as_an_aggregate(tmp_path: Path, expression: str, message: str) -> None:
    import json

    path = write(tmp_path, GOOD + f"monitoring: {{spend_expressions: {{meta_ads: {json.dumps(expression)}}}}}\n")
    error = error_of(path)
    assert "monitoring.spend_expressions: meta_ads: " in error
    assert message in error


def test_accepted_spend_expressions_and_their_columns() -> None:
    from mdp.config import check_spend_expression, spend_expression_columns

    for good in ("SUM(cost_micros) / 1e6", "sum(coalesce(spend, 0)) * 1.0", "SUM(CAST(cost_cents AS DOUBLE)) / 100"):
        check_spend_expression(good, where="x")
    assert spend_expression_columns("SUM(CAST(cost_cents AS DOUBLE)) / 100") == {"cost_cents"}


def test_a_spend_expression_reads_only_columns_of_its_raw_table() -> None:
    from connectors.meta_ads.schema import AD_INSIGHTS
    from flows.monitor import spend_sql
    from mdp.config import MonitoringSettings

    settings = MonitoringSettings(spend_expressions={"meta_ads": "SUM(spend) / 1", "other": "SUM(victim)"})
    assert spend_sql(AD_INSIGHTS, "meta_ads", settings) == "SUM(spend) / 1"
    with pytest.raises(ConfigError, match=r"monitoring.spend_expressions.other: no column victim in raw_meta_ads"):
        spend_sql(AD_INSIGHTS, "other", settings)


def test_meta_action_types_cannot_carry_sql(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from connectors.meta_ads.settings import MetaAdsSettings

    base = {"name": "meta_ads", "type": "meta_ads", "accounts": ["act_1"]}
    MetaAdsSettings.model_validate({**base, "conversion_action_types": ["offsite_conversion.custom.123", "purchase"]})
    with pytest.raises(ValidationError, match="action types may hold only letters, digits"):
        MetaAdsSettings.model_validate({**base, "conversion_action_types": ["purchase' OR '1'='1"]})


def test_a_misspelt_key_is_named_and_an_environment_variable_is_blamed_when_it_is_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    typo = write(tmp_path, GOOD.replace("    type: meta_ads", "    typ: meta_ads"))
    assert "connectors[1].type: required key is missing (found 'typ': did you mean 'type'?)" in error_of(typo)
    monkeypatch.setenv("MDP_MONITORING__WEEKS", "abc")
    error = error_of(write(tmp_path, GOOD))
    assert "monitoring.weeks: " in error
    assert "(from environment variable MDP_MONITORING__WEEKS)" in error


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("MDP_CONNECTORS", '[{"name": "x",', "connectors"),
        ("MDP_MONITORING", '{"weeks":', "monitoring"),
        ("MDP_MONITORING__SPEND_EXPRESSIONS", "{", "monitoring.spend_expressions"),
    ],
)
def test_broken_json_in_an_environment_variable_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, key: str
) -> None:
    monkeypatch.setenv(variable, value)
    path = write(tmp_path, GOOD)
    message = error_of(path)
    assert message.startswith(f"invalid configuration in environment variable {variable}: {key}: not valid JSON (")
    assert f"(it overrides {path})" in message
    assert "\n" not in message
