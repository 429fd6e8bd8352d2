"""The Warehouse interface: atomic replacement of (account, day) units, load log, row counts."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import pyarrow as pa

from mdp.schema import QuarantinedRow, TableSpec

__all__ = ["QuarantinedRow"]

LOAD_LOG = "ops.load_log"
LOAD_LOG_SCHEMA = pa.schema(
    [
        pa.field("connector", pa.string(), nullable=False),
        pa.field("table_name", pa.string(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("rows", pa.int64(), nullable=False),
        pa.field("quarantined", pa.int64(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("started_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("finished_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("error", pa.string(), nullable=True),
    ]
)
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("record", pa.string(), nullable=True),
        pa.field("_run_id", pa.string(), nullable=False),
        pa.field("_loaded_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

Unit = tuple[str, dt.date]
RowsInput: TypeAlias = pa.Table | pa.RecordBatch | Sequence[Mapping[str, Any]] | Iterable[pa.RecordBatch]


@dataclass(frozen=True)
class Scope:
    """The (account, day) units a load replaces: every one of them ends up holding exactly the rows
    given for it (possibly none); no other unit is touched."""

    units: frozenset[Unit]

    @classmethod
    def of(cls, accounts: Iterable[str], start: dt.date, end: dt.date) -> Scope:
        """Every day from start to end inclusive, for each account."""
        if end < start:
            raise ValueError(f"scope end {end} is before start {start}")
        days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
        return cls(frozenset((a, d) for a in accounts for d in days))

    @classmethod
    def from_units(cls, units: Iterable[Unit]) -> Scope:
        return cls(frozenset(units))

    def __len__(self) -> int:
        return len(self.units)

    def accounts(self) -> list[str]:
        return sorted({a for a, _ in self.units})

    def days(self) -> list[dt.date]:
        return sorted({d for _, d in self.units})

    def as_arrow(self) -> pa.Table:
        ordered = sorted(self.units)
        return pa.table(
            {
                "account_id": pa.array([a for a, _ in ordered], pa.string()),
                "day": pa.array([d for _, d in ordered], pa.date32()),
            }
        )


@dataclass(frozen=True)
class LoadContext:
    """Who is loading: written to every row's metadata and to ops.load_log."""

    connector: str
    run_id: str
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class ReplaceResult:
    table: str
    units: int
    rows: int
    quarantined: int
    rows_per_unit: dict[Unit, int]


class Warehouse(ABC):
    """What flows need from a warehouse. Implementations: DuckDB (embedded), BigQuery (production)."""

    @abstractmethod
    def ensure_table(self, spec: TableSpec) -> None:
        """Create the table from its declared schema, or add new nullable columns.

        Raises:
            SchemaConflictError: a column exists with an incompatible type.
        """

    @abstractmethod
    def ensure_ops(self) -> None:
        """Create the operational tables (ops.load_log) if they do not exist."""

    @abstractmethod
    def replace_partitions(
        self,
        spec: TableSpec,
        rows: RowsInput,
        scope: Scope,
        context: LoadContext,
        quarantine: Sequence[QuarantinedRow] = (),
    ) -> ReplaceResult:
        """Replace exactly the units of `scope` with `rows`, atomically, and log each unit.

        Raises:
            ScopeError: a row (or quarantined row) lies outside the scope; nothing changed.
            WarehouseError: the load failed; nothing changed.
        """

    @abstractmethod
    def log_failure(self, spec: TableSpec, scope: Scope, context: LoadContext, error: str) -> None:
        """Record in ops.load_log that these units failed to extract or load (data untouched)."""

    @abstractmethod
    def row_counts(
        self,
        spec: TableSpec,
        start: dt.date | None = None,
        end: dt.date | None = None,
        accounts: Sequence[str] | None = None,
    ) -> dict[Unit, int]:
        """Rows per (account, day) currently in the table."""

    @abstractmethod
    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one SQL statement and return its rows."""

    @abstractmethod
    def query_arrow(self, sql: str, parameters: Sequence[Any] = ()) -> pa.Table:
        """Run one SQL statement and return an Arrow table."""
