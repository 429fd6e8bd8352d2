"""Reconciliation of a run: every account-day it loaded, compared with the platform's own daily totals
(marts.reconciliation_daily, which dbt builds), and every report unit it loaded with quarantined rows.

The parent flow runs it after dbt; whatever does not reconcile is extracted once more in the same run, and
what still does not fails the run, naming channel, account, day, metric and both values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from prefect import flow
from prefect.logging import get_run_logger

from connectors.registry import build_connector, connector_class
from mdp.config import PipelineConfig, load_config
from warehouse import Warehouse, from_config
from warehouse.base import LOAD_LOG, sql_table, table_exists

RECONCILIATION = "marts.reconciliation_daily"
MONEY_METRICS = frozenset({"spend", "conversion_value"})
MAX_LISTED = 20  # failures named one by one in a run's error; the rest are counted


@dataclass(frozen=True)
class Mismatch:
    """An account-day whose landed total differs from the platform's by more than the tolerance."""

    connector: str
    channel: str
    account: str
    day: dt.date
    metric: str
    platform: Decimal | None
    landed: Decimal
    currency: str | None

    @property
    def difference(self) -> Decimal:
        return self.landed - (self.platform or Decimal(0))

    def describe(self) -> str:
        unit = f" {self.currency}" if self.metric in MONEY_METRICS and self.currency else ""
        return (
            f"{self.connector} account {self.account} {self.day} {self.metric}: platform {_number(self.platform)}"
            f"{unit}, landed {_number(self.landed)}{unit} (difference {_number(self.difference, signed=True)}{unit})"
        )


@dataclass(frozen=True)
class Quarantined:
    """A report unit (connector, table, account, day) this run loaded with rows set aside in quarantine."""

    connector: str
    stream: str
    table: str
    account: str
    day: dt.date
    rows: int

    def describe(self) -> str:
        return (
            f"{self.connector} {self.stream} account {self.account} {self.day}: {self.rows} row(s) quarantined "
            f"(reasons in {self.table}__quarantine), so the day's totals lack them"
        )


@dataclass
class ReconcileResult:
    """What a run's reconciliation found."""

    compared: bool = True  # False: the run built no marts, so only quarantine was looked at
    checked: int = 0  # account-days compared with a platform total
    unchecked: dict[str, int] = field(default_factory=dict)  # connector -> account-days without a platform total
    mismatches: list[Mismatch] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    money_missing: dict[str, Decimal] = field(default_factory=dict)  # "connector currency" -> spend not landed

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.quarantined

    def failed_days(self) -> dict[tuple[str, str], set[dt.date]]:
        """(connector, account) -> the days that did not reconcile or carry quarantined rows."""
        out: dict[tuple[str, str], set[dt.date]] = {}
        for connector, account, day in [*self._keys(self.mismatches), *self._keys(self.quarantined)]:
            out.setdefault((connector, account), set()).add(day)
        return out

    @staticmethod
    def _keys(items: Iterable[Mismatch | Quarantined]) -> list[tuple[str, str, dt.date]]:
        return [(i.connector, i.account, i.day) for i in items]

    def summary(self) -> str:
        """One line: how many account-days were reconciled and what did not match."""
        days = len({(m.connector, m.account, m.day) for m in self.mismatches})
        parts = [
            f"{self.checked:,} account-day(s) reconciled with the platforms' own totals"
            if self.compared
            else "not compared with the platforms' totals (the run built no marts)"
        ]
        if days:
            parts.append(f"{days:,} not within tolerance ({len(self.mismatches):,} metric(s))")
        elif self.checked:
            parts.append("all within tolerance")
        if self.quarantined:
            rows = sum(q.rows for q in self.quarantined)
            parts.append(f"{rows:,} row(s) quarantined in {len(self.quarantined):,} unit(s)")
        if self.money_missing:
            parts.append("spend not landed: " + ", ".join(f"{v:,} {k}" for k, v in sorted(self.money_missing.items())))
        for connector, count in sorted(self.unchecked.items()):
            parts.append(f"{connector}: {count:,} account-day(s) without platform totals")
        return "; ".join(parts)

    def failure_lines(self) -> list[str]:
        lines = [m.describe() for m in self.mismatches] + [q.describe() for q in self.quarantined]
        if len(lines) > MAX_LISTED:
            lines = [*lines[:MAX_LISTED], f"... and {len(lines) - MAX_LISTED} more (marts.reconciliation_daily)"]
        return lines


def _number(value: Decimal | None, *, signed: bool = False) -> str:
    if value is None:
        return "none"
    text = format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f").rstrip("0")
    return ("+" if signed and value > 0 else "") + text


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _latest_loads(warehouse: Warehouse, run_id: str) -> list[dict[str, Any]]:
    """The run's latest load of each (connector, table, account, day) in ops.load_log."""
    columns = ["connector", "table_name", "account_id", "day", "quarantined", "status", "finished_at"]
    rows = warehouse.query(
        f"SELECT {', '.join(columns)} FROM {sql_table(warehouse, LOAD_LOG)} WHERE run_id = ?", [run_id]
    )
    latest: dict[tuple[str, str, str, dt.date], dict[str, Any]] = {}
    for values in rows:
        row = dict(zip(columns, values, strict=True))
        row["day"], row["account_id"] = _day(row["day"]), str(row["account_id"])
        key = (row["connector"], row["table_name"], row["account_id"], row["day"])
        if key not in latest or row["finished_at"] >= latest[key]["finished_at"]:
            latest[key] = row
    return list(latest.values())


