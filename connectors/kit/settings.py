"""Settings rules shared by the connectors' settings models (their pydantic validators call these)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def listed_once(values: Sequence[T], what: str, hint: str = "") -> Sequence[T]:
    """`values` unchanged when none is repeated, else a ValueError naming the repeated ones:
    "<what> listed twice<hint>: [...]" (pydantic prefixes the key)."""
    duplicates = sorted({str(v) for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"{what} listed twice{hint}: {duplicates}")
    return values
