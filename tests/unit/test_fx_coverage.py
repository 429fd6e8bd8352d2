"""The FX seed's coverage check: days and currencies missing before anything is extracted."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from flows.fx_coverage import FX_SEED, FxCoverageError, check_fx_coverage, seed_days


def write_seed(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    path = tmp_path / "fx.csv"
    path.write_text("date,currency,rate\n" + "".join(f"{d},{c},1.5\n" for d, c in rows))
    return path


def test_a_covered_window_passes_and_gaps_are_named_by_days_and_currencies(tmp_path: Path) -> None:
    days = [f"2024-01-0{n}" for n in range(1, 6)]
    seed = write_seed(tmp_path, [(d, "EUR") for d in days] + [(d, "USD") for d in days if d != "2024-01-03"])
    check_fx_coverage(dt.date(2024, 1, 1), dt.date(2024, 1, 2), "EUR", seed)
    with pytest.raises(FxCoverageError) as info:
        check_fx_coverage(dt.date(2023, 12, 30), dt.date(2024, 1, 4), "eur", seed)
    assert str(info.value).startswith(
        "no FX rate in fx.csv for 2023-12-30..2023-12-31 (EUR); 2023-12-30..2023-12-31, 2024-01-03 (USD); "
        "the seed covers 2024-01-01..2024-01-05"
    )


def test_a_reporting_currency_absent_from_the_seed_is_named(tmp_path: Path) -> None:
    seed = write_seed(tmp_path, [("2024-01-01", "EUR")])
    with pytest.raises(FxCoverageError, match=r"2024-01-01 \(BRL\)"):
        check_fx_coverage(dt.date(2024, 1, 1), dt.date(2024, 1, 1), "BRL", seed)


def test_the_committed_seed_covers_every_currency_from_2020_to_2027() -> None:
    covered = seed_days(FX_SEED)
    assert "EUR" in covered
    assert "USD" in covered
    check_fx_coverage(dt.date(2020, 1, 1), dt.date(2027, 12, 31), "EUR")
