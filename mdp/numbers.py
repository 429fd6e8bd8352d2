"""Numbers written as text by the platforms' reports, read exactly: plain ("12345.67") or with comma thousands
separators ("12,345.67", what Microsoft's FormatVersion 1.0 writes), never a misplaced or ambiguous separator."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# Plain decimal notation, an exponent allowed ("12345.67", "-3", "1e-05"): ASCII digits only, no NaN or Infinity.
_PLAIN = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
# Comma groups of exactly three digits after a first group of one to three: "1,234", "12,345,678.9".
_GROUPED = re.compile(r"[-+]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")


class NumberFormatError(ValueError):
    """The text is not a number, or carries separators that cannot be read without guessing (`detail` says which
    when it is the separators; empty otherwise)."""

    def __init__(self, text: str, detail: str = "") -> None:
        super().__init__(f"{text!r} is not a number" + (f" ({detail})" if detail else ""))
        self.detail = detail


def parse_decimal(text: str) -> Decimal:
    """The exact, finite value of `text`; comma thousands separators are accepted only where they group digits
    by three before the decimal point ("1,234,567.89"); "1,23", "12,34,5" or "1.234,56" raise.

    Raises:
        NumberFormatError: naming the text and why ("'1,23' is not a number (misplaced thousands separator)").
    """
    raw = text.strip()
    if "," in raw:
        if not _GROUPED.fullmatch(raw):
            raise NumberFormatError(text, "misplaced thousands separator")
        raw = raw.replace(",", "")
    elif not _PLAIN.fullmatch(raw):
        raise NumberFormatError(text)
    try:
        return Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the patterns admit only what Decimal reads
        raise NumberFormatError(text) from None
