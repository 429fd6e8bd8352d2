"""Currency facts every layer may use: ISO 4217 minor units (decimal places) of each currency."""

from __future__ import annotations

from decimal import Decimal

DEFAULT_EXPONENT = 2
# ISO 4217 currencies whose minor unit is not the hundredth (the rest have two decimals). Funds codes and
# currencies with four decimals (CLF, UYW) are left out: no ad platform bills in them.
EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        (
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}  # fmt: skip


def exponent(currency: str | None) -> int:
    """Decimal places of `currency` (0 for JPY, 3 for KWD, 2 for EUR and for an unknown or missing code)."""
    return EXPONENTS.get((currency or "").strip().upper(), DEFAULT_EXPONENT)


def minor_units(currency: str | None) -> int:
    """Minor units per unit of `currency`: 1 for JPY, 100 for EUR, 1000 for KWD."""
    return int(10 ** exponent(currency))


def quantum(currency: str | None) -> Decimal:
    """The smallest amount of `currency`: Decimal('1') for JPY, Decimal('0.01') for EUR, Decimal('0.001') for KWD."""
    return Decimal(1).scaleb(-exponent(currency))