def reconcile(
    warehouse: Warehouse, config: PipelineConfig, run_id: str, *, with_totals: bool = True
) -> ReconcileResult:
    """Compare the account-days `run_id` loaded (its primary streams, by ops.load_log) with the platform totals
    in marts.reconciliation_daily (unless `with_totals` is false: the marts were not built), and list its report
    units that loaded with quarantined rows."""
    result = ReconcileResult(compared=with_totals)
    if not table_exists(warehouse, LOAD_LOG):
        return result
    reports: dict[tuple[str, str], str] = {}  # (connector, table) -> report stream
    primary: dict[str, str] = {}  # connector -> primary table
    channel_of: dict[str, str] = {}
    for section in config.connectors:
        built = build_connector(config, section)  # its custom streams report quarantines too
        primary[section.name] = built.table.name
        channel_of[section.name] = built.type_name
        for declared in built.streams:
            if declared.kind == "report":
                reports[(section.name, declared.table.name)] = declared.name
    loads = _latest_loads(warehouse, run_id)
    loaded: dict[tuple[str, str, dt.date], str] = {}  # (channel, account, day) -> connector
    for row in loads:
        connector, table = row["connector"], row["table_name"]
        if row["status"] == "success" and primary.get(connector) == table:
            loaded[(channel_of[connector], row["account_id"], row["day"])] = connector
        stream = reports.get((connector, table))
        if row["status"] == "success" and row["quarantined"] and stream is not None:
            result.quarantined.append(
                Quarantined(connector, stream, table, row["account_id"], row["day"], int(row["quarantined"]))
            )
    if not loaded or not with_totals:
        return result
    if not table_exists(warehouse, RECONCILIATION):
        raise RuntimeError(f"{RECONCILIATION} does not exist: dbt did not build it, so nothing can be reconciled")
    first, last = min(day for _, _, day in loaded), max(day for _, _, day in loaded)
    table = sql_table(warehouse, RECONCILIATION)
    verdicts = warehouse.query(
        f"SELECT channel, account_id, date_day, verdict FROM {table} "
        "WHERE metric = 'spend' AND date_day BETWEEN ? AND ?",
        [first, last],
    )
    seen: set[tuple[str, str, dt.date]] = set()
    for channel, account, day, verdict in verdicts:
        key = (str(channel), str(account), _day(day))
        if key not in loaded:
            continue
        seen.add(key)
        if verdict == "unchecked":
            result.unchecked[loaded[key]] = result.unchecked.get(loaded[key], 0) + 1
        else:
            result.checked += 1
    for key, connector in loaded.items():  # no row in the model: neither ad rows nor a platform total landed
        if key not in seen:
            result.unchecked[connector] = result.unchecked.get(connector, 0) + 1
    off = warehouse.query(
        f"SELECT channel, account_id, date_day, metric, platform_value, landed_value, account_currency FROM {table} "
        "WHERE verdict = 'mismatch' AND date_day BETWEEN ? AND ? ORDER BY channel, account_id, date_day, metric",
        [first, last],
    )
    for channel, account, day, metric, platform, landed, currency in off:
        key = (str(channel), str(account), _day(day))
        if key not in loaded:
            continue
        mismatch = Mismatch(
            loaded[key],
            key[0],
            key[1],
            key[2],
            str(metric),
            _decimal(platform),
            _decimal(landed) or Decimal(0),
            currency,
        )
        result.mismatches.append(mismatch)
        if metric == "spend" and mismatch.difference < 0:
            label = f"{mismatch.connector} {currency or ''}".strip()
            result.money_missing[label] = result.money_missing.get(label, Decimal(0)) - mismatch.difference
    return result


def day_ranges(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as ranges of consecutive days."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1][1] + dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def reextract_units(config: PipelineConfig, result: ReconcileResult) -> dict[str, list[dict[str, str]]]:
    """The units to extract once more, per connector: for each account-day that did not reconcile, its primary
    stream and its platform totals; for each unit with quarantined rows, that stream."""
    streams: dict[str, tuple[str, str | None]] = {}
    for section in config.connectors:
        cls = connector_class(section.type)
        streams[section.name] = (cls.streams[0].name, cls.totals_stream)
    wanted: dict[tuple[str, str, str], set[dt.date]] = {}
    for mismatch in result.mismatches:
        first, totals = streams[mismatch.connector]
        for name in (first, totals):
            if name is not None:
                wanted.setdefault((mismatch.connector, name, mismatch.account), set()).add(mismatch.day)
    for item in result.quarantined:
        wanted.setdefault((item.connector, item.stream, item.account), set()).add(item.day)
    units: dict[str, list[dict[str, str]]] = {}
    for (connector, stream, account), days in sorted(wanted.items()):
        for start, end in day_ranges(days):
            units.setdefault(connector, []).append(
                {"stream": stream, "account": account, "start": start.isoformat(), "end": end.isoformat()}
            )
    return units


@flow(name="reconciliation", flow_run_name="reconciliation-{run_id}")
def reconciliation(run_id: str, config_path: str | None = None, with_totals: bool = True) -> ReconcileResult:
    """Compare every account-day the run loaded with the platform's own totals (after dbt built the marts), and
    list the report units it loaded with quarantined rows.

    Args:
        run_id: the parent run whose loads (ops.load_log) are reconciled.
        config_path: pipeline.yaml to use (default: $MDP_CONFIG, ./pipeline.yaml, the sample).
        with_totals: compare with the platform totals (needs the marts: false when the run skipped dbt).
    """
    config = load_config(config_path)
    result = reconcile(from_config(config, read_only=True), config, run_id, with_totals=with_totals)
    log = get_run_logger()
    log.info("run %s: %s", run_id, result.summary())
    for line in result.failure_lines():
        log.warning("%s", line)
    return result
