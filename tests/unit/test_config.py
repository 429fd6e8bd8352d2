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
        ("timezone: Mars/Olympus", "timezone: expected an IANA time zone such as Europe/Paris or UTC"),
        ("reporting_currency: XYZ", "reporting_currency: expected an ISO 4217 currency code"),
        ("reporting_curency: EUR", "reporting_curency: unknown key"),
        ("warehouse: {type: sqlite}", "warehouse.type: expected one of 'duckdb', 'bigquery', got 'sqlite'"),
        ("warehouse: {type: duckdb, pth: x}", "warehouse.pth: unknown key"),
        ("warehouse: {type: bigquery}", "warehouse.project: required key is missing"),
        (
            "warehouse: {type: duckdb, lock_timeout_seconds: -1}",
            "warehouse.lock_timeout_seconds: expected a number >= 0, got -1",
        ),
        (
            "connectors: [{name: g, type: google_ads, lookback_days: -3}]",
            "connectors[0].lookback_days: expected a number >= 0",
        ),
        (
            "connectors: [{name: G-Ads, type: google_ads}]",
            "connectors[0].name: String should match pattern",
        ),
        ("connectors: [{type: google_ads}]", "connectors[0].name: required key is missing"),
        ("connectors: [{name: g, type: google_ads, accounts: ['1', '1']}]", "accounts listed twice: ['1']"),
        (
            "connectors: [{name: g, type: google_ads}, {name: g, type: meta_ads}]",
            "connector names must be unique, repeated: ['g']",
        ),
        ("alerts: {slack_webhook: x}", "alerts.slack_webhook: unknown key"),
    ],
)
def test_each_invalid_key_is_named_with_what_was_expected(tmp_path: Path, snippet: str, expected: str) -> None:
    path = write(tmp_path, snippet + "\n")
    message = error_of(path)
    assert message.startswith(f"invalid configuration in {path}: ")
    assert expected in message
    assert "\n" not in message


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
    assert error == (
        "invalid configuration in environment variable MDP_MONITORING__WEEKS: monitoring.weeks: expected an integer, "
        f"got 'abc' (it overrides {tmp_path / 'pipeline.yaml'})"
    )
    monkeypatch.setenv("MDP_TIMEZONE", "Mars/Olympus")
    both = error_of(write(tmp_path, GOOD.replace("    type: meta_ads", "    typ: meta_ads")))
    assert both.startswith(f"invalid configuration in {tmp_path / 'pipeline.yaml'}: ")
    assert (
        "; monitoring.weeks: expected an integer, got 'abc' (from environment variable MDP_MONITORING__WEEKS)" in both
    )
    assert (
        "timezone: expected an IANA time zone such as Europe/Paris or UTC, got 'Mars/Olympus' (from environment "
        in both
    )
    assert "connectors[1].type: required key is missing" in both
    assert "\n" not in both


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


