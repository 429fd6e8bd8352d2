"""The `forecast_pacing` flow: where spend, conversions and conversion value will land by month end.

After dbt, it reads the campaign mart (money in the reporting currency) and the campaign history (status and
daily budgets as of each day), forecasts every channel, account and campaign series to the month's end (and at
least `forecast.horizon_days` ahead) with prediction intervals (flows/forecasting.py), and paces the month
against the targets (mdp/targets.py) and the campaigns' daily budgets. It writes marts.forecast_daily and
marts.pacing_monthly (a run replaces the rows of its as_of day), publishes an artifact and sends one Slack
message listing the grains off pace, worst first.

Honesty rules: a grain with fewer than `forecast.min_history_days` days since its first delivery is marked
insufficient_history with no numbers (never guessed); a campaign paused in its latest snapshot forecasts zero
(status paused); a campaign's spend with a daily budget on every day of its history is forecast as the share
of its budget it spends, times its latest budget, so a budget change in the snapshots moves the forecast.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import math
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa
from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.logging import get_run_logger
from prefect.runtime import flow_run

from flows.notify import notify_flow_failure
from mdp.config import ForecastSettings, PipelineConfig, Target, load_config
from mdp.errors import MDPError
from mdp.schema import TableSpec
from mdp.targets import load_targets, targets_for_month
from warehouse import Warehouse, from_config
from warehouse.base import LoadContext, Scope, sql_table, table_exists

logger = logging.getLogger(__name__)

FORECAST_CONTEXT = "forecast_pacing"
METRICS = ("spend", "conversions", "conversion_value")
MONEY = frozenset({"spend", "conversion_value"})
BANDS = ("lo80", "hi80", "lo95", "hi95")
# Campaign statuses (any channel's word, lower case) that mean "delivers nothing from now on".
STOPPED = frozenset({"paused", "disable", "disabled", "removed", "deleted", "archived", "ended", "canceled"})
CAMPAIGN_MART = "marts.mart_campaign_performance_daily"
CAMPAIGN_HISTORY = "marts.dim_campaign_history"
FX_RATES = "staging.stg_fx__rates_daily"

_MONEY = pa.decimal128(38, 6)
_GRAIN_COLUMNS: dict[str, tuple[pa.DataType, bool, str]] = {
    "grain": (pa.string(), False, "channel, account or campaign"),
    "grain_key": (pa.string(), False, "channel[/account_id[/campaign_id]]: one key per series"),
    "channel": (pa.string(), False, "the channel (connector type)"),
    "account_id": (pa.string(), True, "the account (account and campaign grains)"),
    "campaign_id": (pa.string(), True, "the campaign (campaign grain)"),
    "campaign_name": (pa.string(), True, "the campaign's latest name"),
}
FORECAST_COLUMNS: dict[str, tuple[pa.DataType, bool, str]] = {
    "as_of": (pa.date32(), False, "the last day of actuals the forecast saw"),
    "date_day": (pa.date32(), False, "the forecast day"),
    "horizon": (pa.int32(), False, "days after as_of (1 = the next day)"),
    **_GRAIN_COLUMNS,
    "currency": (pa.string(), False, "the reporting currency: every money column is in it"),
    **{
        f"{metric}{suffix}": (_MONEY if metric in MONEY else pa.float64(), True, f"{metric} {label}")
        for metric in METRICS
        for suffix, label in (
            ("", "forecast (mean)"),
            ("_lo80", "80% interval, low"),
            ("_hi80", "80% interval, high"),
            ("_lo95", "95% interval, low"),
            ("_hi95", "95% interval, high"),
        )
    },
    "status": (pa.string(), False, "forecast, insufficient_history (no numbers) or paused (zero)"),
    "history_days": (pa.int32(), False, "days from the grain's first delivery to as_of"),
    "model": (pa.string(), False, "the model that forecast (spend may add +budget)"),
    "run_id": (pa.string(), False, "the pipeline run"),
    "generated_at": (pa.timestamp("us", tz="UTC"), False, "when the forecast ran"),
}
PACING_COLUMNS: dict[str, tuple[pa.DataType, bool, str]] = {
    "as_of": (pa.date32(), False, "the last day of actuals"),
    "month": (pa.date32(), False, "the month paced (its first day)"),
    "days_elapsed": (pa.int32(), False, "days of the month up to as_of"),
    "days_in_month": (pa.int32(), False, "days in the month"),
    **_GRAIN_COLUMNS,
    "metric": (pa.string(), False, "spend, conversions, conversion_value or roas"),
    "basis": (pa.string(), False, "target (pipeline.yaml / targets CSV) or daily_budget (campaign history)"),
    "currency": (pa.string(), True, "money metrics: the reporting currency"),
    "target": (_MONEY, False, "the month's target, or the sum of the daily budgets over the month"),
    "mtd_actual": (_MONEY, False, "month to date (roas: value / spend)"),
    "expected_to_date": (_MONEY, False, "target x elapsed share of the month, or the budgets of the elapsed days"),
    "projected": (_MONEY, True, "month to date + forecast to the month's end"),
    "projected_lo80": (_MONEY, True, "projected, 80% interval low"),
    "projected_hi80": (_MONEY, True, "projected, 80% interval high"),
    "projected_lo95": (_MONEY, True, "projected, 95% interval low"),
    "projected_hi95": (_MONEY, True, "projected, 95% interval high"),
    "pacing_ratio": (pa.float64(), True, "projected / target"),
    "verdict": (pa.string(), False, "on_track, over, under or insufficient_history"),
    "off_pace": (pa.bool_(), False, "spend over or under; conversions, value and roas under"),
    "model": (pa.string(), False, "the forecasting model"),
    "run_id": (pa.string(), False, "the pipeline run"),
    "generated_at": (pa.timestamp("us", tz="UTC"), False, "when pacing ran"),
}


def _spec(name: str, columns: dict[str, tuple[pa.DataType, bool, str]], description: str) -> TableSpec:
    return TableSpec(
        name=name,
        schema=pa.schema([pa.field(n, t, nullable=null) for n, (t, null, _) in columns.items()]),
        account_column="channel",
        date_column="as_of",
        cluster_by=("channel", "grain"),
        description=description,
        column_docs={n: doc for n, (_, _, doc) in columns.items()},
    )


FORECAST_DAILY = _spec(
    "marts.forecast_daily",
    FORECAST_COLUMNS,
    "Daily forecasts of spend, conversions and conversion value per channel, account and campaign, with 80% and "
    "95% intervals: one row per grain x future day; a run replaces the rows of its (channel, as_of).",
)
PACING_MONTHLY = _spec(
    "marts.pacing_monthly",
    PACING_COLUMNS,
    "Month pacing against targets and daily budgets: one row per grain x metric x basis; a run replaces the "
    "rows of its (channel, as_of).",
)


class ForecastError(MDPError):
    """The forecast step cannot run (no marts yet, unknown ids in the targets)."""


@dataclass
class Series:
    """One grain's daily history (dense, oldest first) and what the snapshots say about it."""

    grain: str
    channel: str
    account_id: str | None
    campaign_id: str | None
    campaign_name: str | None
    first_day: dt.date
    values: dict[str, list[float]]  # metric -> one value per day from first_day to as_of
    budgets: list[float | None] = field(default_factory=list)  # daily budget (reporting currency) per day
    latest_budget: float | None = None
    paused: bool = False

    @property
    def key(self) -> str:
        return "/".join(p for p in (self.channel, self.account_id, self.campaign_id) if p)


