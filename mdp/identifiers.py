"""Account and customer ids are ASCII by construction: a fullwidth or superscript digit, a zero-width
character or a look-alike letter is refused before it reaches an API, a log or the warehouse."""

from __future__ import annotations

import re
import unicodedata


def first_non_ascii(value: str) -> str | None:
    """The first character outside printable ASCII, described ('U+FF11 FULLWIDTH DIGIT ONE at position 0')."""
    for position, char in enumerate(value):
        if not (" " <= char <= "~"):
            name = unicodedata.name(char, "unnamed character")
            return f"U+{ord(char):04X} {name} at position {position}"
    return None


def ascii_match(value: object, pattern: str, expected: str, *, shown: object = None) -> re.Match[str]:
    """`value` matched in full by `pattern` read with re.ASCII (`\\d` is 0-9 only).

    Raises:
        ValueError: "'１２３' is not <expected> (ASCII only: U+FF11 FULLWIDTH DIGIT ONE at position 0)",
            showing `shown` (the value as given, before any clean-up) when set.
    """
    shown = value if shown is None else shown
    if not isinstance(value, str):
        raise ValueError(f"{shown!r} is not {expected} (expected text)")
    match = re.fullmatch(pattern, value, re.ASCII)
    if match is None:
        odd = first_non_ascii(str(shown))
        raise ValueError(f"{shown!r} is not {expected}" + (f" (ASCII only: {odd})" if odd else ""))
    return match


def ascii_digits(value: object, expected: str, *, length: int | None = None, shown: object = None) -> str:
    """`value` when it is ASCII digits only (exactly `length` of them when given)."""
    pattern = f"[0-9]{{{length}}}" if length else "[0-9]+"
    return ascii_match(value, pattern, expected, shown=shown).group(0)
