"""The `volume_monitor` flow: rows and spend per connector x account x day against a same-weekday baseline,
written to ops.volume_checks, published as a table artifact and sent to Slack when anomalies appear."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa
from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger
from prefect.runtime import flow_run

from connectors.registry import connector_class
from flows.notify import AlertDeliveryError, notify_flow_failure, run_url, send_slack
from flows.volume import Check, DayVolume, alert_lines, check_account, counts, worst
from mdp.config import MonitoringSettings, PipelineConfig, load_config, spend_expression_columns
from mdp.errors import ConfigError
from mdp.schema import TableSpec
from warehouse import Warehouse, from_config
from warehouse.base import LOAD_LOG, LoadContext, Scope, sql_table, table_exists

logger = logging.getLogger(__name__)

VOLUME_CHECKS_COLUMNS: dict[str, tuple[pa.DataType, bool, str]] = {
    "connector": (pa.string(), False, "connector name (pipeline.yaml)"),
    "account_id": (pa.string(), False, "account id as in the raw table"),
    "day": (pa.date32(), False, "the day checked"),
    "metric": (pa.string(), False, "rows, spend (account currency) or load (the last load of the unit)"),
    "observed": (pa.float64(), True, "the value in the raw table"),
    "baseline": (pa.float64(), True, "median of the same weekday over the history weeks"),
    "deviation": (pa.float64(), True, "robust z: (observed - median) / (1.4826 x MAD), log space by default"),
    "status": (pa.string(), False, "ok, warn, anomaly or insufficient_history"),
    "reason": (pa.string(), True, "why a check is not ok"),
    "history_days": (pa.int64(), False, "history points the baseline used"),
    "run_id": (pa.string(), False, "the pipeline run that checked"),
    "checked_at": (pa.timestamp("us", tz="UTC"), False, "when the check ran"),
}
VOLUME_CHECKS = TableSpec(
    name="ops.volume_checks",
    schema=pa.schema([pa.field(n, t, nullable=null) for n, (t, null, _) in VOLUME_CHECKS_COLUMNS.items()]),
    account_column="account_id",
    date_column="day",
    cluster_by=("account_id",),
    description="Volume checks: one row per connector x account x day x metric; a rerun replaces the "
    "(account, day) units it checks.",
    column_docs={n: doc for n, (_, _, doc) in VOLUME_CHECKS_COLUMNS.items()},
)
# Spend per raw column, in account currency units; the first column a raw schema has wins.
SPEND_COLUMNS: tuple[tuple[str, str], ...] = (
    ("cost_micros", "SUM({column}) / 1000000"),
    ("spend", "SUM({column})"),
    ("cost", "SUM({column})"),
)
MONITOR_CONTEXT = "volume_monitor"


@dataclass
class MonitorResult:
    """What a monitoring run found (returned by the flow, used by the CLI and tests)."""

    run_id: str
    windows: dict[str, tuple[dt.date, dt.date]]
    checks: list[Check] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    alerted: bool = False

    @property
    def anomalies(self) -> list[Check]:
        return [c for c in self.checks if c.status == "anomaly"]

    def summary(self) -> str:
        tally = counts(self.checks)
        return ", ".join(f"{n} {status}" for status, n in tally.items())


def monitoring_settings(config: PipelineConfig) -> MonitoringSettings:
    """The `monitoring:` section of the configuration (validated with the rest of it)."""
    return config.monitoring


def default_windows(
    config: PipelineConfig, settings: MonitoringSettings, today: dt.date
) -> dict[str, tuple[dt.date, dt.date]]:
    """The last `window_days` days before today, for every enabled connector."""
    end = today - dt.timedelta(days=1)
    start = end - dt.timedelta(days=settings.window_days - 1)
    return {c.name: (start, end) for c in config.enabled_connectors()}


def spend_sql(spec: TableSpec, connector: str, settings: MonitoringSettings) -> str | None:
    """The SQL aggregate of spend for a raw table, or None when it has no spend column."""
    if connector in settings.spend_expressions:
        expression = settings.spend_expressions[connector]
        unknown = sorted(spend_expression_columns(expression) - set(spec.schema.names))
        if unknown:
            raise ConfigError(
                f"monitoring.spend_expressions.{connector}: no column {', '.join(unknown)} in {spec.name} "
                f"(columns: {', '.join(spec.schema.names)})"
            )
        return expression
    for column, template in SPEND_COLUMNS:
        if column in spec.schema.names:
            return template.format(column=column)
    return None


def read_volumes(
    warehouse: Warehouse, spec: TableSpec, spend: str | None, start: dt.date, end: dt.date
) -> dict[str, dict[dt.date, DayVolume]]:
    """Rows (and spend) per account and day of a raw table between start and end."""
    account, day = spec.account_column, spec.date_column
    result = warehouse.query(
        f"SELECT {account}, {day}, COUNT(*), {spend or 'NULL'} FROM {sql_table(warehouse, spec.name)} "
        f"WHERE {day} BETWEEN ? AND ? GROUP BY 1, 2",
        [start, end],
    )
    volumes: dict[str, dict[dt.date, DayVolume]] = defaultdict(dict)
    for account_id, when, rows, amount in result:
        value = None if spend is None else float(amount if isinstance(amount, Decimal | float | int) else 0)
        volumes[str(account_id)][_as_date(when)] = DayVolume(int(rows), value)
    return dict(volumes)


def read_failed_loads(
    warehouse: Warehouse, connector: str, spec: TableSpec, start: dt.date, end: dt.date
) -> dict[str, dict[dt.date, str]]:
    """Units whose most recent load (ops.load_log) failed, with the error."""
    if not table_exists(warehouse, LOAD_LOG):
        return {}
    result = warehouse.query(
        f"SELECT account_id, day, status, error, finished_at FROM {sql_table(warehouse, LOAD_LOG)} "
        "WHERE connector = ? AND table_name = ? AND day BETWEEN ? AND ?",
        [connector, spec.name, start, end],
    )
    latest: dict[tuple[str, dt.date], tuple[Any, str, str]] = {}
    for account_id, when, status, error, finished_at in result:
        key = (str(account_id), _as_date(when))
        if key not in latest or finished_at >= latest[key][0]:
            latest[key] = (finished_at, str(status), str(error or "failed"))
    failed: dict[str, dict[dt.date, str]] = defaultdict(dict)
    for (account_id, when), (_, status, error) in latest.items():
        if status == "failed":
            failed[account_id][when] = error
    return dict(failed)


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def check_connector(
    warehouse: Warehouse,
    name: str,
    spec: TableSpec,
    start: dt.date,
    end: dt.date,
    settings: MonitoringSettings,
) -> list[Check]:
    """Every check of one connector's accounts over [start, end]."""
    history_start = start - dt.timedelta(weeks=settings.weeks)
    volumes = read_volumes(warehouse, spec, spend_sql(spec, name, settings), history_start, end)
    failed = read_failed_loads(warehouse, name, spec, start, end)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    checks: list[Check] = []
    for account in sorted(set(volumes) | set(failed)):
        mine = volumes.get(account, {})
        checks += check_account(name, account, days, mine, min(mine) if mine else None, settings, failed.get(account))
    return checks


