"""Meta amounts in every currency precision: spend and values of zero-decimal (JPY, KRW, CLP) and three-decimal
(KWD) accounts and large amounts are exact Decimals, thousands separators are read but never guessed at, and budgets
in minor units divide by the right offset (1, 100 or 1000)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import Account
from connectors.kit.rows import BadRow, to_table
from connectors.meta_ads.conversions import ConversionRule
from connectors.meta_ads.rows import parse_row
from connectors.meta_ads.schema import AD_INSIGHTS
from connectors.meta_ads.settings import currency_offset
from connectors.meta_ads.snapshots import budget

DAY = dt.date(2025, 3, 3)
PURCHASE = ConversionRule(("purchase",))


def insights(currency: str, **values: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "account_id": "123",
        "account_currency": currency,
        "campaign_id": "11",
        "adset_id": "22",
        "ad_id": "33",
        "impressions": "1000",
        "clicks": "25",
        "spend": "0",
        "date_start": DAY.isoformat(),
        "date_stop": DAY.isoformat(),
    }
    return raw | values


def parse(currency: str, **values: Any) -> dict[str, Any]:
    account = Account("123", f"Shop {currency}", currency, "UTC")
    return parse_row(insights(currency, **values), account, PURCHASE, DAY, DAY)


@pytest.mark.parametrize(
    ("currency", "spend", "expected"),
    [
        ("JPY", "123456", Decimal(123456)),
        ("KRW", "123456789012", Decimal(123456789012)),
        ("CLP", "1,234,567", Decimal(1234567)),
        ("KWD", "1234.567", Decimal("1234.567")),
        ("BHD", "0.001", Decimal("0.001")),
        ("KRW", "123,456,789,012.34", Decimal("123456789012.34")),
        ("EUR", "999999999999.999999", Decimal("999999999999.999999")),
    ],
)
def test_spend_keeps_the_currencys_precision_exactly(currency: str, spend: str, expected: Decimal) -> None:
    record = parse(currency, spend=spend)
    assert record["spend"] == expected
    assert to_table([record], AD_INSIGHTS).column("spend").to_pylist() == [expected]


def test_counts_and_action_values_read_thousands_separators() -> None:
    record = parse(
        "JPY",
        impressions="1,234,567",
        clicks="12,345",
        actions=[{"action_type": "purchase", "value": "1,234"}],
        action_values=[{"action_type": "purchase", "value": "12,345"}],
    )
    assert (record["impressions"], record["clicks"]) == (1_234_567, 12_345)
    assert (record["conversions"], record["conversion_value"]) == (1234, 12345)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"impressions": "1,23"}, "unparsable:impressions ('1,23'): misplaced thousands separator"),
        ({"clicks": "12,34,5"}, "unparsable:clicks ('12,34,5'): misplaced thousands separator"),
        ({"spend": "1.234,56"}, "unparsable:spend ('1.234,56'): misplaced thousands separator"),
        ({"spend": "NaN"}, "unparsable:spend ('NaN')"),
        ({"spend": "-1,000"}, "negative_cost:spend (-1,000)"),
        ({"spend": "1,000,000,000,000"}, "out_of_range:spend (1,000,000,000,000)"),
    ],
)
def test_malformed_numbers_are_rejected_naming_field_and_value(values: dict[str, Any], reason: str) -> None:
    with pytest.raises(BadRow) as raised:
        parse("JPY", **values)
    assert str(raised.value) == reason


@pytest.mark.parametrize(
    ("currency", "offset"),
    [("EUR", 100), ("USD", 100), ("JPY", 1), ("KRW", 1), ("CLP", 1), ("huf", 1), ("XOF", 1)]
    + [(c, 1000) for c in ("KWD", "BHD", "JOD", "OMR", "TND")],
)
def test_currency_offsets(currency: str, offset: int) -> None:
    assert currency_offset(currency) == offset


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [("5000", "JPY", Decimal(5000)), ("12345", "KWD", Decimal("12.345")), ("1", "BHD", Decimal("0.001"))],
)
def test_budgets_in_minor_units_keep_every_digit(value: str, currency: str, expected: Decimal) -> None:
    assert budget(value, currency) == expected
