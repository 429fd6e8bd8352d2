"""Daily forecasts with prediction intervals for many short series (statsforecast), one model chosen by name.

Pure functions, no Prefect. `statsforecast` is imported inside the functions: importing it costs seconds
(it imports statsmodels.api), which the CLI and the flows that do not forecast should not pay.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

SEASON_LENGTH = 7  # weekly seasonality of daily advertising series
BASELINE = "seasonal_naive"
# Chosen by the backtest (`python -m benchmarks forecast`, docs/benchmarks.md "Forecasts"): on the sandbox's daily
# spend, conversions and conversion value per channel, account and campaign, AutoETS has the lowest MASE at 7 days
# (0.77 of seasonal naive's) with 80% intervals covering 81%, at ~8 ms per series. Theta is within 1% of it and
# ~25% faster; seasonal ES is ~10x faster but its conformal intervals (2 windows) cover only ~62%.
DEFAULT_MODEL = "auto_ets"
CONFORMAL_WINDOWS = 2  # seasonal_es: windows of `horizon` days its conformal intervals are calibrated on
FORECAST_COLUMNS = ("unique_id", "ds", "mean", "lo80", "hi80", "lo95", "hi95", "model")  # with the default levels


def _seasonal_naive(horizon: int) -> Any:
    from statsforecast.models import SeasonalNaive

    return SeasonalNaive(season_length=SEASON_LENGTH)


def _auto_ets(horizon: int) -> Any:
    # Additive error and season, no trend: as accurate as letting AICc choose them ("ZNZ") and twice as fast.
    from statsforecast.models import AutoETS

    return AutoETS(season_length=SEASON_LENGTH, model="ANA")


def _auto_theta(horizon: int) -> Any:
    # The standard Theta model (seasonality tested, then removed): as accurate as AutoTheta here, ~4x faster.
    from statsforecast.models import Theta

    return Theta(season_length=SEASON_LENGTH)


def _seasonal_es(horizon: int) -> Any:
    from statsforecast.models import SeasonalExponentialSmoothingOptimized
    from statsforecast.utils import ConformalIntervals

    return SeasonalExponentialSmoothingOptimized(
        season_length=SEASON_LENGTH, prediction_intervals=ConformalIntervals(h=horizon, n_windows=CONFORMAL_WINDOWS)
    )


# Model name -> factory of a fresh statsforecast model for a horizon (seasonal_es's conformal intervals are
# calibrated on windows as long as the horizon).
MODELS: dict[str, Callable[[int], Any]] = {
    "seasonal_naive": _seasonal_naive,
    "auto_ets": _auto_ets,
    "auto_theta": _auto_theta,
    "seasonal_es": _seasonal_es,
}


def min_history(model: str, horizon: int) -> int:
    """Days a series needs for `model`; shorter series are forecast by seasonal naive instead.

    ETS and Theta estimate a weekly season: two seasons at least (AutoETS "ANA" fails to fit on 10 days).
    Seasonal ES's conformal intervals need `CONFORMAL_WINDOWS` windows of `horizon` days plus one day to train on.
    """
    if model == BASELINE:
        return SEASON_LENGTH
    if model == "seasonal_es":
        return CONFORMAL_WINDOWS * horizon + 1
    return 2 * SEASON_LENGTH


def forecast_frame(history: pd.DataFrame, horizon: int, model: str, levels: Sequence[int] = (80, 95)) -> pd.DataFrame:
    """Forecast `horizon` days after each series' last day.

    `history`: columns unique_id, ds (daily, no gaps: missing days filled with 0 by the caller), y.
    Returns unique_id, ds, mean, lo<level>, hi<level> for each level (all clipped at 0, intervals nested), and
    `model`: the model that made the row. Series that are constant (a zero series forecasts zero), shorter than
    the model needs (`min_history`), or whose forecast comes out non-finite are forecast by seasonal naive.
    Series shorter than one season raise ValueError: nothing weekly can be said about them.
    """
    if model not in MODELS:
        raise ValueError(f"unknown forecast model {model!r}; choose one of {', '.join(MODELS)}")
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 day, got {horizon}")
    missing = {"unique_id", "ds", "y"} - set(history.columns)
    if missing:
        raise ValueError(f"history lacks column(s) {', '.join(sorted(missing))}")
    levels = sorted(set(levels))
    columns = ["unique_id", "ds", "mean", *(f"{side}{level}" for level in levels for side in ("lo", "hi")), "model"]
    if history.empty:
        return pd.DataFrame(columns=columns)
    frame = history[["unique_id", "ds", "y"]].copy()
    frame["ds"] = pd.to_datetime(frame["ds"])
    frame["y"] = frame["y"].astype(float)
    frame = frame.sort_values(["unique_id", "ds"], kind="stable")
    stats = frame.groupby("unique_id", sort=False)["y"].agg(["size", "min", "max"])
    short = stats.index[stats["size"] < SEASON_LENGTH]
    if len(short):
        raise ValueError(
            f"{len(short)} series shorter than {SEASON_LENGTH} days (e.g. {short[0]!r}): nothing to forecast from"
        )
    baseline = (stats["size"] < min_history(model, horizon)) | (stats["min"] == stats["max"])
    if model == BASELINE:
        baseline[:] = True
    parts = []
    fallback_ids = set(stats.index[baseline])
    if not baseline.all():
        chosen = _forecast(frame[~frame["unique_id"].isin(fallback_ids)], horizon, model, levels)
        values = chosen[["mean", *columns[3:-1]]].to_numpy()
        bad = chosen.loc[~np.isfinite(values).all(axis=1), "unique_id"].unique()
        if len(bad):
            logger.info("%s gave non-finite forecasts for %s series: seasonal naive instead", model, len(bad))
            fallback_ids.update(bad)
            chosen = chosen[~chosen["unique_id"].isin(bad)]
        parts.append(chosen)
    if fallback_ids:
        parts.append(_forecast(frame[frame["unique_id"].isin(fallback_ids)], horizon, BASELINE, levels))
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return _tidy(out, levels)[columns]


def _forecast(frame: pd.DataFrame, horizon: int, model: str, levels: Sequence[int]) -> pd.DataFrame:
    """One model over every series of `frame`; if the batch fails, series by series (the failing ones by
    seasonal naive)."""
    try:
        return _statsforecast(frame, horizon, model, levels)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError) as error:
        if model == BASELINE:
            raise
        logger.warning(
            "%s failed on a batch of %s series (%s): series by series", model, frame["unique_id"].nunique(), error
        )
    parts = []
    for unique_id, one in frame.groupby("unique_id", sort=False):
        try:
            parts.append(_statsforecast(one, horizon, model, levels))
        except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError) as error:
            logger.info("%s failed on %s (%s): seasonal naive instead", model, unique_id, error)
            parts.append(_statsforecast(one, horizon, BASELINE, levels))
    return pd.concat(parts, ignore_index=True)


def _statsforecast(frame: pd.DataFrame, horizon: int, model: str, levels: Sequence[int]) -> pd.DataFrame:
    from statsforecast import StatsForecast

    estimator = MODELS[model](horizon)
    with warnings.catch_warnings():
        # Theta's decomposition divides by zero on flat stretches: those forecasts come out NaN and are redone.
        warnings.simplefilter("ignore", RuntimeWarning)
        raw = StatsForecast(models=[estimator], freq="D", n_jobs=1).forecast(df=frame, h=horizon, level=list(levels))
    name = str(estimator)
    renamed = {name: "mean"}
    for level in levels:
        renamed[f"{name}-lo-{level}"] = f"lo{level}"
        renamed[f"{name}-hi-{level}"] = f"hi{level}"
    out = raw.rename(columns=renamed).reset_index(drop=raw.index.name != "unique_id")
    out["model"] = model
    return out


def _tidy(out: pd.DataFrame, levels: Sequence[int]) -> pd.DataFrame:
    """Clip at 0 and nest the intervals: lo95 <= lo80 <= mean <= hi80 <= hi95."""
    out = out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    out["mean"] = out["mean"].clip(lower=0.0)
    inner_lo = inner_hi = out["mean"]
    for level in levels:  # narrowest first
        out[f"lo{level}"] = np.minimum(out[f"lo{level}"].clip(lower=0.0), inner_lo)
        out[f"hi{level}"] = np.maximum(out[f"hi{level}"].clip(lower=0.0), inner_hi)
        inner_lo, inner_hi = out[f"lo{level}"], out[f"hi{level}"]
    return out
