"""Account and customer ids are ASCII by construction: every connector refuses fullwidth, superscript and
Arabic-Indic digits, zero-width characters and look-alike letters, naming the key, in the configuration
and again in `extract` and in the `accounts` run parameter, before any API call."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from connectors.registry import build_connector
from flows.windows import ParameterError, resolve_accounts
from mdp.config import config_from_mapping
from mdp.errors import ConfigError, ConnectorError
from mdp.identifiers import ascii_digits, first_non_ascii

FULLWIDTH = "１２３４５６７８９０"
SUPERSCRIPT = "²³"
ARABIC_INDIC = "٠١٢"
ZERO_WIDTH = "123\u200b4567890"
CYRILLIC_ACT = "\u0430\u0441t_123"  # 'асt_123': Cyrillic a and s
NOT_ASCII = [FULLWIDTH, SUPERSCRIPT, ARABIC_INDIC, ZERO_WIDTH, CYRILLIC_ACT, "1234567890\u00a0x"]

GOOGLE = {"type": "google_ads", "credentials": {"developer_token": "env:D", "access_token": "env:T"}}
META = {"type": "meta_ads", "credentials": {"access_token": "env:T"}}
MICROSOFT = {
    "type": "microsoft_ads",
    "customer_id": "123",
    "credentials": {"refresh_token": "env:R", "client_id": "env:C", "developer_token": "env:D"},
}
VALID = {"google_ads": "1234567890", "meta_ads": "act_123", "microsoft_ads": "123"}


def build(section: dict[str, Any], **keys: Any) -> Any:
    config = config_from_mapping({"connectors": [{"name": "c", **section, **keys}]})
    return build_connector(config, config.connectors[0])


def refusal(section: dict[str, Any], **keys: Any) -> str:
    with pytest.raises(ConfigError) as raised:
        build(section, **keys)
    return str(raised.value)


@pytest.mark.parametrize("value", NOT_ASCII)
def test_the_helper_refuses_anything_but_ascii_digits(value: str) -> None:
    with pytest.raises(ValueError, match=r"is not a test id") as raised:
        ascii_digits(value, "a test id")
    assert "\n" not in str(raised.value).replace("\\n", "")
    assert ascii_digits("0123", "a test id") == "0123"


def test_the_first_odd_character_is_named() -> None:
    assert first_non_ascii(FULLWIDTH) == "U+FF11 FULLWIDTH DIGIT ONE at position 0"
    assert first_non_ascii(ZERO_WIDTH) == "U+200B ZERO WIDTH SPACE at position 3"
    assert first_non_ascii(CYRILLIC_ACT) == "U+0430 CYRILLIC SMALL LETTER A at position 0"
    assert first_non_ascii("act_123") is None


@pytest.mark.parametrize(("section", "valid"), [(GOOGLE, "1234567890"), (META, "act_123"), (MICROSOFT, "123")])
@pytest.mark.parametrize("value", NOT_ASCII)
def test_every_connector_refuses_a_non_ascii_account_naming_its_key(
    section: dict[str, Any], valid: str, value: str
) -> None:
    message = refusal(section, accounts=[valid, value])
    (line,) = [line for line in message.splitlines() if "connectors[0].accounts[1]: " in line]
    assert repr(value) in line
    assert "ASCII" in line


@pytest.mark.parametrize("key", ["login_customer_id", "manager_customer_id"])
@pytest.mark.parametrize("value", [FULLWIDTH, ZERO_WIDTH, "123-456-７８９０"])
def test_google_manager_ids_are_ascii(key: str, value: str) -> None:
    message = refusal(GOOGLE, accounts=["1234567890"], **{key: value})
    assert f"connectors[0].{key}: {value!r} is not a 10-digit Google Ads customer id (ASCII digits" in message


@pytest.mark.parametrize("value", [FULLWIDTH, SUPERSCRIPT, ARABIC_INDIC, ZERO_WIDTH])
def test_the_microsoft_customer_id_is_ascii(value: str) -> None:
    message = refusal({**MICROSOFT, "customer_id": value})
    assert f"connectors[0].customer_id: {value!r} is not a Microsoft Advertising CustomerId" in message


def test_valid_ids_still_normalise() -> None:
    assert build(GOOGLE, accounts=["123-456-7890"], login_customer_id="111-222-3333").settings.accounts == [
        "1234567890"
    ]
    assert build(META, accounts=["act_123", "456"]).settings.accounts == ["123", "456"]
    assert build(MICROSOFT, accounts=["0123"]).settings.accounts == ["0123"]


@pytest.mark.parametrize(("section", "valid"), [(GOOGLE, "1234567890"), (META, "act_123"), (MICROSOFT, "123")])
@pytest.mark.parametrize("value", [FULLWIDTH, SUPERSCRIPT, ZERO_WIDTH, CYRILLIC_ACT])
def test_extract_refuses_a_non_ascii_account_before_any_call(section: dict[str, Any], valid: str, value: str) -> None:
    connector = build(section, accounts=[valid])
    stream = connector.selected_streams[0].name
    day = dt.date(2026, 1, 1)
    with pytest.raises(ConnectorError, match="ASCII only") as raised:
        next(iter(connector.extract(stream, value, day, day)))
    assert repr(value) in str(raised.value)


@pytest.mark.parametrize("value", [FULLWIDTH, SUPERSCRIPT, ARABIC_INDIC, ZERO_WIDTH, CYRILLIC_ACT])
@pytest.mark.parametrize("discovering", [True, False])
def test_the_accounts_parameter_is_ascii(value: str, discovering: bool) -> None:
    with pytest.raises(ParameterError, match=r"^accounts: .* is not an account id .*ASCII only") as raised:
        resolve_accounts([value], ["1234567890"], discovering=discovering)
    assert repr(value) in str(raised.value)
    assert resolve_accounts(["123-456-7890"], ["1234567890"], discovering=False) == ["1234567890"]


def test_graph_ids_in_rows_are_ascii_digits() -> None:
    import datetime as dt

    from connectors.base import Account
    from connectors.meta_ads.conversions import ConversionRule
    from connectors.meta_ads.rows import BadRow, parse_row

    day = dt.date(2026, 3, 1)
    row = {"date_start": "2026-03-01", "campaign_id": "１２３", "adset_id": "4", "ad_id": "5"}
    with pytest.raises(BadRow, match="campaign_id '１２３' is not a Graph id"):
        parse_row(row, Account("1"), ConversionRule(), day, day)


def test_microsoft_report_ids_are_ascii_digits() -> None:
    from connectors.microsoft_ads.rows import BadRow, _value

    with pytest.raises(BadRow, match="CampaignId '²³' is not an id"):
        _value("²³", "id", "CampaignId")
