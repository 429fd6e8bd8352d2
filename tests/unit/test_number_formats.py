"""mdp.currency (ISO 4217 minor units) and mdp.numbers (report text -> exact Decimal, thousands separators only where
they group by three)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mdp.currency import exponent, minor_units, quantum
from mdp.numbers import NumberFormatError, parse_decimal


@pytest.mark.parametrize(
    ("currency", "places"),
    [("EUR", 2), ("usd", 2), ("JPY", 0), ("KRW", 0), ("CLP", 0), ("KWD", 3), ("BHD", 3), ("JOD", 3), ("OMR", 3),
     ("TND", 3), ("XYZ", 2), (None, 2)],
)  # fmt: skip
def test_exponents(currency: str | None, places: int) -> None:
    assert exponent(currency) == places
    assert minor_units(currency) == 10**places
    assert quantum(currency) == Decimal(1).scaleb(-places)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12345", Decimal(12345)),
        ("12,345", Decimal(12345)),
        ("1,234,567.89", Decimal("1234567.89")),
        ("123,456,789,012.34", Decimal("123456789012.34")),
        ("0.001", Decimal("0.001")),
        (" 1,000 ", Decimal(1000)),
        ("-1,234.5", Decimal("-1234.5")),
        ("1e-05", Decimal("0.00001")),
        (".5", Decimal("0.5")),
    ],
)
def test_numbers_are_read_exactly(text: str, value: Decimal) -> None:
    parsed = parse_decimal(text)
    assert parsed == value
    assert isinstance(parsed, Decimal)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1,23", "misplaced thousands separator"),
        ("12,34,5", "misplaced thousands separator"),
        ("1.234,56", "misplaced thousands separator"),
        ("1,234.5,6", "misplaced thousands separator"),
        ("1234,567", "misplaced thousands separator"),
        (",123", "misplaced thousands separator"),
        ("1,234.", "misplaced thousands separator"),
        ("NaN", "is not a number"),
        ("Infinity", "is not a number"),
        ("1_000", "is not a number"),
        ("\u0661\u0662", "is not a number"),
        ("", "is not a number"),
        ("n/a", "is not a number"),
    ],
)
def test_ambiguous_or_malformed_numbers_raise(text: str, reason: str) -> None:
    with pytest.raises(NumberFormatError, match=reason) as raised:
        parse_decimal(text)
    assert repr(text) in str(raised.value)
