"""What is loaded: per connector and account, the last loaded day, the days missing or failed in a window
(in any stream), quarantined rows and the last run; whether the marts are level with raw; and the
account-days the marts had to leave out. Read-only."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from flows.marts_watermark import MARTS_BUILDS, unbuilt_since
from mdp.config import PipelineConfig
from warehouse import Warehouse, from_config
from warehouse.base import LOAD_LOG, sql_table, table_exists

FACT = "marts.fct_ad_performance_daily"
EXCLUDED = "marts.excluded_account_days"


@dataclass(frozen=True)
class ExcludedDay:
    """A channel x account x day x report the marts left out: it cannot be converted (no currency, no rate)."""

    date_day: dt.date
    channel: str
    account_id: str
    report: str
    account_currency: str | None
    reason: str

    def line(self) -> str:
        return f"{self.channel} account {self.account_id} {self.date_day} ({self.report}): {self.reason}"


def excluded_account_days(warehouse: Warehouse) -> list[ExcludedDay]:
    """The rows of marts.excluded_account_days (none before the model is first built)."""
    if not table_exists(warehouse, EXCLUDED):
        return []
    rows = warehouse.query(
        "SELECT date_day, channel, account_id, report, account_currency, reason "
        f"FROM {sql_table(warehouse, EXCLUDED)} ORDER BY date_day, channel, account_id, report"
    )
    return [
        ExcludedDay(_day(day), str(channel), str(account), str(report), None if cur is None else str(cur), str(why))
        for day, channel, account, report, cur, why in rows
    ]


@dataclass
class AccountStatus:
    connector: str
    account: str
    last_loaded_day: dt.date | None
    missing_days: list[dt.date] = field(default_factory=list)
    failed_days: list[dt.date] = field(default_factory=list)
    failed_streams: list[str] = field(default_factory=list)  # the streams (raw tables) whose load failed
    quarantined: int = 0
    last_run: str | None = None
    last_run_status: str | None = None
    last_loaded_at: dt.datetime | None = None
    last_error: str | None = None

    @property
    def stale(self) -> bool:
        return bool(self.missing_days or self.failed_days)


@dataclass
class Status:
    start: dt.date
    end: dt.date
    accounts: list[AccountStatus]
    raw_last_day: dict[str, dt.date | None]
    marts_last_day: dict[str, dt.date | None]
    marts_behind_from: dt.date | None
    last_marts_build: dt.datetime | None
    excluded: list[ExcludedDay] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return any(a.stale for a in self.accounts) or self.marts_behind_from is not None or bool(self.excluded)

    def as_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, dt.date | dt.datetime):
                return value.isoformat()
            if isinstance(value, list):
                return [plain(v) for v in value]
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value

        result: dict[str, Any] = plain(
            {
                "window": {"start": self.start, "end": self.end},
                "stale": self.stale,
                "accounts": [{**asdict(a), "stale": a.stale} for a in self.accounts],
                "raw_last_day": self.raw_last_day,
                "marts_last_day": self.marts_last_day,
                "marts_behind_from": self.marts_behind_from,
                "last_marts_build": self.last_marts_build,
                "excluded": [asdict(e) for e in self.excluded],
            }
        )
        return result


def _day(value: Any) -> dt.date:
    return (
        value
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime)
        else dt.date.fromisoformat(str(value)[:10])
    )


def read_status(config: PipelineConfig, start: dt.date, end: dt.date) -> Status:
    """The status of every enabled connector's accounts for [start, end], from the warehouse (read-only)."""
    from connectors.registry import build_connectors, connector_class

    warehouse = from_config(config, read_only=True)
    connectors = build_connectors(config)
    log_rows = _load_log(warehouse) if table_exists(warehouse, LOAD_LOG) else []
    window = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    accounts: list[AccountStatus] = []
    for connector in connectors:
        mine = [r for r in log_rows if r["connector"] == connector.name]
        primary = connector.table.name
        known = list(connector.settings.accounts) or sorted(
            {r["account_id"] for r in mine if r["table_name"] == primary}
        )
        for account in known:
            accounts.append(
                _account_status(
                    connector.name, account, [r for r in mine if r["account_id"] == account], window, primary
                )
            )
    raw_tables = {c.type_name: connector_class(c.type_name).table.name for c in connectors}
    raw_last = {
        channel: max(
            (r["day"] for r in log_rows if r["table_name"] == table and r["status"] == "success"), default=None
        )
        for channel, table in raw_tables.items()
    }
    marts_last: dict[str, dt.date | None] = dict.fromkeys(raw_tables)
    if table_exists(warehouse, FACT):
        for channel, day in warehouse.query(
            f"SELECT channel, max(date_day) FROM {sql_table(warehouse, FACT)} GROUP BY 1"
        ):
            marts_last[str(channel)] = _day(day)
    last_build = None
    if table_exists(warehouse, MARTS_BUILDS.name):
        found = warehouse.query(f"SELECT max(finished_at) FROM {sql_table(warehouse, MARTS_BUILDS.name)}")
        last_build = found[0][0] if found else None
    excluded = [e for e in excluded_account_days(warehouse) if start <= e.date_day <= end]
    return Status(
        start,
        end,
        accounts,
        raw_last,
        marts_last,
        unbuilt_since(warehouse, list(raw_tables.values())),
        last_build,
        excluded,
    )


def _load_log(warehouse: Warehouse) -> list[dict[str, Any]]:
    columns = [
        "connector",
        "table_name",
        "account_id",
        "day",
        "quarantined",
        "status",
        "run_id",
        "finished_at",
        "error",
    ]
    rows = warehouse.query(f"SELECT {', '.join(columns)} FROM {sql_table(warehouse, LOAD_LOG)}")
    out = [dict(zip(columns, row, strict=True)) for row in rows]
    for row in out:
        row["day"] = _day(row["day"])
        row["account_id"] = str(row["account_id"])
    return out


def _account_status(
    connector: str, account: str, rows: list[dict[str, Any]], window: list[dt.date], primary: str
) -> AccountStatus:
    """Days are loaded by the primary stream's loads; a day is failed when the latest load of any of the
    account's streams failed (a stream whose load failed is named)."""
    latest: dict[tuple[str, dt.date], dict[str, Any]] = {}
    for row in rows:  # the latest load of each stream and day decides
        key = (row["table_name"], row["day"])
        current = latest.get(key)
        if current is None or row["finished_at"] >= current["finished_at"]:
            latest[key] = row
    loaded = [day for (table, day), row in latest.items() if table == primary and row["status"] == "success"]
    status = AccountStatus(connector, account, max(loaded, default=None))
    status.missing_days = [day for day in window if (primary, day) not in latest]
    failed = {(table, day) for (table, day), row in latest.items() if row["status"] != "success" and day in window}
    status.failed_days = sorted({day for _, day in failed})
    status.failed_streams = sorted({table for table, _ in failed})
    status.quarantined = sum(
        int(row["quarantined"]) for (table, day), row in latest.items() if table == primary and day in window
    )
    if rows:
        last = max(rows, key=lambda r: r["finished_at"])
        status.last_run = str(last["run_id"])
        of_run = [r for r in rows if r["run_id"] == last["run_id"]]
        status.last_run_status = "failed" if any(r["status"] != "success" for r in of_run) else "success"
        status.last_loaded_at = last["finished_at"]
        failures = [r for r in of_run if r["status"] != "success"]
        status.last_error = str(failures[0]["error"]) if failures and failures[0]["error"] else None
    return status