def run_checks(
    config: PipelineConfig,
    warehouse: Warehouse,
    windows: Mapping[str, tuple[dt.date, dt.date]],
    settings: MonitoringSettings,
) -> tuple[list[Check], dict[str, str]]:
    """Checks of every connector's window, and the connectors skipped with why (no raw table yet)."""
    checks: list[Check] = []
    skipped: dict[str, str] = {}
    for name, (start, end) in windows.items():
        spec = connector_class(config.connector(name).type).table
        if not table_exists(warehouse, spec.name):
            skipped[name] = f"{spec.name} does not exist yet"
            continue
        checks += check_connector(warehouse, name, spec, start, end, settings)
    return checks, skipped


def write_checks(warehouse: Warehouse, checks: list[Check], run_id: str) -> int:
    """Replace the checked (account, day) units of ops.volume_checks with these checks."""
    if not checks:
        return 0
    now = dt.datetime.now(dt.UTC)
    rows = [c.as_row(run_id, now) for c in checks]
    scope = Scope.from_units((c.account_id, c.day) for c in checks)
    result = warehouse.replace_partitions(VOLUME_CHECKS, rows, scope, LoadContext(MONITOR_CONTEXT, run_id))
    return result.rows


def _rounded(value: float | None, digits: int = 2) -> float | None:
    """Two decimals for people (234.96, not 234.95999999999998)."""
    return None if value is None else round(float(value), digits)