def test_several_errors_are_one_line_each_named_by_its_key_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        lookback_days: "abc"
        monitoring: [1, 2]
        connectors:
          - name: g
            type: google_ads
            lookback_days: abc
            accounts: {a: 1}
        """,
    )
    assert error_of(path) == (
        f"invalid configuration in {path}: connectors[0].lookback_days: expected an integer, got 'abc'; "
        "connectors[0].accounts: expected a list, got {'a': 1}; monitoring: expected a mapping of keys, got [1, 2]; "
        "lookback_days: unknown key (check the spelling; see the sample pipeline.yaml)"
    )


@pytest.mark.parametrize("key", ["_cli_parse_args: true", "_env_prefix: OTHER_", "_secrets_dir: /etc", "1: 2"])
def test_a_top_level_key_cannot_reconfigure_the_loader(tmp_path: Path, key: str) -> None:
    """pydantic-settings reads `_`-prefixed keyword arguments as its own options; a non-text key is no keyword."""
    path = write(tmp_path, f"timezone: UTC\n{key}\n")
    name = key.split(":")[0]
    assert error_of(path) == (
        f"invalid configuration in {path}: {name}: unknown key (check the spelling; see the sample pipeline.yaml)"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            b"timezone: UTC\nreporting_currency: \xff\xfe\n",
            " at line 2: not UTF-8 text (byte 0xff); save the file as UTF-8",
        ),
        (b"timezone: UTC\n? [a]\n: b\n", " at line 2, column 3: a key must be text, not a list"),
        (b"connectors: [{name: g, ? {a: 1} : 2}]\n", " at line 1, column 26: a key must be text, not a dict"),
        (b"timezone: UTC\nalerts: a\x07b\n", " at line 2, column 10: character #x0007 is not allowed in YAML"),
        (b"timezone: " + b"[" * 3000 + b"]" * 3000 + b"\n", ": nested too deeply to be a configuration"),
    ],
)
def test_a_file_that_is_not_utf8_yaml_text_is_refused_naming_the_line(
    tmp_path: Path, raw: bytes, expected: str
) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_bytes(raw)
    assert error_of(path) == f"invalid configuration in {path}{expected}"


def test_an_unreadable_file_and_an_unknown_home_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert error_of(Path("~no_such_user_mdp/pipeline.yaml")).startswith(
        "configuration file not found: ~no_such_user_mdp/pipeline.yaml ("
    )
    path = write(tmp_path, "warehouse: {type: duckdb, path: ~no_such_user_mdp/wh.duckdb}\n")
    assert error_of(path) == (
        f"invalid configuration in {path}: warehouse.path: '~no_such_user_mdp/wh.duckdb' starts with ~ but names no "
        "user of this machine"
    )

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert error_of(path) == f"cannot read the configuration file {path}: Permission denied"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("MDP_MONITORING", '{"weeks": "abc"}', "monitoring.weeks: expected an integer, got 'abc'"),
        ("mdp_timezone", "Mars", "timezone: expected an IANA time zone such as Europe/Paris or UTC, got 'Mars'"),
        ("MDP_WAREHOUSE__TYPE", "sqlite", "warehouse.type: expected one of 'duckdb', 'bigquery', got 'sqlite'"),
        ("MDP_RECONCILIATION__SPEND", "-1", "reconciliation.spend: expected a number >= 0, got '-1'"),
    ],
)
def test_a_wrong_value_from_an_environment_variable_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    path = write(tmp_path, GOOD)
    assert error_of(path) == (
        f"invalid configuration in environment variable {variable}: {expected} (it overrides {path})"
    )


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("reconciliation: {spend: '１２'}", "reconciliation.spend: expected a number, got '１２'"),
        ("reconciliation: {spend: '٣'}", "reconciliation.spend: expected a number, got '٣'"),
        ("reconciliation: {spend: '1_0'}", "reconciliation.spend: expected a number, got '1_0'"),
        ("reconciliation: {spend: true}", "reconciliation.spend: expected a number, got the boolean true"),
        ("monitoring: {weeks: '1_0'}", "monitoring.weeks: expected an integer, got '1_0'"),
        ("monitoring: {warn_z: '1_0'}", "monitoring.warn_z: expected a number, got '1_0'"),
        (
            "connectors: [{name: g, type: g, chunk_days: '3_1'}]",
            "connectors[0].chunk_days: expected an integer, got '3_1'",
        ),
        (
            "warehouse: {type: duckdb, lock_timeout_seconds: true}",
            "warehouse.lock_timeout_seconds: expected a number, got the boolean true",
        ),
    ],
)
def test_a_number_is_an_ascii_number(tmp_path: Path, snippet: str, expected: str) -> None:
    """Decimal() reads fullwidth and Arabic-Indic digits, int() and float() underscores, and pydantic a boolean
    as 1; the configuration takes none of them."""
    path = write(tmp_path, snippet + "\n")
    assert error_of(path) == f"invalid configuration in {path}: {expected}"


def test_a_number_from_an_environment_variable_is_an_ascii_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MDP_MONITORING__ANOMALY_Z", "1_0")
    path = write(tmp_path, GOOD)
    assert error_of(path) == (
        "invalid configuration in environment variable MDP_MONITORING__ANOMALY_Z: monitoring.anomaly_z: expected a "
        f"number, got '1_0' (it overrides {path})"
    )
    monkeypatch.setenv("MDP_MONITORING__ANOMALY_Z", " 7.5 ")
    assert load_config(path).monitoring.anomaly_z == 7.5
