"""Run parameters: windows, chunks and every parameter error message."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from flows.windows import ParameterError, RunParameters, check_names, chunks, resolve_window

TODAY = dt.date(2026, 11, 24)


def window(lookback: int = 14, **params: object) -> tuple[dt.date, dt.date]:
    return resolve_window(RunParameters(**params), TODAY, lookback)  # type: ignore[arg-type]


def test_default_window_is_the_lookback_up_to_yesterday() -> None:
    assert window(14) == (dt.date(2026, 11, 10), dt.date(2026, 11, 23))
    assert window(14, lookback_days=3) == (dt.date(2026, 11, 21), dt.date(2026, 11, 23))
    assert window(0) == (dt.date(2026, 11, 23), dt.date(2026, 11, 23))
    assert window(2, run_date=dt.date(2026, 1, 1)) == (dt.date(2025, 12, 30), dt.date(2025, 12, 31))


def test_explicit_range_is_a_rerun_or_backfill() -> None:
    start, end = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    assert window(start_date=start, end_date=end) == (start, end)
    assert window(start_date=start) == (start, dt.date(2026, 11, 23))
    with pytest.raises(ParameterError, match="is today, which is not over yet"):
        window(start_date=TODAY, end_date=TODAY)
    with pytest.raises(ParameterError, match="more than 1,130"):
        window(start_date=dt.date(2020, 1, 1))
    assert window(start_date=dt.date(2020, 1, 1), allow_long_range=True)[0] == dt.date(2020, 1, 1)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"start_date": dt.date(2026, 5, 2), "end_date": dt.date(2026, 5, 1)},
            "end_date 2026-05-01 is before start_date 2026-05-02",
        ),
        ({"end_date": dt.date(2026, 5, 1)}, "start_date is required when end_date is given"),
        (
            {"start_date": dt.date(2026, 11, 20), "end_date": dt.date(2026, 11, 25)},
            "end_date 2026-11-25 is in the future (today is 2026-11-24",
        ),
        ({"run_date": dt.date(2026, 12, 1)}, "run_date 2026-12-01 is in the future"),
        ({"start_date": dt.date(2026, 12, 1)}, "end_date 2026-11-23 is before start_date 2026-12-01"),
    ],
)
def test_parameter_errors_name_the_parameter(params: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError) as info:
        window(**params)
    assert message in str(info.value)


def test_lookback_out_of_range_is_refused_by_the_model() -> None:
    with pytest.raises(ValueError, match="lookback_days"):
        RunParameters(lookback_days=-1)


def test_chunks_cover_the_range_without_overlap() -> None:
    start, end = dt.date(2026, 1, 1), dt.date(2026, 3, 15)
    parts = list(chunks(start, end, 31))
    assert parts[0] == (start, dt.date(2026, 1, 31))
    assert parts[-1][1] == end
    assert all(b[0] - a[1] == dt.timedelta(days=1) for a, b in itertools.pairwise(parts))
    assert sum((e - s).days + 1 for s, e in parts) == (end - start).days + 1
    assert list(chunks(start, start, 7)) == [(start, start)]


def test_check_names_lists_unknown_and_known() -> None:
    check_names("connectors", None, ["a"])
    with pytest.raises(ParameterError, match=r"connectors: unknown \['bing'\]; known: \['google_ads', 'meta_ads'\]"):
        check_names("connectors", ["bing", "meta_ads"], ["meta_ads", "google_ads"])