@dataclass
class ForecastResult:
    """What a forecast run did (returned by the flow, used by the daily flow, the CLI and tests)."""

    run_id: str
    as_of: dt.date | None
    month: dt.date | None
    model: str
    series: int = 0
    insufficient: int = 0
    paused: int = 0
    pacing_rows: int = 0
    off_pace: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    alerted: bool = False

    def summary(self) -> str:
        if self.as_of is None:
            return "no data to forecast"
        return (
            f"{self.series} series to {self.month:%Y-%m} ({self.model}), {self.insufficient} insufficient history, "
            f"{self.paused} paused; {self.pacing_rows} pacing row(s), {len(self.off_pace)} off pace"
        )


def warm_up() -> threading.Thread:
    """Import the forecasting library in a background thread (it costs seconds: statsforecast imports
    statsmodels), so the daily flow pays it while ingest waits on the APIs rather than after dbt."""

    def load() -> None:
        try:
            import statsforecast.models  # noqa: F401
        except Exception:  # the forecast step imports it again and fails there, loudly
            logger.debug("warming up statsforecast failed", exc_info=True)

    thread = threading.Thread(target=load, name="forecast-warm-up", daemon=True)
    thread.start()
    return thread


def forecast_run_name() -> str:
    run_id = flow_run.get_parameters().get("run_id")
    return f"forecast-{run_id or dt.datetime.now(dt.UTC).date()}"


