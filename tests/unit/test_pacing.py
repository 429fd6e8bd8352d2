"""Pacing arithmetic of the forecast step (flows/forecast.py) on hand-built series: no model, no warehouse."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from flows.forecast import BANDS, METRICS, GrainForecast, Series, pace_inputs, pacing_rows, verdict
from mdp.config import config_from_mapping
from mdp.targets import load_targets

AS_OF = dt.date(2026, 12, 10)  # 10 days of December elapsed, 21 left
NOW = dt.datetime(2026, 12, 11, tzinfo=dt.UTC)


def _series(grain: str, key: tuple[str, ...], daily: float, days: int = 40, **extra: Any) -> Series:
    first = AS_OF - dt.timedelta(days=days - 1)
    values = {m: [daily] * days for m in METRICS}
    values["conversion_value"] = [daily * 2] * days
    account = key[1] if len(key) > 1 else None
    campaign = key[2] if len(key) > 2 else None
    return Series(grain, key[0], account, campaign, campaign and f"Campaign {campaign}", first, values, **extra)


def _forecast(series: Series, daily: float, half_width: float = 10.0) -> GrainForecast:
    horizon = 30
    days = [AS_OF + dt.timedelta(days=h) for h in range(1, horizon + 1)]
    figures = {}
    for metric in METRICS:
        mean = daily * (2 if metric == "conversion_value" else 1)
        figures[metric] = {"mean": [mean] * horizon}
        for band in BANDS:
            width = half_width * (1.0 if band.endswith("80") else 1.5)
            figures[metric][band] = [mean - width if band.startswith("lo") else mean + width] * horizon
    return GrainForecast(series, "forecast", "auto_ets", days, figures)


def _config(tmp_path: Path, targets: list[dict[str, Any]]) -> Any:
    source = tmp_path / "pipeline.yaml"
    source.write_text("{}", encoding="utf-8")
    connectors = [{"name": "google_ads", "type": "google_ads", "accounts": ["1"]}]
    return config_from_mapping(
        {"reporting_currency": "EUR", "connectors": connectors, "pacing": {"targets": targets}}, source
    )


def test_the_month_paced_is_the_one_of_the_day_after_as_of() -> None:
    assert pace_inputs(AS_OF).__dict__ == {
        "month": dt.date(2026, 12, 1),
        "days_elapsed": 10,
        "days_in_month": 31,
        "remaining": 21,
    }
    # the last day of a month: the next month starts with nothing elapsed
    assert pace_inputs(dt.date(2026, 11, 30)).__dict__ == {
        "month": dt.date(2026, 12, 1),
        "days_elapsed": 0,
        "days_in_month": 31,
        "remaining": 31,
    }


@pytest.mark.parametrize(
    ("ratio", "metric", "expected"),
    [
        (1.2, "spend", ("over", True)),
        (1.2, "conversions", ("over", False)),  # more results than the target: welcome
        (0.5, "conversions", ("under", True)),
        (0.5, "spend", ("under", True)),
        (1.0, "roas", ("on_track", False)),
        (None, "spend", ("insufficient_history", False)),
    ],
)
def test_verdicts(ratio: float | None, metric: str, expected: tuple[str, bool]) -> None:
    assert verdict(ratio, metric, 1.1, 0.9) == expected


def test_a_channel_target_projects_month_to_date_plus_the_forecast_with_intervals(tmp_path: Path) -> None:
    config = _config(tmp_path, [{"channel": "google_ads", "metric": "spend", "value": 3100, "currency": "EUR"}])
    channel = _series("channel", ("google_ads",), 100.0)
    (row,) = pacing_rows(config, load_targets(config), [channel], [_forecast(channel, 100.0)], AS_OF, "r1", NOW)
    assert row["mtd_actual"] == Decimal("1000")  # 10 days x 100
    assert row["projected"] == Decimal("3100")  # + 21 forecast days x 100
    assert row["expected_to_date"] == Decimal("1000")  # 3100 x 10/31
    # 21 days of +-10 combined as independent errors: sqrt(21) x 10
    assert row["projected_hi80"] == Decimal("3145.825757")
    assert row["projected_lo80"] == Decimal("3054.174243")
    assert (
        row["projected_lo95"] < row["projected_lo80"] < row["projected"] < row["projected_hi80"] < row["projected_hi95"]
    )
    assert row["pacing_ratio"] == pytest.approx(1.0)
    assert (row["verdict"], row["off_pace"], row["currency"], row["basis"]) == ("on_track", False, "EUR", "target")


def test_roas_is_a_ratio_of_projected_sums(tmp_path: Path) -> None:
    config = _config(tmp_path, [{"channel": "google_ads", "metric": "roas", "value": 4}])
    channel = _series("channel", ("google_ads",), 100.0)
    (row,) = pacing_rows(config, load_targets(config), [channel], [_forecast(channel, 100.0)], AS_OF, "r1", NOW)
    assert row["mtd_actual"] == Decimal("2")
    assert row["projected"] == Decimal("2")
    assert (row["verdict"], row["off_pace"], row["currency"]) == ("under", True, None)


def test_a_grain_with_too_little_history_is_marked_not_guessed(tmp_path: Path) -> None:
    config = _config(tmp_path, [{"channel": "google_ads", "metric": "conversions", "value": 10}])
    channel = _series("channel", ("google_ads",), 1.0, days=5)
    short = GrainForecast(channel, "insufficient_history", "auto_ets", [], {})
    (row,) = pacing_rows(config, load_targets(config), [channel], [short], AS_OF, "r1", NOW)
    assert row["projected"] is None
    assert row["pacing_ratio"] is None
    assert (row["verdict"], row["off_pace"]) == ("insufficient_history", False)
    assert row["mtd_actual"] == Decimal("5")


def test_a_campaign_overspending_its_daily_budget_is_off_pace(tmp_path: Path) -> None:
    config = _config(tmp_path, [])
    steady = _series("campaign", ("google_ads", "1", "10"), 50.0, budgets=[50.0] * 40, latest_budget=50.0)
    over = _series("campaign", ("google_ads", "1", "11"), 90.0, budgets=[50.0] * 40, latest_budget=50.0)
    paused = _series("campaign", ("google_ads", "1", "12"), 90.0, budgets=[50.0] * 40, latest_budget=50.0)
    paused.paused = True
    rows = pacing_rows(
        config, [], [steady, over, paused], [_forecast(steady, 50.0), _forecast(over, 90.0)], AS_OF, "r1", NOW
    )
    by_key = {r["grain_key"]: r for r in rows}
    assert set(by_key) == {"google_ads/1/10", "google_ads/1/11"}  # a paused campaign is not paced on its budget
    assert by_key["google_ads/1/10"]["target"] == Decimal("1550")  # 31 days x 50
    assert by_key["google_ads/1/10"]["verdict"] == "on_track"
    assert by_key["google_ads/1/11"]["basis"] == "daily_budget"
    assert by_key["google_ads/1/11"]["pacing_ratio"] == pytest.approx(1.8)
    assert (by_key["google_ads/1/11"]["verdict"], by_key["google_ads/1/11"]["off_pace"]) == ("over", True)


def test_the_readers_test_marts_have_the_columns_the_flow_writes() -> None:
    import duckdb

    from flows.forecast import FORECAST_DAILY, PACING_MONTHLY
    from tests.pacing_marts import FORECAST_DDL, PACING_DDL

    con = duckdb.connect()
    con.execute(FORECAST_DDL + PACING_DDL)
    for spec in (FORECAST_DAILY, PACING_MONTHLY):
        columns = [row[0] for row in con.execute(f"DESCRIBE {spec.name}").fetchall()]
        assert columns == spec.schema.names
