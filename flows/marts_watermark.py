"""Which loaded days the marts have not been rebuilt from yet, persisted in ops.marts_builds.

Every successful dbt build records `loads_through`: the latest successful raw load (ops.load_log) it could
see when it started. A later build rebuilds from the earliest day loaded after that, whatever run loaded
it, so a failed, killed or skipped dbt step never leaves the marts behind raw for good.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from mdp.schema import TableSpec
from warehouse import Warehouse
from warehouse.base import LOAD_LOG, sql_table, table_exists

MARTS_TARGET = "marts"
MARTS_BUILDS = TableSpec(
    name="ops.marts_builds",
    schema=pa.schema(
        [
            pa.field("target", pa.string(), nullable=False),
            pa.field("built_on", pa.date32(), nullable=False),
            pa.field("started_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("finished_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("loads_through", pa.timestamp("us", tz="UTC"), nullable=True),
            pa.field("rebuilt_from", pa.date32(), nullable=True),
        ]
    ),
    account_column="target",
    date_column="built_on",
    description="One row per successful dbt build of the marts: the raw loads it covered.",
    column_docs={
        "target": "what was built (marts)",
        "built_on": "UTC day the build finished",
        "started_at": "when the build started",
        "finished_at": "when it finished",
        "loads_through": "latest successful raw load (ops.load_log finished_at) visible when it started",
        "rebuilt_from": "first day the incremental marts rebuilt (null: the default window)",
    },
)


def _in_list(values: Sequence[str]) -> tuple[str, list[Any]]:
    return ", ".join("?" for _ in values), list(values)


def latest_load(warehouse: Warehouse, raw_tables: Sequence[str]) -> dt.datetime | None:
    """The latest successful load of any of `raw_tables` (what a build starting now covers)."""
    if not table_exists(warehouse, LOAD_LOG):
        return None
    marks, values = _in_list(raw_tables)
    rows = warehouse.query(
        f"SELECT max(finished_at) FROM {sql_table(warehouse, LOAD_LOG)} "
        f"WHERE status = 'success' AND table_name IN ({marks})",
        values,
    )
    return rows[0][0] if rows else None


def unbuilt_since(warehouse: Warehouse, raw_tables: Sequence[str]) -> dt.date | None:
    """The earliest day loaded after the last successful build (every loaded day when none is recorded);
    None when the marts are up to date with raw."""
    if not table_exists(warehouse, LOAD_LOG):
        return None
    marks, values = _in_list(raw_tables)
    built = None
    if table_exists(warehouse, MARTS_BUILDS.name):
        rows = warehouse.query(
            f"SELECT max(loads_through) FROM {sql_table(warehouse, MARTS_BUILDS.name)} WHERE target = ?",
            [MARTS_TARGET],
        )
        built = rows[0][0] if rows else None
    sql = f"SELECT min(day) FROM {sql_table(warehouse, LOAD_LOG)} WHERE status = 'success' AND table_name IN ({marks})"
    if built is not None:
        sql += " AND finished_at > ?"
        values.append(built)
    rows = warehouse.query(sql, values)
    day = rows[0][0] if rows else None
    return day if day is None or isinstance(day, dt.date) else dt.date.fromisoformat(str(day)[:10])


def record_build(
    warehouse: Warehouse,
    run_id: str,
    started_at: dt.datetime,
    loads_through: dt.datetime | None,
    rebuilt_from: dt.date | None,
) -> None:
    """Append a successful build to ops.marts_builds."""
    warehouse.ensure_table(MARTS_BUILDS)
    finished_at = dt.datetime.now(dt.UTC)
    columns = [*MARTS_BUILDS.schema.names, "_run_id", "_loaded_at"]
    values = [MARTS_TARGET, finished_at.date(), started_at, finished_at, loads_through, rebuilt_from]
    values += [run_id, finished_at]
    # NULL as a literal: an untyped null parameter would be a STRING on BigQuery.
    marks = ", ".join("NULL" if value is None else "?" for value in values)
    warehouse.query(
        f"INSERT INTO {sql_table(warehouse, MARTS_BUILDS.name)} ({', '.join(columns)}) VALUES ({marks})",
        [value for value in values if value is not None],
    )