def _date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def latest_day(warehouse: Warehouse, as_of: dt.date | None) -> dt.date | None:
    """The last day of actuals in the campaign mart (at most `as_of`)."""
    table = sql_table(warehouse, CAMPAIGN_MART)
    if as_of is None:
        rows = warehouse.query(f"SELECT MAX(date_day) FROM {table}")
    else:
        rows = warehouse.query(f"SELECT MAX(date_day) FROM {table} WHERE date_day <= ?", [as_of])
    return _date(rows[0][0]) if rows and rows[0][0] is not None else None


def _fx_rates(warehouse: Warehouse, reporting: str, as_of: dt.date) -> dict[str, float]:
    """Reporting-currency units per unit of each currency, on the latest rate day up to as_of."""
    if not table_exists(warehouse, FX_RATES):
        return {reporting: 1.0}
    table = sql_table(warehouse, FX_RATES)
    rows = warehouse.query(
        f"SELECT currency, units_per_eur FROM {table} WHERE date_day = "
        f"(SELECT MAX(date_day) FROM {table} WHERE date_day <= ?)",
        [as_of],
    )
    per_eur = {str(c): float(u) for c, u in rows if u}
    if reporting not in per_eur:
        return {reporting: 1.0}
    return {c: per_eur[reporting] / u for c, u in per_eur.items()}


def read_series(
    warehouse: Warehouse, config: PipelineConfig, settings: ForecastSettings, as_of: dt.date
) -> list[Series]:
    """Every grain's dense daily history over the last `history_days` days up to as_of."""
    start = as_of - dt.timedelta(days=settings.history_days - 1)
    rows = warehouse.query(
        "SELECT date_day, channel, account_id, campaign_id, MAX(campaign_name), "
        "SUM(COALESCE(spend_reporting, 0)), SUM(COALESCE(conversions, 0)), "
        "SUM(COALESCE(conversion_value_reporting, 0)) "
        f"FROM {sql_table(warehouse, CAMPAIGN_MART)} WHERE date_day BETWEEN ? AND ? "
        "GROUP BY date_day, channel, account_id, campaign_id",
        [start, as_of],
    )
    per: dict[tuple[str, ...], dict[dt.date, list[float]]] = defaultdict(dict)
    names: dict[tuple[str, ...], str] = {}
    for day, channel, account, campaign, name, spend, conversions, value in rows:
        day = _date(day)
        figures = [float(spend or 0), float(conversions or 0), float(value or 0)]
        keys: list[tuple[str, ...]] = []
        if "campaign" in settings.grains:
            keys.append((str(channel), str(account), str(campaign)))
            names[keys[-1]] = str(name) if name is not None else str(campaign)
        if "account" in settings.grains:
            keys.append((str(channel), str(account)))
        if "channel" in settings.grains:
            keys.append((str(channel),))
        for key in keys:
            slot = per[key].setdefault(day, [0.0, 0.0, 0.0])
            for i, figure in enumerate(figures):
                slot[i] += figure
    states = _campaign_states(warehouse, config, start, as_of) if "campaign" in settings.grains else {}
    out: list[Series] = []
    for key, days in sorted(per.items()):
        delivering = [d for d, figures in days.items() if figures[0] > 0 or figures[1] > 0 or figures[2] > 0]
        first = min(delivering) if delivering else min(days)
        span = [first + dt.timedelta(days=i) for i in range((as_of - first).days + 1)]
        values = {m: [days.get(d, [0.0, 0.0, 0.0])[i] for d in span] for i, m in enumerate(METRICS)}
        grain = ("channel", "account", "campaign")[len(key) - 1]
        series = Series(
            grain,
            key[0],
            key[1] if len(key) > 1 else None,
            key[2] if len(key) > 2 else None,
            names.get(key),
            first,
            values,
        )
        if grain == "campaign" and key in states:
            state = states[key]
            series.paused = state.paused
            series.budgets = [state.budget_on(d) for d in span]
            series.latest_budget = state.budget_on(as_of)
        out.append(series)
    return out


