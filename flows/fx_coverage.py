"""Which days the FX seed covers, checked before a run extracts anything (dbt would fail after loading)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from mdp.errors import ConfigError
from mdp.paths import TRANSFORMATIONS_DIR

FX_SEED = TRANSFORMATIONS_DIR / "seeds" / "fx_rates_daily.csv"


class FxCoverageError(ConfigError):
    """The FX seed has no rate for some days a run would load; the message names days and currencies."""


@lru_cache(maxsize=4)
def seed_days(path: Path = FX_SEED) -> dict[str, frozenset[dt.date]]:
    """The days with a rate, per currency (upper case), in the seed file."""
    days: dict[str, set[dt.date]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            days.setdefault(row["currency"].strip().upper(), set()).add(dt.date.fromisoformat(row["date"]))
    return {currency: frozenset(found) for currency, found in days.items()}


def day_ranges(days: Iterable[dt.date]) -> str:
    """'2019-12-01..2019-12-31, 2020-02-29' for a set of days."""
    ordered = sorted(days)
    parts: list[str] = []
    start = previous = ordered[0]
    for day in [*ordered[1:], None]:
        if day is not None and day - previous == dt.timedelta(days=1):
            previous = day
            continue
        parts.append(str(start) if start == previous else f"{start}..{previous}")
        if day is not None:
            start = previous = day
    return ", ".join(parts)


def check_fx_coverage(start: dt.date, end: dt.date, reporting_currency: str, path: Path = FX_SEED) -> None:
    """Fail before any extraction when the seed lacks a rate for a day in [start, end].

    Every currency of the seed must cover the window (account currencies are known only after
    extraction), and so must the reporting currency. An account in the reporting currency needs no rate.

    Raises:
        FxCoverageError: naming the missing days and currencies.
    """
    covered = seed_days(path)
    window = {start + dt.timedelta(days=n) for n in range((end - start).days + 1)}
    missing: dict[str, set[dt.date]] = {}
    for currency in sorted({*covered, reporting_currency.upper()}):
        gap = window - covered.get(currency, frozenset())
        if gap:
            missing[currency] = gap
    if not missing:
        return
    by_days: dict[str, list[str]] = {}
    for currency, gap in missing.items():
        by_days.setdefault(day_ranges(gap), []).append(currency)
    described = "; ".join(f"{days} ({', '.join(currencies)})" for days, currencies in by_days.items())
    first = min(min(days) for days in covered.values()) if covered else None
    last = max(max(days) for days in covered.values()) if covered else None
    raise FxCoverageError(
        f"no FX rate in {path.name} for {described}; the seed covers {first}..{last}: add those rates "
        "(transformations/scripts/make_fx_seed.py writes placeholders) or load later days"
    )
