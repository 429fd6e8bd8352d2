"""Write seeds/fx_rates_daily.csv: deterministic placeholder daily FX rates, 2020-01-01..2027-12-31.

`rate` is the number of units of `currency` per 1 EUR (the ECB reference-rate convention; EUR = 1).
Values are plausible (a level near the 2024 average plus smooth seasonal waves), not market data;
see transformations/DECISIONLOG.md for swapping in a real FX source.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import sys
from pathlib import Path

SEED = Path(__file__).resolve().parents[1] / "seeds" / "fx_rates_daily.csv"
START, END = dt.date(2020, 1, 1), dt.date(2027, 12, 31)
# The waves are anchored here, so extending START leaves the rates of later days unchanged.
ANCHOR = dt.date(2024, 1, 1)
# currency: (units per EUR around 2024, decimals)
LEVELS: dict[str, tuple[float, int]] = {
    "EUR": (1.0, 6),
    "USD": (1.0820, 6),
    "GBP": (0.8466, 6),
    "CHF": (0.9526, 6),
    "JPY": (163.85, 4),
    "SEK": (11.433, 6),
    "DKK": (7.4589, 6),
    "PLN": (4.3058, 6),
    "CAD": (1.4821, 6),
    "AUD": (1.6397, 6),
    "KWD": (0.3329, 6),
}


def rate(currency: str, day: dt.date) -> float:
    """A smooth, deterministic rate: the level times a yearly and a monthly wave (within +-4%)."""
    level, decimals = LEVELS[currency]
    if currency == "EUR":
        return 1.0
    t = (day - ANCHOR).days
    phase = sum(ord(c) for c in currency) / 7.0
    factor = 1 + 0.03 * math.sin(2 * math.pi * t / 365.25 + phase) + 0.01 * math.sin(2 * math.pi * t / 29.5 + 2 * phase)
    return round(level * factor, decimals)


def rows() -> list[tuple[str, str, str]]:
    out = []
    day = START
    while day <= END:
        for currency in LEVELS:
            out.append((day.isoformat(), currency, repr(rate(currency, day))))
        day += dt.timedelta(days=1)
    return out


def main() -> int:
    SEED.parent.mkdir(parents=True, exist_ok=True)
    with SEED.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("date", "currency", "rate"))
        writer.writerows(rows())
    sys.stdout.write(f"wrote {SEED}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