@dataclass
class CampaignState:
    """A campaign's versions from dim_campaign_history: status and daily budget (reporting currency)."""

    versions: list[tuple[dt.date, dt.date | None, str, float | None]]  # valid_from, valid_to, status, budget

    def version_on(self, day: dt.date) -> tuple[dt.date, dt.date | None, str, float | None]:
        """The version valid on `day`; before the first snapshot, the earliest one (the best known)."""
        for version in self.versions:
            if version[0] <= day and (version[1] is None or day < version[1]):
                return version
        return self.versions[0] if day < self.versions[0][0] else self.versions[-1]

    def budget_on(self, day: dt.date) -> float | None:
        return self.version_on(day)[3]

    @property
    def paused(self) -> bool:
        return self.versions[-1][2].lower() in STOPPED


def _campaign_states(
    warehouse: Warehouse, config: PipelineConfig, start: dt.date, as_of: dt.date
) -> dict[tuple[str, ...], CampaignState]:
    if not table_exists(warehouse, CAMPAIGN_HISTORY):
        return {}
    rates = _fx_rates(warehouse, config.reporting_currency, as_of)
    currencies = dict(
        ((str(ch), str(acc)), str(cur))
        for ch, acc, cur in warehouse.query(
            f"SELECT DISTINCT channel, account_id, account_currency FROM {sql_table(warehouse, CAMPAIGN_MART)} "
            "WHERE date_day BETWEEN ? AND ?",
            [start, as_of],
        )
    )
    rows = warehouse.query(
        "SELECT channel, account_id, campaign_id, valid_from, valid_to, campaign_status, budget_amount, budget_period "
        f"FROM {sql_table(warehouse, CAMPAIGN_HISTORY)} WHERE valid_from <= ? ORDER BY valid_from",
        [as_of],
    )
    states: dict[tuple[str, ...], CampaignState] = {}
    for channel, account, campaign, valid_from, valid_to, status, budget, period in rows:
        key = (str(channel), str(account), str(campaign))
        rate = rates.get(currencies.get(key[:2], ""), None)
        daily = (
            float(budget) * rate
            if budget is not None and rate is not None and str(period or "").upper().startswith("DAILY")
            else None
        )
        version = (_date(valid_from), _date(valid_to) if valid_to is not None else None, str(status or ""), daily)
        states.setdefault(key, CampaignState([])).versions.append(version)
    return states


@dataclass
class GrainForecast:
    series: Series
    status: str
    model: str
    days: list[dt.date]
    figures: dict[str, dict[str, list[float]]]  # metric -> band ("mean", "lo80", ...) -> per day


