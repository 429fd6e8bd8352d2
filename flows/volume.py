"""Volume checks without I/O: a robust same-weekday baseline (median and MAD) per account and day,
the status it gives, and the Slack lines for anomalies. `flows.monitor` reads and writes the warehouse."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mdp.config import MonitoringMethod as Method
from mdp.config import MonitoringSettings

Metric = Literal["rows", "spend", "load"]
Status = Literal["ok", "warn", "anomaly", "insufficient_history"]

STATUSES: tuple[Status, ...] = ("anomaly", "warn", "insufficient_history", "ok")
# MAD * 1.4826 estimates the standard deviation of normally distributed values; with few points the MAD
# runs low, so it is scaled up further (Croux & Rousseeuw 1992 small-sample factors, n = 2..9; n / (n - 0.8)
# beyond).
MAD_TO_SIGMA = 1.4826
_SMALL_SAMPLE = {2: 1.196, 3: 1.495, 4: 1.363, 5: 1.206, 6: 1.200, 7: 1.140, 8: 1.129, 9: 1.107}


def mad_factor(n: int) -> float:
    """The consistency factor turning the MAD of n points into a standard deviation estimate."""
    return MAD_TO_SIGMA * (_SMALL_SAMPLE.get(n) or n / (n - 0.8))


@dataclass(frozen=True)
class DayVolume:
    """What the raw table holds for one account and day."""

    rows: int
    spend: float | None = None


@dataclass(frozen=True)
class Baseline:
    """The centre and spread of the history, in the method's space (log or linear)."""

    median: float
    scale: float
    points: int
    median_value: float  # the median of the raw values, for people to read


@dataclass(frozen=True)
class Check:
    """One verdict: a metric of one account and day against its baseline."""

    connector: str
    account_id: str
    day: dt.date
    metric: Metric
    observed: float | None
    baseline: float | None
    deviation: float | None
    status: Status
    reason: str
    history_days: int

    @property
    def change(self) -> float | None:
        """Observed relative to the baseline (-0.9 = 90% below), when both are known and the baseline > 0."""
        if self.observed is None or not self.baseline:
            return None
        return self.observed / self.baseline - 1.0

    def as_row(self, run_id: str, checked_at: dt.datetime) -> dict[str, Any]:
        return {
            "connector": self.connector,
            "account_id": self.account_id,
            "day": self.day,
            "metric": self.metric,
            "observed": self.observed,
            "baseline": self.baseline,
            "deviation": self.deviation,
            "status": self.status,
            "reason": self.reason,
            "history_days": self.history_days,
            "run_id": run_id,
            "checked_at": checked_at,
        }


def history_days(day: dt.date, weeks: int) -> list[dt.date]:
    """The same weekday in each of the `weeks` weeks before `day`, most recent first."""
    return [day - dt.timedelta(weeks=k) for k in range(1, weeks + 1)]


def _transform(value: float, method: Method) -> float:
    return math.log1p(max(value, 0.0)) if method == "log" else value


def baseline(values: Sequence[float], settings: MonitoringSettings) -> Baseline | None:
    """Median and robust spread of the history; None when it has fewer than `min_history` points.

    The spread is 1.4826 x MAD (times a small-sample factor), floored at `min_relative_scale` of the
    baseline (in log space: log(1 + r)) and, on the linear method, at 1 (a count cannot move by less).
    """
    if len(values) < settings.min_history:
        return None
    transformed = [_transform(v, settings.method) for v in values]
    centre = statistics.median(transformed)
    mad = statistics.median(abs(v - centre) for v in transformed)
    if settings.method == "log":
        floor = math.log1p(settings.min_relative_scale)
    else:
        floor = max(settings.min_relative_scale * abs(centre), 1.0)
    return Baseline(centre, max(mad_factor(len(values)) * mad, floor), len(values), statistics.median(values))


def robust_z(observed: float, base: Baseline, method: Method) -> float:
    """How many robust standard deviations the observation lies from the median (signed)."""
    return (_transform(observed, method) - base.median) / base.scale


def classify(z: float, settings: MonitoringSettings) -> Status:
    magnitude = abs(z)
    if magnitude >= settings.anomaly_z:
        return "anomaly"
    if magnitude >= settings.warn_z:
        return "warn"
    return "ok"


def check_metric(
    connector: str,
    account_id: str,
    day: dt.date,
    metric: Literal["rows", "spend"],
    observed: float,
    history: Sequence[float],
    settings: MonitoringSettings,
) -> Check:
    """The verdict on one metric of one account and day, given its same-weekday history."""
    base = baseline(history, settings)
    if base is None:
        return Check(
            connector,
            account_id,
            day,
            metric,
            observed,
            statistics.median(history) if history else None,
            None,
            "insufficient_history",
            f"{len(history)} of {settings.min_history} history points",
            len(history),
        )
    z = robust_z(observed, base, settings.method)
    status = classify(z, settings)
    reason = "" if status == "ok" else ("above baseline" if z > 0 else "below baseline")
    return Check(
        connector,
        account_id,
        day,
        metric,
        observed,
        base.median_value,
        round(z, 3),
        status,
        reason,
        base.points,
    )


