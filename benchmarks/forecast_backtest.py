"""Forecast backtest: rolling-origin accuracy (MASE against seasonal naive, interval coverage per horizon) and
speed of each candidate model of `flows.forecasting`, on the sandbox's daily spend, conversions and conversion
value per channel, account and campaign."""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import MachineLoad, Section, machine_load, table
from flows.forecasting import BASELINE, DEFAULT_MODEL, MODELS, SEASON_LENGTH, forecast_frame
from mdp.config import ForecastSettings

logger = logging.getLogger(__name__)

AS_OF = date(2026, 11, 29)  # the last day of the sandbox history the backtest reads (fixed: reproducible figures)
DAYS = 150  # history length ending at AS_OF
HORIZON = 30
ORIGINS = 8  # one origin every 7 days, the last one HORIZON days before AS_OF so every horizon is scored
ORIGIN_STEP = 7
HISTORY_DAYS = ForecastSettings().history_days  # as the forecast step: at most this many days before an origin
REPORT_HORIZONS = (1, 7, 14, 30)
BUCKETS = ((1, 7), (8, 14), (15, 30))
METRICS = ("spend", "conversions", "conversion_value")
GRAINS = ("channel", "account", "campaign")
MASE_TARGET = 0.85  # MASE at 7 days at least 15% below seasonal naive's
COVERAGE_TARGET = (0.75, 0.85)  # of the 80% intervals
SETTLED_AFTER_DAYS = 31  # conversions are read this long after AS_OF: past every attribution window
BUSY_LOAD_PER_CORE = 0.5


@dataclass(frozen=True)
class Backtest:
    """Per forecast point (model, series, origin, horizon): its scaled error and whether the intervals held y."""

    points: pd.DataFrame  # model, unique_id, metric, grain, origin, h, y, mean, scaled_error, in80, in95
    seconds: dict[str, float]  # model -> seconds in forecast_frame over every origin
    fits: dict[str, int]  # model -> series x origins forecast
    fallback_share: dict[str, float]  # model -> share of rows seasonal naive made instead


def run(
    accounts: int = 3,
    models: Sequence[str] = tuple(MODELS),
    origins: int = ORIGINS,
    days: int = DAYS,
    seed: int = 42,
) -> Section:
    began = time.perf_counter()
    series = sandbox_series(accounts, days, AS_OF, seed=seed)
    build_seconds = time.perf_counter() - began
    logger.info(
        "forecast backtest: %s series x %s days built in %.1fs", series["unique_id"].nunique(), days, build_seconds
    )
    import_seconds = _import_seconds()
    with machine_load() as load:
        result = backtest(series, models, origins=origins)
    summary = summarise(result)
    data: dict[str, Any] = {
        "as_of": AS_OF.isoformat(),
        "days": days,
        "accounts_per_channel": accounts,
        "series": int(series["unique_id"].nunique()),
        "origins": origins,
        "horizon": HORIZON,
        "statsforecast_import_seconds": import_seconds,
        "series_build_seconds": build_seconds,
        "default_model": DEFAULT_MODEL,
        "models": summary,
        "machine_load": load.as_dict(),
    }
    return Section("Forecasts", _markdown(data, load), data)


def _import_seconds() -> float:
    """The cold import the first forecast of a process pays (0 when something imported it already)."""
    began = time.perf_counter()
    import statsforecast.models  # noqa: F401
    from statsforecast import StatsForecast  # noqa: F401

    return time.perf_counter() - began


