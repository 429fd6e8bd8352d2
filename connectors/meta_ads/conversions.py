"""The Meta conversion rule, defined once: which action types count as conversions and how types that report
the same events (omni / pixel / plain) are kept from being counted twice. Every insights row applies it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from connectors.kit.rows import BadRow
from mdp.numbers import NumberFormatError, parse_decimal

Aggregation = Literal["first_match", "sum"]
AGGREGATIONS: tuple[Aggregation, ...] = ("first_match", "sum")

# Meta reports one purchase under `omni_purchase` (every channel), `purchase` and
# `offsite_conversion.fb_pixel_purchase` (the web pixel): the first of them present on a row counts.
DEFAULT_CONVERSION_ACTION_TYPES: tuple[str, ...] = ("omni_purchase", "purchase", "offsite_conversion.fb_pixel_purchase")
DEFAULT_CONVERSION_AGGREGATION: Aggregation = "first_match"

ACTION_TYPE_PATTERN = re.compile(r"[A-Za-z0-9_.:\-]+")

# How Meta names one standard event in its several reports of it: `omni_<event>`, `offsite_conversion.fb_pixel_
# <event>`, `onsite_web_<event>`, ... and a few irregular names. Types of one family report the same events.
_FAMILY_PREFIXES = (
    "offsite_conversion.fb_pixel_",
    "onsite_web_app_",
    "onsite_web_",
    "onsite_app_",
    "web_app_in_store_",
    "web_in_store_",
    "app_custom_event.fb_mobile_",
    "omni_",
)
_FAMILY_ALIASES = {
    "initiated_checkout": "initiate_checkout",
    "activate_app": "app_activate",
    "app_install": "mobile_app_install",
    "purchase_grouped": "purchase",
    "lead_grouped": "lead",
}

_VALUE_QUANTUM = Decimal("0.000001")
_VALUE_LIMIT = Decimal(10) ** 12  # decimal128(18, 6), the raw money type


def action_family(action_type: str) -> str:
    """The standard event an action type reports: `omni_purchase`, `purchase` and
    `offsite_conversion.fb_pixel_purchase` are all `purchase`; a custom conversion is its own family."""
    name = action_type
    for prefix in _FAMILY_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    if name.startswith("onsite_conversion."):
        name = name[len("onsite_conversion.") :]
    return _FAMILY_ALIASES.get(name, name)


@dataclass(frozen=True)
class ConversionRule:
    """Which action types count as conversions and how they combine on one row.

    `first_match`: the first listed type present on the row counts, alone (for types that report the same
    events, such as omni_purchase / purchase / the pixel purchase). `sum`: every listed type adds up (for types
    that do not overlap, such as lead + purchase; two types of one family are refused).
    Counts (`actions`) and values (`action_values`) are each taken from their own list by the same rule.
    """

    action_types: tuple[str, ...] = DEFAULT_CONVERSION_ACTION_TYPES
    aggregation: Aggregation = DEFAULT_CONVERSION_AGGREGATION

    def __post_init__(self) -> None:
        problem = rule_problem(self.action_types, self.aggregation)
        if problem:
            raise ValueError(problem)

    def total(self, items: Sequence[Mapping[str, Any]] | None, name: str) -> Decimal:
        """The conversions (name `actions`) or conversion value (`action_values`) of one row's list.

        Raises:
            BadRow: a counted entry's value is not a number or is negative.
        """
        present = _by_type(items or (), frozenset(self.action_types))
        if self.aggregation == "first_match":
            for action_type in self.action_types:
                if action_type in present:
                    return _sum(present[action_type], action_type, name)
            return Decimal(0)
        return sum((_sum(present.get(t, ()), t, name) for t in self.action_types), Decimal(0))

    def conversions(self, actions: Sequence[Mapping[str, Any]] | None) -> float:
        """Conversions of a row: a count, fractional when Meta models some (float, like every channel)."""
        return float(self.total(actions, "actions"))

    def conversion_value(self, action_values: Sequence[Mapping[str, Any]] | None) -> Decimal:
        """Conversion value of a row in the account currency: exact, rounded half away from zero to the micro.

        Raises:
            BadRow: the value is out of the raw money type's range, or an entry is malformed.
        """
        value = self.total(action_values, "action_values")
        if value >= _VALUE_LIMIT:
            raise BadRow("out_of_range", f"conversion value ({value})")
        return value.quantize(_VALUE_QUANTUM, rounding=ROUND_HALF_UP)

    def describe(self) -> str:
        joiner = " else " if self.aggregation == "first_match" else " + "
        return f"{self.aggregation}: {joiner.join(self.action_types)}"


def rule_problem(action_types: Sequence[str], aggregation: str) -> str | None:
    """Why `action_types` combined by `aggregation` is not a valid rule (None when it is)."""
    if aggregation not in AGGREGATIONS:
        return f"aggregation must be one of {', '.join(AGGREGATIONS)}, got {aggregation!r}"
    if not action_types:
        return "at least one action type is needed"
    odd = [t for t in action_types if not isinstance(t, str) or not ACTION_TYPE_PATTERN.fullmatch(t)]
    if odd:
        return f"action types may hold only ASCII letters, digits and _ . : - ; got {odd!r}"
    twice = sorted({t for t in action_types if action_types.count(t) > 1})
    if twice:
        return f"action type(s) {twice} listed twice"
    if aggregation == "sum":
        families: dict[str, list[str]] = {}
        for action_type in action_types:
            families.setdefault(action_family(action_type), []).append(action_type)
        overlapping = [types for types in families.values() if len(types) > 1]
        if overlapping:
            return (
                f"{overlapping[0]} report the same {action_family(overlapping[0][0])!r} events: summing them "
                "counts each twice; list them in priority order with conversion_aggregation: first_match"
            )
    return None


def _by_type(items: Sequence[Mapping[str, Any]], wanted: frozenset[str]) -> dict[str, list[Mapping[str, Any]]]:
    """The counted entries by action type (several per type when the row has other action breakdowns)."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        action_type = item.get("action_type")
        if isinstance(action_type, str) and action_type in wanted:
            out.setdefault(action_type, []).append(item)
    return out


def _sum(items: Sequence[Mapping[str, Any]], action_type: str, name: str) -> Decimal:
    total = Decimal(0)
    for item in items:
        label = f"{name}[{action_type}].value"
        raw = item.get("value")
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise BadRow("unparsable", f"{label} ({raw!r})")
        try:
            value = parse_decimal(str(raw))
        except NumberFormatError as error:
            raise BadRow("unparsable", f"{label} ({raw!r})" + (f": {error.detail}" if error.detail else "")) from None
        if value < 0:
            raise BadRow("negative_metric", f"{label} ({value})")
        total += value
    return total
