"""Breakdowns of the sandbox's truth: a leaf record split across segments (country, device, keyword ...)
so that the segments' metrics add up exactly to the record they came from, as the real APIs' additive
metrics do. Non-additive metrics (Meta reach) are split too, and documented as not summing in reality."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sandbox.data import DailyRecord
from sandbox.hashing import rng_for

_CENT = 10_000  # micros per cent: money is split in whole cents


def split_integer(total: int, weights: Sequence[float]) -> list[int]:
    """`total` cut into len(weights) non-negative parts proportional to `weights`, summing exactly to it
    (largest remainder). Zero weights get zero unless every weight is zero (then the first gets all)."""
    if not weights:
        raise ValueError("no segments to split into")
    if total < 0:
        raise ValueError(f"cannot split a negative total {total}")
    whole = float(sum(weights))
    if whole <= 0:
        return [total, *([0] * (len(weights) - 1))]
    exact = [total * w / whole for w in weights]
    parts = [int(x) for x in exact]
    rest = total - sum(parts)
    for index in sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))[:rest]:
        parts[index] += 1
    return parts


def segment_weights(segments: Sequence[str], spread: float, *key: object) -> list[float]:
    """Deterministic, slightly varying weights of `segments` for one (entity, day) `key`: the i-th segment's
    base weight decays by `spread` (0 < spread <= 1), then each is jittered by up to +-20%."""
    rng = rng_for("segments", *key)
    return [spread**i * rng.uniform(0.8, 1.2) for i in range(len(segments))]


def split_record(record: DailyRecord, weights: Sequence[float], unit: int = _CENT) -> list[DailyRecord]:
    """One record per weight whose metrics sum exactly to `record`'s; clicks never exceed impressions.

    Money splits in whole `unit`s of micros (the account currency's minor unit: data.money_unit_micros; cents by
    default), Google conversions in hundredths, Meta actions per action type.
    """
    n = len(weights)
    impressions = split_integer(record.impressions, weights)
    clicks = _capped(split_integer(record.clicks, weights), impressions)
    cost = [c * unit for c in split_integer(record.cost_micros // unit, weights)]
    conversions = split_integer(record.conversions_centi, weights)
    values = [v * unit for v in split_integer(record.conversions_value_micros // unit, weights)]
    view_through = split_integer(record.view_through_conversions, weights)
    reach = split_integer(record.reach, weights)
    actions = {t: split_integer(count, weights) for t, count in record.actions}
    action_values = {t: [v * unit for v in split_integer(m // unit, weights)] for t, m in record.action_value_micros}
    return [
        replace(
            record,
            impressions=impressions[i],
            clicks=clicks[i],
            cost_micros=cost[i],
            conversions_centi=conversions[i],
            conversions_value_micros=values[i],
            view_through_conversions=view_through[i],
            reach=reach[i],
            actions=tuple((t, parts[i]) for t, parts in actions.items() if parts[i] > 0),
            action_value_micros=tuple((t, parts[i]) for t, parts in action_values.items() if parts[i] > 0),
        )
        for i in range(n)
    ]


def _capped(clicks: list[int], impressions: list[int]) -> list[int]:
    """Move clicks from segments with more clicks than impressions to segments with room (total kept)."""
    out = list(clicks)
    excess = 0
    for i, (c, imp) in enumerate(zip(out, impressions, strict=True)):
        if c > imp:
            excess += c - imp
            out[i] = imp
    for i, imp in enumerate(impressions):
        if excess == 0:
            break
        room = min(imp - out[i], excess)
        out[i] += room
        excess -= room
    return out