def sandbox_series(accounts: int, days: int, as_of: date, seed: int = 42) -> pd.DataFrame:
    """Daily settled truth of the sandbox: unique_id ('metric|grain key'), metric, grain, ds, y.

    Campaign and account series are in account currency; channel series add accounts up in EUR at the sandbox's
    own currency scale. Days without delivery are 0.
    """
    from sandbox.data import _CURRENCY_SCALE, CHANNELS, SyntheticData
    from sandbox.truth import Truth, record_conversions

    data = SyntheticData(seed, *(accounts,) * len(CHANNELS))
    truth = Truth(data)
    settled = as_of + timedelta(days=SETTLED_AFTER_DAYS)
    first = as_of - timedelta(days=days - 1)
    dates = pd.date_range(first, as_of, freq="D")
    values: dict[tuple[str, str, str], np.ndarray] = {}

    def add(metric: str, grain: str, key: str, index: int, value: float) -> None:
        row = values.get((metric, grain, key))
        if row is None:
            row = values[(metric, grain, key)] = np.zeros(days)
        row[index] += value

    for channel in CHANNELS:
        for account in truth.accounts(channel):
            to_eur = 1.0 / _CURRENCY_SCALE.get(account.currency, 1.0)
            for campaign in data.structure(channel, account.account_id).campaigns:  # every campaign has a series
                for metric in METRICS:
                    add(metric, "campaign", f"{channel}/{account.account_id}/{campaign.campaign_id}", 0, 0.0)
            for index in range(days):
                day = first + timedelta(days=index)
                for record in truth.records(channel, account.account_id, day, settled, apply_faults=False):
                    conversions, value = record_conversions(record, ("purchase",))
                    figures = {
                        "spend": record.cost_micros / 1e6,
                        "conversions": float(conversions),
                        "conversion_value": float(value),
                    }
                    for metric, figure in figures.items():
                        add(metric, "campaign", f"{channel}/{account.account_id}/{record.campaign_id}", index, figure)
                        add(metric, "account", f"{channel}/{account.account_id}", index, figure)
                        add(metric, "channel", channel, index, figure * (1.0 if metric == "conversions" else to_eur))
    frames = [
        pd.DataFrame({"unique_id": f"{metric}|{key}", "metric": metric, "grain": grain, "ds": dates, "y": row})
        for (metric, grain, key), row in values.items()
    ]
    return pd.concat(frames, ignore_index=True)


def origin_dates(last_day: date, origins: int, horizon: int = HORIZON, step: int = ORIGIN_STEP) -> list[date]:
    """Forecast origins (the last day a forecast sees), oldest first, the newest `horizon` days before `last_day`."""
    newest = last_day - timedelta(days=horizon)
    return [newest - timedelta(days=step * k) for k in reversed(range(origins))]


def mase_scale(insample: np.ndarray, season: int = SEASON_LENGTH) -> float:
    """Mean absolute error of the in-sample seasonal naive forecast (y_t - y_{t-season}): MASE's denominator."""
    if insample.size <= season:
        return float("nan")
    return float(np.mean(np.abs(insample[season:] - insample[:-season])))


def mase(actual: np.ndarray, forecast: np.ndarray, insample: np.ndarray, season: int = SEASON_LENGTH) -> float:
    """Mean absolute scaled error of a forecast (Hyndman & Koehler 2006); NaN when the scale is 0."""
    scale = mase_scale(insample, season)
    if not scale > 0:
        return float("nan")
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(forecast)))) / scale


def backtest(
    series: pd.DataFrame,
    models: Sequence[str],
    origins: int = ORIGINS,
    horizon: int = HORIZON,
    history_days: int = HISTORY_DAYS,
) -> Backtest:
    """Rolling origin: at each origin every model forecasts `horizon` days from at most `history_days` days.

    `series`: unique_id, metric, grain, ds, y. Series whose history is constant (MASE's scale 0) are forecast but
    left out of the scores.
    """
    last_day = series["ds"].max().date()
    labels = series.drop_duplicates("unique_id").set_index("unique_id")[["metric", "grain"]]
    points: list[pd.DataFrame] = []
    seconds: dict[str, float] = defaultdict(float)
    fits: dict[str, int] = defaultdict(int)
    fallback_rows: dict[str, int] = defaultdict(int)
    rows: dict[str, int] = defaultdict(int)
    for origin in origin_dates(last_day, origins, horizon):
        cut = pd.Timestamp(origin)
        train = series[(series["ds"] <= cut) & (series["ds"] > cut - pd.Timedelta(days=history_days))]
        actual = series[(series["ds"] > cut) & (series["ds"] <= cut + pd.Timedelta(days=horizon))]
        scales = train.groupby("unique_id")["y"].apply(lambda y: mase_scale(y.to_numpy())).rename("scale")
        history = train[["unique_id", "ds", "y"]]
        for model in models:
            began = time.perf_counter()
            forecast = forecast_frame(history, horizon, model)
            seconds[model] += time.perf_counter() - began
            fits[model] += history["unique_id"].nunique()
            rows[model] += len(forecast)
            fallback_rows[model] += int((forecast["model"] != model).sum())
            scored = forecast.merge(actual[["unique_id", "ds", "y"]], on=["unique_id", "ds"]).join(scales, "unique_id")
            scored = scored[scored["scale"] > 0]
            points.append(
                pd.DataFrame(
                    {
                        "model": model,
                        "unique_id": scored["unique_id"],
                        "origin": origin,
                        "h": (scored["ds"] - cut).dt.days,
                        "y": scored["y"],
                        "mean": scored["mean"],
                        "scaled_error": (scored["y"] - scored["mean"]).abs() / scored["scale"],
                        "in80": (scored["lo80"] <= scored["y"]) & (scored["y"] <= scored["hi80"]),
                        "in95": (scored["lo95"] <= scored["y"]) & (scored["y"] <= scored["hi95"]),
                    }
                )
            )
        logger.info("forecast backtest: origin %s done", origin)
    frame = pd.concat(points, ignore_index=True).join(labels, on="unique_id")
    return Backtest(
        frame,
        dict(seconds),
        dict(fits),
        {m: fallback_rows[m] / rows[m] if rows[m] else 0.0 for m in models},
    )


