"""The Warehouse interface: atomic replacement of (account, day) units, load log, row counts."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from mdp.errors import ScopeError
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
class LoadPart:
    """The rows and quarantine of one part of a combined load, and the units they replace."""

    rows: RowsInput
    scope: Scope
    quarantine: Sequence[QuarantinedRow] = ()


@dataclass(frozen=True)
class ReplaceResult:
    table: str
    units: int
    rows: int
    quarantined: int
    rows_per_unit: dict[Unit, int]


def units_in(spec: TableSpec, rows: pa.Table) -> set[Unit]:
    """The distinct (account, day) units of an Arrow table's rows."""
    if rows.num_rows == 0:
        return set()
    try:
        pairs = pa.table(
            {
                "a": rows.column(spec.account_column).cast(pa.string()),
                "d": rows.column(spec.date_column).cast(pa.date32()),
            }
        )
    except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ScopeError(f"{spec.name}: rows without a readable account or day column: {exc}") from None
    distinct = pairs.group_by(["a", "d"]).aggregate([])
    return set(zip(distinct.column("a").to_pylist(), distinct.column("d").to_pylist(), strict=True))


def inside_one_account_run(spec: TableSpec, rows: pa.Table, scope: Scope) -> bool:
    """Whether every row certainly lies in `scope`, answered without grouping the rows when the scope is one
    account's run of consecutive days (a unit of the flow: one account, one chunk): every row names that
    account and its day lies in the run. False means "not shown": the caller groups the rows (`units_in`).
    ~20x cheaper than grouping a unit's rows, which a load of hundreds of units does once per unit."""
    accounts = scope.accounts()
    if len(accounts) != 1 or rows.num_rows == 0:
        return False
    days = scope.days()
    if (days[-1] - days[0]).days + 1 != len(days):
        return False
    try:
        account = rows.column(spec.account_column).cast(pa.string())
        day = rows.column(spec.date_column).cast(pa.date32())
    except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    if account.null_count or day.null_count:
        return False
    if not pc.all(pc.equal(account, accounts[0])).as_py():
        return False
    bounds = pc.min_max(day)
    return bool(days[0] <= bounds["min"].as_py() and bounds["max"].as_py() <= days[-1])


def combine_parts(spec: TableSpec, parts: Sequence[LoadPart]) -> LoadPart:
    """The parts as one load: rows concatenated, scopes united, after checking that each part's rows
    and quarantine lie in its own scope and that no two parts share a unit.

    Raises:
        ScopeError: naming the first offending part's units.
    """
    tables: list[pa.Table] = []
    seen: set[Unit] = set()
    for part in parts:
        shared = part.scope.units & seen
        if shared:
            raise ScopeError(f"{spec.name}: two parts of one load share unit(s) {sorted(shared)[:5]}")
        seen |= part.scope.units
        if isinstance(part.rows, pa.Table):
            found = set() if inside_one_account_run(spec, part.rows, part.scope) else units_in(spec, part.rows)
            tables.append(part.rows)
        elif isinstance(part.rows, Sequence) and not part.rows:
            found = set()
        else:
            raise TypeError(f"{spec.name}: a combined load takes Arrow tables, not {type(part.rows).__name__}")
        outside = sorted(found - part.scope.units, key=str)
        outside += sorted({(q.account_id, q.day) for q in part.quarantine} - part.scope.units, key=str)
        if outside:
            raise ScopeError(
                f"{spec.name}: {len(outside)} (account, day) unit(s) in the rows are outside the load scope, "
                f"e.g. {outside[:5]}; nothing was changed"
            )
    # One contiguous table: DuckDB scans an Arrow table of hundreds of small chunks (one or more per unit) ~1.6x
    # slower than the same rows in one chunk (benchmarks/loader.py, `ours_arrow_chunked`); the copy costs less.
    rows: RowsInput = pa.concat_tables(tables, promote_options="default").combine_chunks() if tables else []
    return LoadPart(rows, Scope.from_units(seen))


class Warehouse(ABC):
    """What flows need from a warehouse. Implementations: DuckDB (embedded), BigQuery (production)."""

    @abstractmethod
    def check_ready(self) -> None:
        """Check, before a run calls any API, that it could write here; change nothing.

        Raises:
            MDPError: one line naming the `warehouse.*` key at fault and the cause (ConfigError for
                credentials, WarehouseError for the rest).
        """

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

    def replace_many(self, spec: TableSpec, parts: Sequence[LoadPart], context: LoadContext) -> list[ReplaceResult]:
        """Replace several parts in one atomic load (one transaction, one set of schema checks): what a
        batch of extraction units costs once instead of once per unit. Each part's rows and quarantine
        must lie inside that part's own scope, and scopes must not overlap; the result is per part.

        Raises:
            ScopeError: a part's rows lie outside its scope, or two parts share a unit; nothing changed.
            WarehouseError: the load failed; nothing changed.
        """
        if len(parts) == 1:
            part = parts[0]
            return [self.replace_partitions(spec, part.rows, part.scope, context, part.quarantine)]
        combined = combine_parts(spec, parts)
        quarantine = [q for part in parts for q in part.quarantine]
        result = self.replace_partitions(spec, combined.rows, combined.scope, context, quarantine)
        return [
            ReplaceResult(
                spec.name,
                len(part.scope),
                sum(result.rows_per_unit.get(u, 0) for u in part.scope.units),
                len(part.quarantine),
                {u: result.rows_per_unit.get(u, 0) for u in part.scope.units},
            )
            for part in parts
        ]

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


def sql_table(warehouse: Warehouse, name: str) -> str:
    """A `schema.table` name as the warehouse's SQL spells it (BigQuery: project and dataset prefix)."""
    table_id = getattr(warehouse, "table_id", None)
    if callable(table_id):
        return f"`{table_id(name)}`"
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def table_exists(warehouse: Warehouse, name: str) -> bool:
    """Whether a `schema.table` exists (a warehouse that cannot tell says it does)."""
    exists = getattr(warehouse, "table_exists", None)
    return bool(exists(name)) if callable(exists) else True