def forecast_all(series: list[Series], as_of: dt.date, horizon: int, settings: ForecastSettings) -> list[GrainForecast]:
    """Forecast every series with enough history; mark the rest."""
    from flows.forecasting import DEFAULT_MODEL, forecast_frame

    model = DEFAULT_MODEL if settings.model == "default" else settings.model
    days = [as_of + dt.timedelta(days=h) for h in range(1, horizon + 1)]
    results: list[GrainForecast] = []
    frames: dict[str, list[tuple[str, list[float]]]] = defaultdict(list)
    budget_scale: dict[str, float] = {}
    by_index: dict[int, GrainForecast] = {}
    for index, s in enumerate(series):
        history_days = len(s.values["spend"])
        if s.paused:
            zero = {m: {b: [0.0] * horizon for b in ("mean", *BANDS)} for m in METRICS}
            results.append(GrainForecast(s, "paused", "paused", days, zero))
            continue
        if history_days < settings.min_history_days:
            results.append(GrainForecast(s, "insufficient_history", model, days, {}))
            continue
        by_index[index] = GrainForecast(s, "forecast", model, days, {})
        results.append(by_index[index])
        for metric in METRICS:
            y = s.values[metric]
            if metric == "spend" and s.latest_budget and s.budgets and all(b is not None and b > 0 for b in s.budgets):
                y = [v / b for v, b in zip(y, s.budgets, strict=True) if b]
                budget_scale[f"{index}"] = s.latest_budget
            frames[metric].append((f"{index}", y))
    import pandas as pd

    for metric, items in frames.items():
        if not items:
            continue
        ids, ds, ys = [], [], []
        for uid, y in items:
            first = as_of - dt.timedelta(days=len(y) - 1)
            ids += [uid] * len(y)
            ds += [first + dt.timedelta(days=i) for i in range(len(y))]
            ys += y
        history = pd.DataFrame({"unique_id": ids, "ds": pd.to_datetime(ds), "y": ys})
        out = forecast_frame(history, horizon, model)
        for uid, group in out.groupby("unique_id", sort=False):
            target = by_index[int(str(uid))]
            scale = budget_scale.get(str(uid), 1.0) if metric == "spend" else 1.0
            group = group.sort_values("ds")
            target.figures[metric] = {
                band: [max(0.0, float(v)) * scale for v in group[band].tolist()[:horizon]] for band in ("mean", *BANDS)
            }
            if metric == "spend" and str(uid) in budget_scale:
                target.model = f"{model}+budget"
            if "model" in group.columns and metric == "spend":
                used = str(group["model"].iloc[0])
                if used and used != model:
                    target.model = used
    return results


def _money(value: float | None) -> Decimal | None:
    if value is None or not math.isfinite(value):
        return None
    return Decimal(repr(round(value, 6))).quantize(Decimal("0.000001"))