def summarise(result: Backtest) -> dict[str, dict[str, Any]]:
    """Per model: MASE at the report horizons, its ratio to seasonal naive, coverage per bucket, speed, verdicts."""
    points = result.points
    out: dict[str, dict[str, Any]] = {}
    for model, group in points.groupby("model", sort=False):
        by_h = group.groupby("h")["scaled_error"].mean()
        coverage = {}
        for low, high in BUCKETS:
            bucket = group[(group["h"] >= low) & (group["h"] <= high)]
            coverage[f"{low}-{high}"] = {"80": float(bucket["in80"].mean()), "95": float(bucket["in95"].mean())}
        by_metric = {
            metric: float(part.loc[part["h"] == 7, "scaled_error"].mean()) for metric, part in group.groupby("metric")
        }
        by_grain = {
            grain: float(part.loc[part["h"] == 7, "scaled_error"].mean()) for grain, part in group.groupby("grain")
        }
        out[str(model)] = {
            "mase": {str(h): float(by_h.get(h, float("nan"))) for h in REPORT_HORIZONS},
            "mase_mean_1_to_30": float(group["scaled_error"].mean()),
            "mase_h7_by_metric": by_metric,
            "mase_h7_by_grain": by_grain,
            "coverage": coverage,
            "coverage_all": {"80": float(group["in80"].mean()), "95": float(group["in95"].mean())},
            "seconds_per_series": result.seconds[str(model)] / max(1, result.fits[str(model)]),
            "fits": result.fits[str(model)],
            "fallback_share": result.fallback_share[str(model)],
            "points": len(group),
        }
    base = out.get(BASELINE)
    for stats in out.values():
        ratio = stats["mase"]["7"] / base["mase"]["7"] if base else float("nan")
        stats["mase_h7_ratio"] = ratio
        stats["mase_h7_ratio_by_metric"] = {
            metric: value / base["mase_h7_by_metric"][metric] if base else float("nan")
            for metric, value in stats["mase_h7_by_metric"].items()
        }
        low, high = COVERAGE_TARGET
        stats["verdict_mase"] = bool(ratio <= MASE_TARGET)
        stats["verdict_coverage"] = bool(low <= stats["coverage_all"]["80"] <= high)
    return out


def recommended(summary: dict[str, dict[str, Any]]) -> str | None:
    """The most accurate model at 7 days among those meeting both targets (None when none does)."""
    passing = [m for m, s in summary.items() if m != BASELINE and s["verdict_mase"] and s["verdict_coverage"]]
    return min(passing, key=lambda m: summary[m]["mase"]["7"]) if passing else None


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}%"


def _num(x: float, digits: int = 3) -> str:
    return "n/a" if x != x else f"{x:.{digits}f}"


