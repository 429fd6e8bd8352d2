"""flows.forecasting (output shape, intervals, fallbacks) and the backtest's scoring (benchmarks.forecast_backtest)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from benchmarks.forecast_backtest import backtest, mase, mase_scale, origin_dates, recommended, summarise
from flows.forecasting import BASELINE, DEFAULT_MODEL, MODELS, forecast_frame, min_history

WEEK = np.array([1.0, 1.06, 1.04, 1.0, 0.93, 0.78, 0.84])


def weekly(unique_id: str, days: int, level: float = 100.0, seed: int = 0, start: str = "2026-01-05") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range(start, periods=days, freq="D")
    return pd.DataFrame(
        {"unique_id": unique_id, "ds": ds, "y": level * WEEK[ds.dayofweek] * rng.lognormal(0, 0.1, days)}
    )


def flat(unique_id: str, days: int, value: float) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": unique_id, "ds": pd.date_range("2026-01-05", periods=days), "y": value})


def test_mase_on_a_hand_computed_example() -> None:
    insample = np.array([1, 2, 3, 4, 5, 6, 7, 3, 2, 3, 4, 5, 6, 9], dtype=float)
    # seasonal differences (m=7): |3-1|, |2-2|, |3-3|, |4-4|, |5-5|, |6-6|, |9-7| -> mean 4/7
    assert mase_scale(insample) == pytest.approx(4 / 7)
    # errors 1 and 3 -> mean 2, over 4/7 -> 3.5
    assert mase(np.array([10.0, 10.0]), np.array([9.0, 13.0]), insample) == pytest.approx(3.5)
    assert np.isnan(mase(np.array([1.0]), np.array([1.0]), np.full(14, 5.0)))  # constant history: no scale


def test_origins_are_a_week_apart_and_leave_the_horizon_scored() -> None:
    assert origin_dates(date(2026, 3, 31), 3, horizon=30) == [date(2026, 2, 15), date(2026, 2, 22), date(2026, 3, 1)]


@pytest.mark.parametrize("model", list(MODELS))
def test_forecast_frame_shape_columns_and_nested_intervals(model: str) -> None:
    history = pd.concat([weekly("a", 70, seed=1), weekly("b", 70, level=5.0, seed=2)])
    out = forecast_frame(history, 30, model)
    assert list(out.columns) == ["unique_id", "ds", "mean", "lo80", "hi80", "lo95", "hi95", "model"]
    assert len(out) == 60
    for unique_id, rows in out.groupby("unique_id"):
        last = history.loc[history["unique_id"] == unique_id, "ds"].max()
        assert list(rows["ds"]) == list(pd.date_range(last + pd.Timedelta(days=1), periods=30))
    values = out[["lo95", "lo80", "mean", "hi80", "hi95"]].to_numpy()
    assert np.isfinite(values).all()
    assert (values >= 0).all()
    assert (np.diff(values, axis=1) >= 0).all()
    assert set(out["model"]) == {model}


def test_zero_and_constant_series_forecast_themselves() -> None:
    history = pd.concat([flat("zero", 40, 0.0), flat("five", 40, 5.0), weekly("w", 40)])
    out = forecast_frame(history, 7, DEFAULT_MODEL).set_index("unique_id")
    zero = out.loc["zero", ["mean", "lo80", "hi80", "lo95", "hi95"]].to_numpy()
    assert (zero == 0).all()
    assert (out.loc["five", "mean"] == 5.0).all()
    assert set(out.loc[["zero", "five"], "model"]) == {BASELINE}
    assert set(out.loc["w", "model"]) == {DEFAULT_MODEL}


def test_short_series_fall_back_to_seasonal_naive_and_say_so() -> None:
    history = pd.concat([weekly("short", 10), weekly("long", 70)])
    out = forecast_frame(history, 30, "seasonal_es").groupby("unique_id")["model"].first()
    assert min_history("seasonal_es", 30) == 61
    assert out.to_dict() == {"long": "seasonal_es", "short": BASELINE}
    out = forecast_frame(history, 30, "auto_ets").groupby("unique_id")["model"].first()
    assert out.to_dict() == {"long": "auto_ets", "short": BASELINE}


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="unknown forecast model 'prophet'"):
        forecast_frame(weekly("a", 30), 7, "prophet")
    with pytest.raises(ValueError, match="shorter than 7 days"):
        forecast_frame(weekly("a", 5), 7, BASELINE)
    with pytest.raises(ValueError, match="lacks column"):
        forecast_frame(weekly("a", 30).drop(columns="y"), 7, BASELINE)
    assert forecast_frame(weekly("a", 0), 7, BASELINE).empty


def test_a_small_backtest_scores_every_model_on_every_horizon() -> None:
    frames = []
    for k, unique_id in enumerate(("spend|google_ads", "conversions|google_ads")):
        frame = weekly(unique_id, 60, level=100.0 / (k + 1), seed=k)
        frame["metric"], frame["grain"] = unique_id.split("|")[0], "channel"
        frames.append(frame)
    result = backtest(pd.concat(frames), [BASELINE, "seasonal_es"], origins=2, horizon=7, history_days=40)
    assert set(result.points.groupby("model")["h"].nunique()) == {7}
    assert len(result.points) == 2 * 2 * 2 * 7  # models x series x origins x horizons
    summary = summarise(result)
    assert summary[BASELINE]["mase_h7_ratio"] == pytest.approx(1.0)
    assert summary[BASELINE]["fits"] == 4
    for stats in summary.values():
        assert 0.0 <= stats["coverage_all"]["80"] <= stats["coverage_all"]["95"] <= 1.0
        assert stats["mase"]["7"] > 0
    assert recommended(summary) in {None, "seasonal_es"}