def forecast_rows(
    forecasts: list[GrainForecast], as_of: dt.date, currency: str, run_id: str, now: dt.datetime
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for f in forecasts:
        s = f.series
        for h, day in enumerate(f.days, start=1):
            row: dict[str, Any] = {
                "as_of": as_of,
                "date_day": day,
                "horizon": h,
                "grain": s.grain,
                "grain_key": s.key,
                "channel": s.channel,
                "account_id": s.account_id,
                "campaign_id": s.campaign_id,
                "campaign_name": s.campaign_name,
                "currency": currency,
                "status": f.status,
                "history_days": len(s.values["spend"]),
                "model": f.model,
                "run_id": run_id,
                "generated_at": now,
            }
            for metric in METRICS:
                bands = f.figures.get(metric)
                for band in ("mean", *BANDS):
                    column = metric if band == "mean" else f"{metric}_{band}"
                    value = bands[band][h - 1] if bands else None
                    row[column] = _money(value) if metric in MONEY else value
            rows.append(row)
    return rows


@dataclass
class PaceInputs:
    month: dt.date
    days_elapsed: int
    days_in_month: int
    remaining: int  # forecast days to the month's end


def pace_inputs(as_of: dt.date) -> PaceInputs:
    """The month containing the day after as_of (the run's 'today'), its elapsed days and those left."""
    today = as_of + dt.timedelta(days=1)
    month = today.replace(day=1)
    days_in_month = calendar.monthrange(month.year, month.month)[1]
    elapsed = (today - month).days
    return PaceInputs(month, elapsed, days_in_month, days_in_month - elapsed)


def _projection(
    mtd: float, forecast: GrainForecast | None, metric: str, remaining: int
) -> dict[str, float | None] | None:
    """Month-end projection of a metric: month to date plus the forecast's remaining days, with intervals
    (the daily half-widths combined as independent errors: sqrt of the sum of squares)."""
    if remaining == 0:
        return {"projected": mtd, **{b: mtd for b in BANDS}}
    if forecast is None or forecast.status == "insufficient_history" or metric not in forecast.figures:
        return None
    bands = forecast.figures[metric]
    mean = sum(bands["mean"][:remaining])
    out: dict[str, float | None] = {"projected": mtd + mean}
    for level in ("80", "95"):
        means, lows, highs = bands["mean"][:remaining], bands[f"lo{level}"][:remaining], bands[f"hi{level}"][:remaining]
        low = math.sqrt(sum((m - lo) ** 2 for m, lo in zip(means, lows, strict=True)))
        high = math.sqrt(sum((hi - m) ** 2 for m, hi in zip(means, highs, strict=True)))
        out[f"lo{level}"] = max(mtd, mtd + mean - low)
        out[f"hi{level}"] = mtd + mean + high
    return out


def verdict(ratio: float | None, metric: str, over: float, under: float) -> tuple[str, bool]:
    """(verdict, off_pace): spend is off pace over or under; results only under (more is welcome)."""
    if ratio is None:
        return "insufficient_history", False
    if ratio > over:
        return "over", metric == "spend"
    if ratio < under:
        return "under", True
    return "on_track", False


def _mtd(series: Series | None, metric: str, month: dt.date, as_of: dt.date) -> float:
    if series is None:
        return 0.0
    total = 0.0
    for i, value in enumerate(series.values[metric]):
        day = series.first_day + dt.timedelta(days=i)
        if month <= day <= as_of:
            total += value
    return total


def pacing_rows(
    config: PipelineConfig,
    targets: list[Target],
    series: list[Series],
    forecasts: list[GrainForecast],
    as_of: dt.date,
    run_id: str,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """One row per target of the month, and per campaign with a daily budget (spend against it)."""
    inputs = pace_inputs(as_of)
    by_key = {s.key: s for s in series}
    forecast_by_key = {f.series.key: f for f in forecasts}
    over, under = config.pacing.over_threshold, config.pacing.under_threshold
    rows: list[dict[str, Any]] = []
    model = forecasts[0].model.removesuffix("+budget") if forecasts else "none"

    def row(
        s_key: str,
        grain: str,
        channel: str,
        account: str | None,
        campaign: str | None,
        metric: str,
        basis: str,
        target: float,
        expected: float,
    ) -> dict[str, Any]:
        s = by_key.get(s_key)
        f = forecast_by_key.get(s_key)
        if metric == "roas":
            mtd_spend = _mtd(s, "spend", inputs.month, as_of)
            mtd_value = _mtd(s, "conversion_value", inputs.month, as_of)
            spend = _projection(mtd_spend, f, "spend", inputs.remaining)
            value = _projection(mtd_value, f, "conversion_value", inputs.remaining)
            mtd = mtd_value / mtd_spend if mtd_spend else 0.0
            projected: dict[str, float | None] | None = None
            if spend and value and spend["projected"] and value["projected"] is not None:
                projected = {"projected": value["projected"] / spend["projected"]}
        else:
            mtd = _mtd(s, metric, inputs.month, as_of)
            projected = _projection(mtd, f, metric, inputs.remaining)
        point = projected.get("projected") if projected is not None else None
        ratio = float(point) / target if point is not None and target else None
        label, off = verdict(ratio, metric, over, config.pacing.budget_under_threshold if basis != "target" else under)
        return {
            "as_of": as_of,
            "month": inputs.month,
            "days_elapsed": inputs.days_elapsed,
            "days_in_month": inputs.days_in_month,
            "grain": grain,
            "grain_key": s_key,
            "channel": channel,
            "account_id": account,
            "campaign_id": campaign,
            "campaign_name": s.campaign_name if s else None,
            "metric": metric,
            "basis": basis,
            "currency": config.reporting_currency if metric in MONEY else None,
            "target": _money(target),
            "mtd_actual": _money(mtd),
            "expected_to_date": _money(expected),
            "projected": _money(projected.get("projected")) if projected else None,
            **{f"projected_{b}": _money(projected.get(b)) if projected else None for b in BANDS},
            "pacing_ratio": ratio,
            "verdict": label,
            "off_pace": off,
            "model": model,
            "run_id": run_id,
            "generated_at": now,
        }

    share = inputs.days_elapsed / inputs.days_in_month
    for target in targets_for_month(targets, inputs.month):
        account = target.account_id.removeprefix("act_").replace("-", "") if target.account_id else None
        key = "/".join(p for p in (target.channel, account, target.campaign_id) if p)
        value = float(target.value)
        expected = value if target.metric == "roas" else value * share
        rows.append(
            row(
                key, target.grain, target.channel, account, target.campaign_id, target.metric, "target", value, expected
            )
        )
    if config.pacing.budgets:
        month_days = [inputs.month + dt.timedelta(days=i) for i in range(inputs.days_in_month)]
        for s in series:
            if s.grain != "campaign" or s.paused or not s.budgets or s.latest_budget is None:
                continue
            per_day = []
            for day in month_days:
                offset = (day - s.first_day).days
                if day > as_of or offset >= len(s.budgets):
                    per_day.append(s.latest_budget)
                elif offset < 0:
                    per_day.append(0.0)  # before the campaign delivered: no budget to spend
                else:
                    per_day.append(s.budgets[offset] or 0.0)
            total = sum(per_day)
            if total <= 0:
                continue
            expected = sum(b for d, b in zip(month_days, per_day, strict=True) if d <= as_of)
            rows.append(
                row(s.key, "campaign", s.channel, s.account_id, s.campaign_id, "spend", "daily_budget", total, expected)
            )
    return rows


def check_target_ids(warehouse: Warehouse, targets: list[Target]) -> None:
    """Accounts and campaigns of the targets must exist in the marts (one line naming the first unknown)."""
    wanted = [t for t in targets if t.account_id or t.campaign_id]
    if not wanted:
        return
    known = {
        (str(ch), str(acc), str(camp))
        for ch, acc, camp in warehouse.query(
            f"SELECT DISTINCT channel, account_id, campaign_id FROM {sql_table(warehouse, CAMPAIGN_MART)}"
        )
    }
    accounts = {(ch, acc) for ch, acc, _ in known}
    for t in wanted:
        account = (t.account_id or "").removeprefix("act_").replace("-", "")
        if (t.channel, account) not in accounts:
            raise ForecastError(
                f"pacing target {t.describe()}: account_id {t.account_id!r} has no data in {CAMPAIGN_MART}"
            )
        if t.campaign_id and (t.channel, account, t.campaign_id) not in known:
            raise ForecastError(
                f"pacing target {t.describe()}: campaign_id {t.campaign_id!r} is not a campaign of "
                f"{t.channel} account {account} in {CAMPAIGN_MART}"
            )


def write_table(
    warehouse: Warehouse, spec: TableSpec, rows: list[dict[str, Any]], channels: list[str], as_of: dt.date, run_id: str
) -> int:
    """Replace the (channel, as_of) rows of a forecast mart."""
    scope = Scope.of(sorted(set(channels) | {r["channel"] for r in rows}), as_of, as_of)
    if not len(scope):
        return 0
    table = pa.Table.from_pylist(rows, schema=spec.schema) if rows else spec.schema.empty_table()
    return warehouse.replace_partitions(spec, table, scope, LoadContext(FORECAST_CONTEXT, run_id)).rows


def run_forecast(
    config: PipelineConfig, run_id: str, as_of: dt.date | None = None, log: Any = logger
) -> ForecastResult:
    """Forecast, pace, write both marts; returns what it did (alerts are the flow's)."""
    started = time.perf_counter()
    settings = config.forecast
    targets = load_targets(config)  # a bad target fails here, before anything is read or written
    warehouse = from_config(config)
    if not table_exists(warehouse, CAMPAIGN_MART):
        raise ForecastError(f"{CAMPAIGN_MART} does not exist yet: run dbt (mdp run) before the forecast step")
    check_target_ids(warehouse, targets)
    from flows.forecasting import DEFAULT_MODEL

    model = DEFAULT_MODEL if settings.model == "default" else settings.model
    last = latest_day(warehouse, as_of)
    if last is None:
        log.warning("forecast: %s holds no day up to %s: nothing to forecast", CAMPAIGN_MART, as_of or "today")
        return ForecastResult(run_id, None, None, model)
    series = read_series(warehouse, config, settings, last)
    inputs = pace_inputs(last)
    horizon = max(settings.horizon_days, inputs.remaining)
    forecasts = forecast_all(series, last, horizon, settings)
    now = dt.datetime.now(dt.UTC)
    channels = sorted({c.type for c in config.enabled_connectors()})
    write_table(
        warehouse,
        FORECAST_DAILY,
        forecast_rows(forecasts, last, config.reporting_currency, run_id, now),
        channels,
        last,
        run_id,
    )
    pacing = pacing_rows(config, targets, series, forecasts, last, run_id, now)
    write_table(warehouse, PACING_MONTHLY, pacing, channels, last, run_id)
    result = ForecastResult(
        run_id,
        last,
        inputs.month,
        model,
        series=len(series),
        insufficient=sum(f.status == "insufficient_history" for f in forecasts),
        paused=sum(f.status == "paused" for f in forecasts),
        pacing_rows=len(pacing),
        off_pace=[r for r in pacing if r["off_pace"]],
        seconds=time.perf_counter() - started,
    )
    log.info("forecast %s: %s in %.1f s", run_id, result.summary(), result.seconds)
    return result


def _artifact_rows(result: ForecastResult) -> list[dict[str, Any]]:
    if not result.off_pace:
        return [{"verdict": "on track", "detail": result.summary()}]
    ordered = sorted(result.off_pace, key=lambda r: -abs((r["pacing_ratio"] or 1.0) - 1.0))
    return [
        {
            "grain": r["grain"],
            "key": r["grain_key"],
            "name": r["campaign_name"] or "",
            "metric": r["metric"],
            "basis": r["basis"],
            "projected": str(r["projected"]),
            "target": str(r["target"]),
            "ratio": f"{r['pacing_ratio']:.0%}",
            "verdict": r["verdict"],
        }
        for r in ordered
    ]


@flow(
    name="forecast_pacing",
    flow_run_name=forecast_run_name,
    on_failure=[notify_flow_failure],
    on_crashed=[notify_flow_failure],
)
def forecast_pacing(
    config_path: str | None = None, run_id: str | None = None, as_of: dt.date | None = None
) -> ForecastResult:
    """Forecast spend, conversions and conversion value to the month's end and pace the month.

    Completes when grains are off pace (they are reported and sent to Slack); fails when it cannot run.

    Args:
        config_path: pipeline.yaml to use (default: $MDP_CONFIG, ./pipeline.yaml, the sample).
        run_id: the pipeline run the forecast belongs to (default: this flow run's id).
        as_of: the last day of actuals to use (default: the latest day in the marts).
    """
    log = get_run_logger()
    config = load_config(config_path)
    run_id = run_id or str(flow_run.get_id() or f"local-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}")
    result = run_forecast(config, run_id, as_of, log)
    create_table_artifact(
        key="pacing",
        table=_artifact_rows(result),
        description=f"Pacing of run {run_id}: {result.summary()}",
    )
    if result.off_pace:
        from flows.pacing_alert import send_pacing_alert

        result.alerted = send_pacing_alert(config, result.off_pace, run_id)
    return result