def _markdown(data: dict[str, Any], load: MachineLoad) -> str:
    summary: dict[str, dict[str, Any]] = data["models"]
    low, high = COVERAGE_TARGET
    accuracy = table(
        ["model", *(f"MASE h={h}" for h in REPORT_HORIZONS), "MASE h=1..30", "h=7 vs seasonal naive", "verdict"],
        [
            [
                f"`{m}`",
                *(_num(s["mase"][str(h)]) for h in REPORT_HORIZONS),
                _num(s["mase_mean_1_to_30"]),
                _num(s["mase_h7_ratio"], 2),
                "baseline" if m == BASELINE else ("met" if s["verdict_mase"] else "**missed**"),
            ]
            for m, s in summary.items()
        ],
    )
    coverage = table(
        [
            "model",
            *(f"80% h={lo}-{hi}" for lo, hi in BUCKETS),
            "80% all",
            *(f"95% h={lo}-{hi}" for lo, hi in BUCKETS),
            "95% all",
            "verdict (80% in 75-85%)",
        ],
        [
            [
                f"`{m}`",
                *(_pct(s["coverage"][f"{lo}-{hi}"]["80"]) for lo, hi in BUCKETS),
                _pct(s["coverage_all"]["80"]),
                *(_pct(s["coverage"][f"{lo}-{hi}"]["95"]) for lo, hi in BUCKETS),
                _pct(s["coverage_all"]["95"]),
                "met" if s["verdict_coverage"] else "**missed**",
            ]
            for m, s in summary.items()
        ],
    )
    breakdown = table(
        ["model", *(f"h=7 vs naive: {metric}" for metric in METRICS), *(f"MASE h=7: {g}" for g in GRAINS)],
        [
            [
                f"`{m}`",
                *(_num(s["mase_h7_ratio_by_metric"].get(metric, float("nan")), 2) for metric in METRICS),
                *(_num(s["mase_h7_by_grain"].get(g, float("nan"))) for g in GRAINS),
            ]
            for m, s in summary.items()
        ],
    )
    speed = table(
        ["model", "ms per series (fit + forecast)", "series x origins", "rows by seasonal naive instead"],
        [
            [f"`{m}`", _num(1000 * s["seconds_per_series"], 2), f"{s['fits']:,}", _pct(s["fallback_share"])]
            for m, s in summary.items()
        ],
    )
    best = recommended(summary)
    cores = os.cpu_count() or 1
    state = "**busy**" if load.others_cores >= BUSY_LOAD_PER_CORE * cores else "quiet"
    load_text = "/".join(f"{x:.2f}" for x in load.before) if load.before else "n/a"
    choice = (
        f"Model meeting both targets with the lowest MASE at 7 days in this run: **`{best}`**"
        if best
        else "No model met both targets in this run"
    )
    agree = "" if best is None or best == DEFAULT_MODEL else " (it differs from the default: see the text below)"
    return f"""Sandbox: {data["accounts_per_channel"]} accounts per channel x 5 channels, {data["series"]} daily series
(spend, conversions, conversion value per channel, account and campaign; settled conversions), {data["days"]} days
ending {data["as_of"]}; {data["origins"]} origins every {ORIGIN_STEP} days, the newest {data["horizon"]} days before the
end, each forecasting days 1..{data["horizon"]} from at most {HISTORY_DAYS} days of history. MASE: absolute error at
horizon h over the in-sample seasonal naive MAE (m = {SEASON_LENGTH}), averaged over series x origins (series with a
constant history left out). Targets: MASE at h=7 <= {MASE_TARGET:.2f} x seasonal naive's; 80% intervals covering
{low:.0%}-{high:.0%} (all horizons).

{accuracy}

{coverage}

{breakdown}

{speed}

{choice}; `DEFAULT_MODEL` in flows/forecasting.py is `{DEFAULT_MODEL}`{agree}. Importing statsforecast took
{data["statsforecast_import_seconds"]:.1f} s (once per process, not in the per-series figures). Machine ({cores} cores):
load average {load_text} before the run, other processes {load.others_cores:.2f} cores on average over its
{load.wall:.0f} s: {state}.

Public daily series: none ships with an installed package. statsmodels.datasets holds co2 (weekly), elnino, sunspots,
nile (monthly or yearly), macrodata (quarterly) and cross-sections; nothing is downloaded, so the backtest runs on
the sandbox only.
"""