def monitor_run_name() -> str:
    """volume-monitor-<pipeline run id>, or -<UTC date> when run alone: a stable, searchable name."""
    run_id = flow_run.get_parameters().get("run_id")
    return f"volume-monitor-{run_id or dt.datetime.now(dt.UTC).date()}"


def artifact_rows(checks: list[Check]) -> list[dict[str, Any]]:
    """Every flagged check (most severe first) for the table artifact; one 'ok' line when none are."""
    flagged = worst(checks)
    if not flagged:
        return [{"status": "ok", "detail": f"{len(checks)} check(s), all ok"}]
    return [
        {
            "status": c.status,
            "connector": c.connector,
            "account_id": c.account_id,
            "day": c.day.isoformat(),
            "metric": c.metric,
            "observed": _rounded(c.observed),
            "baseline": _rounded(c.baseline),
            "change": None if c.change is None else f"{c.change:+.0%}",
            "deviation": _rounded(c.deviation),
            "reason": c.reason,
        }
        for c in flagged
    ]


@task(name="volume-checks", cache_policy=NO_CACHE)
def compute_checks(
    config: PipelineConfig, windows: dict[str, tuple[dt.date, dt.date]], settings: MonitoringSettings
) -> tuple[list[Check], dict[str, str]]:
    """Read raw volumes and the load log, and judge every connector x account x day."""
    return run_checks(config, from_config(config), windows, settings)


@task(name="write-volume-checks", cache_policy=NO_CACHE)
def store_checks(config: PipelineConfig, checks: list[Check], run_id: str) -> int:
    """Write the checks to ops.volume_checks (reruns replace)."""
    return write_checks(from_config(config), checks, run_id)


@task(name="alert-anomalies", cache_policy=NO_CACHE)
def alert(config: PipelineConfig, result: MonitorResult, settings: MonitoringSettings) -> bool:
    """Send the anomalies to the Slack block; raise if it is configured but the message did not go."""
    alerting = [c for c in result.checks if c.status in settings.alert_statuses]
    if not alerting:
        return False
    lines = alert_lines(result.checks, settings)
    title = f"Volume monitor: {len(result.anomalies)} anomal{'y' if len(result.anomalies) == 1 else 'ies'}"
    title += f" (run {result.run_id})"
    if not config.alerts.slack_webhook_block:
        get_run_logger().warning("%s (Slack alerts are off):\n%s", title, "\n".join(lines))
        return False
    if not send_slack(config, title, lines, run_url(flow_run.get_id())):
        raise AlertDeliveryError(f"the anomaly alert did not reach Slack block {config.alerts.slack_webhook_block!r}")
    return True


@flow(
    name="volume_monitor",
    flow_run_name=monitor_run_name,
    on_failure=[notify_flow_failure],
    on_crashed=[notify_flow_failure],
)
def volume_monitor(
    config_path: str | None = None,
    run_id: str | None = None,
    windows: dict[str, tuple[dt.date, dt.date]] | None = None,
) -> MonitorResult:
    """Compare each account's daily rows and spend with its same-weekday history; alert on anomalies.

    Completes when anomalies are found (they are reported); fails only when checking itself fails.

    Args:
        config_path: pipeline.yaml to use (default: $MDP_CONFIG, ./pipeline.yaml, the sample).
        run_id: the pipeline run the checks belong to (default: this flow run's id).
        windows: connector name -> (first day, last day) to check (default: the last
            `monitoring.window_days` days before today, for every enabled connector).
    """
    log = get_run_logger()
    config = load_config(config_path)
    settings = monitoring_settings(config)
    if windows is None:
        windows = default_windows(config, settings, dt.datetime.now(config.tz).date())
    run_id = run_id or str(flow_run.get_id() or f"local-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}")
    checks, skipped = compute_checks(config, windows, settings)
    for name, why in skipped.items():
        log.warning("%s not checked: %s", name, why)
    result = MonitorResult(run_id, dict(windows), checks, skipped)
    written = store_checks(config, checks, run_id)
    log.info("run %s: %d check(s) written to %s: %s", run_id, written, VOLUME_CHECKS.name, result.summary())
    tally = counts(checks)
    create_table_artifact(
        key="volume-checks",
        table=artifact_rows(checks),
        description=f"Volume checks of run {run_id}: "
        + ", ".join(f"{n} {status}" for status, n in tally.items())
        + "".join(f"; {name} skipped: {why}" for name, why in skipped.items()),
    )
    result.alerted = alert(config, result, settings)
    return result