def check_account(
    connector: str,
    account_id: str,
    days: Iterable[dt.date],
    volumes: Mapping[dt.date, DayVolume],
    first_day: dt.date | None,
    settings: MonitoringSettings,
    failed: Mapping[dt.date, str] | None = None,
) -> list[Check]:
    """Every check of one account over `days`.

    `volumes` holds the days the raw table has rows for; a missing day counts as zero rows once the
    account has started (`first_day`, its first day with rows), and does not count before it, so a new
    account has a short history (insufficient_history) rather than a history of zeros. A day whose last
    load failed (`failed`) gets a single `load` anomaly: its rows are stale or missing.
    """
    failed = failed or {}
    # A day without rows: zero, and zero spend when the source reports spend at all.
    nothing = DayVolume(0, None if any(v.spend is None for v in volumes.values()) else 0.0)
    checks: list[Check] = []
    for day in days:
        if day in failed:
            checks.append(Check(connector, account_id, day, "load", None, None, None, "anomaly", failed[day], 0))
            continue
        known = [h for h in history_days(day, settings.weeks) if first_day is not None and h >= first_day]
        past = [volumes.get(h, nothing) for h in known]
        today = volumes.get(day, nothing)
        day_checks = []
        if "rows" in settings.metrics:
            day_checks.append(
                check_metric(connector, account_id, day, "rows", today.rows, [v.rows for v in past], settings)
            )
        if "spend" in settings.metrics and today.spend is not None:
            spend_history = [v.spend or 0.0 for v in past]
            day_checks.append(check_metric(connector, account_id, day, "spend", today.spend, spend_history, settings))
        if today.rows == 0:
            day_checks = [_zero_rows(c, past, settings) for c in day_checks]
        checks.extend(day_checks)
    return checks


def _zero_rows(check: Check, past: Sequence[DayVolume], settings: MonitoringSettings) -> Check:
    """No rows where the account used to spend: an anomaly (a warning while its history is short)."""
    spent = [v.spend for v in past if v.spend]
    had_rows = [v.rows for v in past if v.rows]
    if not (spent or had_rows):
        return check
    sufficient = len(past) >= settings.min_history
    typical = statistics.median([v.rows for v in past]) if past else 0
    if sufficient and typical == 0:
        return check  # zero rows is usual for this weekday
    status: Status = "anomaly" if sufficient else "warn"
    what = "spend" if spent else "rows"
    return Check(
        check.connector,
        check.account_id,
        check.day,
        check.metric,
        check.observed,
        check.baseline,
        check.deviation,
        status,
        f"zero rows on a day with {what} history",
        check.history_days,
    )


def counts(checks: Iterable[Check]) -> dict[Status, int]:
    """Checks per status, every status present."""
    out: dict[Status, int] = dict.fromkeys(STATUSES, 0)
    for check in checks:
        out[check.status] += 1
    return out


def worst(checks: Iterable[Check]) -> list[Check]:
    """Non-ok checks, most severe first, then by connector, day and account."""
    rank = {status: i for i, status in enumerate(STATUSES)}
    flagged = [c for c in checks if c.status != "ok"]
    return sorted(flagged, key=lambda c: (rank[c.status], c.connector, c.day, c.account_id, c.metric))


def _number(value: float, metric: str) -> str:
    if metric == "rows":
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def describe(check: Check) -> str:
    """One readable line (Slack mrkdwn) about a flagged check."""
    where = f"*{check.connector}* `{check.account_id}` {check.day:%a %Y-%m-%d}"
    if check.metric == "load":
        return f"{where}: load failed ({check.reason})"
    observed = "-" if check.observed is None else _number(check.observed, check.metric)
    text = f"{where}: {check.metric} *{observed}*"
    if check.baseline is not None:
        text += f" vs usual {_number(check.baseline, check.metric)}"
    change = check.change
    if change is not None:
        text += f" ({change:+.0%})"
    if check.deviation is not None:
        text += f", z {check.deviation:+.1f}"
    if check.reason and check.reason not in ("above baseline", "below baseline"):
        text += f" ({check.reason})"
    return text


def alert_lines(checks: Sequence[Check], settings: MonitoringSettings) -> list[str]:
    """The Slack body: a summary line, then one line per alerting check (capped)."""
    alerting = [c for c in worst(checks) if c.status in settings.alert_statuses]
    tally = counts(checks)
    lines = [
        f"{len(checks)} checks: {tally['anomaly']} anomal{'y' if tally['anomaly'] == 1 else 'ies'}, "
        f"{tally['warn']} warning(s), {tally['insufficient_history']} with insufficient history."
    ]
    shown = alerting[: settings.max_alert_lines]
    lines += [f"• {describe(c)}" for c in shown]
    if len(alerting) > len(shown):
        lines.append(f"… and {len(alerting) - len(shown)} more (see the volume-checks artifact)")
    return lines
