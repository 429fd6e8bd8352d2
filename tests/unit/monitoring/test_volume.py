"""The baseline math of the volume checks: robust z, statuses, history, zero rows, failed loads, messages."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.volume import (
    Check,
    DayVolume,
    MonitoringSettings,
    alert_lines,
    baseline,
    check_account,
    check_metric,
    classify,
    counts,
    describe,
    history_days,
    mad_factor,
    robust_z,
    worst,
)

DAY = dt.date(2025, 3, 12)  # a Wednesday
SETTINGS = MonitoringSettings()


def weekly(values: list[float], day: dt.date = DAY, spend: float = 100.0) -> dict[dt.date, DayVolume]:
    """Same-weekday history, most recent first, with a fixed spend."""
    return {d: DayVolume(int(v), spend) for d, v in zip(history_days(day, len(values)), values, strict=True)}


def test_history_is_the_same_weekday_of_previous_weeks() -> None:
    days = history_days(DAY, 8)
    assert len(days) == 8
    assert {d.weekday() for d in days} == {DAY.weekday()}
    assert days[0] == DAY - dt.timedelta(days=7)
    assert days[-1] == DAY - dt.timedelta(days=56)


def test_robust_z_on_the_linear_scale() -> None:
    settings = MonitoringSettings(method="linear", min_relative_scale=0.01)
    base = baseline([10, 12, 11, 13, 9, 11, 10, 12], settings)
    assert base is not None
    assert base.median == pytest.approx(11)
    assert base.scale == pytest.approx(mad_factor(8) * 1.0)  # MAD of those values is 1
    assert robust_z(20, base, "linear") == pytest.approx(9 / base.scale)


def test_the_log_method_measures_relative_change() -> None:
    small = baseline([10.0] * 8, SETTINGS)
    large = baseline([1000.0] * 8, SETTINGS)
    assert small is not None
    assert large is not None
    # Halving a small and a large series deviates by about the same amount.
    assert robust_z(5.0, small, "log") == pytest.approx(robust_z(500.0, large, "log"), rel=0.15)


def test_a_constant_history_uses_the_floor_not_zero_spread() -> None:
    base = baseline([12.0] * 8, SETTINGS)
    assert base is not None
    assert base.scale == pytest.approx(math.log1p(SETTINGS.min_relative_scale))
    assert classify(robust_z(11.0, base, "log"), SETTINGS) == "ok"  # one ad missing is not an anomaly
    assert classify(robust_z(1.0, base, "log"), SETTINGS) == "anomaly"


@pytest.mark.parametrize(
    ("z", "status"),
    [(0.0, "ok"), (3.49, "ok"), (-3.5, "warn"), (5.9, "warn"), (6.0, "anomaly"), (-40, "anomaly")],
)
def test_thresholds(z: float, status: str) -> None:
    assert classify(z, SETTINGS) == status


def test_too_little_history_is_insufficient_not_an_anomaly() -> None:
    check = check_metric("g", "a", DAY, "rows", 1_000_000, [10, 11, 12], SETTINGS)
    assert check.status == "insufficient_history"
    assert check.history_days == 3
    assert check.deviation is None


def test_a_ninety_percent_row_drop_is_an_anomaly_and_normal_noise_is_not() -> None:
    history = weekly([14, 13, 14, 15, 12, 14, 13, 14])
    volumes = {**history, DAY: DayVolume(1, 10.0)}
    checks = check_account("g", "a", [DAY], volumes, min(volumes), SETTINGS)
    assert {c.metric: c.status for c in checks} == {"rows": "anomaly", "spend": "anomaly"}
    assert checks[0].reason == "below baseline"
    volumes[DAY] = DayVolume(12, 90.0)
    assert {c.status for c in check_account("g", "a", [DAY], volumes, min(volumes), SETTINGS)} == {"ok"}


def test_a_spend_spike_is_an_anomaly_on_spend_only() -> None:
    volumes = {**weekly([14] * 8), DAY: DayVolume(14, 1000.0)}
    checks = check_account("g", "a", [DAY], volumes, min(volumes), SETTINGS)
    assert {c.metric: c.status for c in checks} == {"rows": "ok", "spend": "anomaly"}
    spend = next(c for c in checks if c.metric == "spend")
    assert spend.baseline == 100.0
    assert spend.change == pytest.approx(9.0)
    assert spend.deviation is not None
    assert spend.deviation > 0


def test_a_new_account_has_insufficient_history() -> None:
    first = DAY - dt.timedelta(days=10)  # started 10 days ago: one same-weekday point
    volumes = {first + dt.timedelta(days=i): DayVolume(5, 50.0) for i in range(11)}
    checks = check_account("g", "new", [DAY], volumes, first, SETTINGS)
    assert {c.status for c in checks} == {"insufficient_history"}
    assert {c.history_days for c in checks} == {1}


def test_days_before_an_account_started_are_not_zeros() -> None:
    first = DAY - dt.timedelta(weeks=5)
    volumes = {d: DayVolume(10, 100.0) for d in history_days(DAY, 5)}
    checks = check_account("g", "a", [DAY], {**volumes, DAY: DayVolume(10, 100.0)}, first, SETTINGS)
    assert {c.history_days for c in checks} == {5}
    assert {c.status for c in checks} == {"ok"}


def test_zero_rows_after_spending_is_an_anomaly() -> None:
    volumes = weekly([10] * 8)
    checks = check_account("g", "a", [DAY], volumes, min(volumes), SETTINGS)
    assert {c.status for c in checks} == {"anomaly"}
    assert all(c.reason == "zero rows on a day with spend history" for c in checks)
    assert checks[0].observed == 0


def test_zero_rows_with_a_short_history_of_spend_warns() -> None:
    volumes = weekly([10, 10])
    checks = check_account("g", "a", [DAY], volumes, min(volumes), SETTINGS)
    assert {c.status for c in checks} == {"warn"}


def test_zero_rows_where_zero_is_usual_is_ok() -> None:
    volumes = {**weekly([0] * 8, spend=0.0), DAY - dt.timedelta(days=60): DayVolume(3, 1.0)}
    volumes = {d: v for d, v in volumes.items() if v.rows}
    checks = check_account("g", "a", [DAY], volumes, min(volumes), SETTINGS)
    assert {c.status for c in checks} == {"ok"}


def test_a_failed_load_is_one_load_anomaly() -> None:
    volumes = weekly([10] * 8)
    checks = check_account("g", "a", [DAY], volumes, min(volumes), SETTINGS, {DAY: "PERMISSION_DENIED"})
    assert [(c.metric, c.status, c.reason) for c in checks] == [("load", "anomaly", "PERMISSION_DENIED")]


def test_a_connector_without_spend_checks_rows_only() -> None:
    history = {d: DayVolume(10, None) for d in history_days(DAY, 8)}
    checks = check_account("g", "a", [DAY], {**history, DAY: DayVolume(10, None)}, min(history), SETTINGS)
    assert [c.metric for c in checks] == ["rows"]


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="anomaly_z"):
        MonitoringSettings(warn_z=5, anomaly_z=4)
    with pytest.raises(ValueError, match="min_history"):
        MonitoringSettings(weeks=4, min_history=6)
    with pytest.raises(ValueError, match="extra"):
        MonitoringSettings.model_validate({"treshold": 3})


def check(status: str, metric: str = "rows", day: int = 1, **kw: object) -> Check:
    values = {"observed": 1.0, "baseline": 14.0, "deviation": -21.0, "reason": "below baseline"} | kw
    return Check(
        "google_ads",
        "123",
        dt.date(2025, 3, day),
        metric,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        history_days=8,
        **values,  # type: ignore[arg-type]
    )


def test_worst_first_and_counts() -> None:
    checks = [check("ok"), check("warn", day=2), check("anomaly", day=3), check("insufficient_history")]
    assert [c.status for c in worst(checks)] == ["anomaly", "warn", "insufficient_history"]
    assert counts(checks) == {"anomaly": 1, "warn": 1, "insufficient_history": 1, "ok": 1}


def test_a_slack_line_reads_at_a_glance() -> None:
    assert describe(check("anomaly", day=3)) == (
        "*google_ads* `123` Mon 2025-03-03: rows *1* vs usual 14 (-93%), z -21.0"
    )
    spike = check("anomaly", "spend", observed=4208.7, baseline=337.05, deviation=18.2, reason="above baseline")
    assert describe(spike).endswith("spend *4,208.70* vs usual 337.05 (+1149%), z +18.2")
    failed = check("anomaly", "load", observed=None, baseline=None, deviation=None, reason="HTTP 500")
    assert describe(failed) == "*google_ads* `123` Sat 2025-03-01: load failed (HTTP 500)"


def test_alert_lines_are_capped() -> None:
    checks = [check("anomaly", day=d) for d in range(1, 11)] + [check("warn"), check("ok")]
    lines = alert_lines(checks, MonitoringSettings(max_alert_lines=3))
    assert lines[0] == "12 checks: 10 anomalies, 1 warning(s), 0 with insufficient history."
    assert len(lines) == 5
    assert lines[-1].startswith("… and 7 more")


@given(
    st.lists(st.floats(min_value=0, max_value=1e9, allow_nan=False), min_size=4, max_size=52),
    st.floats(min_value=0, max_value=1e9, allow_nan=False),
)
def test_z_is_finite_and_zero_at_the_median(history: list[float], observed: float) -> None:
    for method in ("log", "linear"):
        settings = MonitoringSettings(method=method, weeks=52)  # type: ignore[arg-type]
        base = baseline(history, settings)
        assert base is not None
        assert base.scale > 0
        assert math.isfinite(robust_z(observed, base, settings.method))
        if len(history) % 2:  # an odd count: the median is one of the values, in either space
            assert robust_z(base.median_value, base, settings.method) == pytest.approx(0, abs=1e-6)
