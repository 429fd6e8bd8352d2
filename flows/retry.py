"""Retrying a run's failed units: from ops.load_log, the (connector, stream, account, days) a run failed to load
and that no later run has loaded since, as contiguous day ranges."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from connectors.registry import build_connector
from flows.windows import ParameterError
from mdp.config import PipelineConfig
from warehouse import Warehouse
from warehouse.base import LOAD_LOG, sql_table, table_exists

LATEST = "latest"


@dataclass(frozen=True)
class RetryUnit:
    connector: str
    stream: str
    account: str
    start: dt.date
    end: dt.date

    def as_parameter(self) -> dict[str, str]:
        return {"stream": self.stream, "account": self.account, "start": str(self.start), "end": str(self.end)}


def failed_units(
    warehouse: Warehouse, config: PipelineConfig, run_id: str = LATEST
) -> tuple[str | None, list[RetryUnit]]:
    """The run (`latest`: the most recent run with a unit still failed) and its units still failed.

    Raises:
        ParameterError: the run id is not in ops.load_log.
    """
    if not table_exists(warehouse, LOAD_LOG):
        if run_id == LATEST:
            return None, []
        raise ParameterError(f"retry_failed: run {run_id} is not in {LOAD_LOG} (nothing was loaded yet)")
    columns = ["connector", "table_name", "account_id", "day", "status", "run_id", "finished_at"]
    rows = [
        dict(zip(columns, row, strict=True))
        for row in warehouse.query(f"SELECT {', '.join(columns)} FROM {sql_table(warehouse, LOAD_LOG)}")
    ]
    latest: dict[tuple[str, str, str, Any], dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r["finished_at"]):  # the latest load of a unit decides
        latest[(row["connector"], row["table_name"], str(row["account_id"]), row["day"])] = row
    still_failed = [row for row in latest.values() if row["status"] != "success"]
    if run_id == LATEST:
        if not still_failed:
            return None, []
        run_id = max(still_failed, key=lambda r: r["finished_at"])["run_id"]
    elif not any(row["run_id"] == run_id for row in rows):
        raise ParameterError(f"retry_failed: run {run_id} is not in {LOAD_LOG}")
    mine = [row for row in still_failed if row["run_id"] == run_id]
    return run_id, _ranges(config, mine)


def landed_days(warehouse: Warehouse, run_id: str) -> set[tuple[str, str, str, dt.date]]:
    """The (connector, table, account, day) loaded successfully since this run started: by it, or by runs
    resuming it (so a resumed run interrupted again is resumed with the same id).

    Raises:
        ParameterError: the run id is not in ops.load_log.
    """
    if not table_exists(warehouse, LOAD_LOG):
        raise ParameterError(f"resume: run {run_id} is not in {LOAD_LOG} (nothing was loaded yet)")
    log = sql_table(warehouse, LOAD_LOG)
    began = warehouse.query(f"SELECT min(started_at) FROM {log} WHERE run_id = ?", [run_id])
    if not began or began[0][0] is None:
        raise ParameterError(f"resume: run {run_id} is not in {LOAD_LOG} (it loaded nothing: run it again whole)")
    rows = warehouse.query(
        f"SELECT DISTINCT connector, table_name, account_id, day FROM {log} "
        "WHERE status = 'success' AND finished_at >= ?",
        [began[0][0]],
    )
    return {(c, t, str(a), _day(d)) for c, t, a, d in rows}


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _ranges(config: PipelineConfig, rows: list[dict[str, Any]]) -> list[RetryUnit]:
    """Failed (connector, table, account, day) rows -> units of contiguous days per stream."""
    streams: dict[tuple[str, str], str] = {}
    for section in config.connectors:
        for declared in build_connector(config, section).streams:  # with its custom streams
            streams[(section.name, declared.table.name)] = declared.name
    days: dict[tuple[str, str, str], list[dt.date]] = {}
    for row in rows:
        stream = streams.get((row["connector"], row["table_name"]))
        if stream is None:  # a connector or stream no longer configured: nothing to rerun it with
            continue
        day = _day(row["day"])
        days.setdefault((row["connector"], stream, str(row["account_id"])), []).append(day)
    units = []
    for (connector, stream, account), found in sorted(days.items()):
        found.sort()
        start = previous = found[0]
        for day in found[1:]:
            if day != previous + dt.timedelta(days=1):
                units.append(RetryUnit(connector, stream, account, start, previous))
                start = day
            previous = day
        units.append(RetryUnit(connector, stream, account, start, previous))
    return units
