"""The embedded default warehouse: one DuckDB file, short-lived connections, one transaction per load."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from mdp.errors import SchemaConflictError, ScopeError, WarehouseBusyError, WarehouseError
from mdp.schema import TableSpec
from warehouse.base import (
    LOAD_LOG,
    LOAD_LOG_SCHEMA,
    QUARANTINE_SCHEMA,
    LoadContext,
    QuarantinedRow,
    ReplaceResult,
    RowsInput,
    Scope,
    Unit,
    Warehouse,
)
from warehouse.rows import check_quarantine_scope, conformed_batches

logger = logging.getLogger(__name__)

_LOCK_MARKERS = ("could not set lock", "conflicting lock")
_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file
_WRITE_LOCKS: dict[Path, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(path: Path) -> threading.Lock:
    """One writer at a time per file within this process (threads share DuckDB's instance)."""
    key = path.resolve()
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())


# Existing column type -> declared types whose values it holds without loss.
_COMPATIBLE = {
    "BIGINT": {"INTEGER", "SMALLINT", "TINYINT"},
    "DOUBLE": {"FLOAT", "INTEGER", "SMALLINT"},
    "VARCHAR": set(),
}


def duckdb_type(arrow_type: pa.DataType) -> str:
    """The DuckDB column type for an Arrow type (the subset raw tables use)."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "VARCHAR"
    if pa.types.is_int64(arrow_type):
        return "BIGINT"
    if pa.types.is_int32(arrow_type):
        return "INTEGER"
    if pa.types.is_int16(arrow_type):
        return "SMALLINT"
    if pa.types.is_float64(arrow_type):
        return "DOUBLE"
    if pa.types.is_float32(arrow_type):
        return "FLOAT"
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_date32(arrow_type):
        return "DATE"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP WITH TIME ZONE" if arrow_type.tz else "TIMESTAMP"
    if pa.types.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision},{arrow_type.scale})"
    raise WarehouseError(f"no DuckDB column type for Arrow type {arrow_type}")


def quote(name: str) -> str:
    """A quoted identifier; `schema.table` becomes `"schema"."table"`."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


class DuckDBWarehouse(Warehouse):
    """A DuckDB file. Every operation opens and closes its own connection, because DuckDB lets only
    one process hold the file: another process (a dbt build, a second run) gets its turn in between."""

    def __init__(self, path: Path | str, *, lock_timeout: float = 30.0, read_only: bool = False) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.read_only = read_only
        self._ensured: set[tuple[str, str]] = set()  # (table, schema) checked by this instance's loads

    def __repr__(self) -> str:
        return f"DuckDBWarehouse({str(self.path)!r})"

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the file, waiting up to `lock_timeout` for another process to release it."""
        if self.read_only:
            if not self.path.is_file():
                raise WarehouseError(
                    f"warehouse file not found: {self.path} (check warehouse.path; `mdp run` or `mdp demo` creates it)"
                )
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.05
        while True:
            try:
                connection = duckdb.connect(str(self.path), read_only=self.read_only)
                break
            except duckdb.IOException as exc:
                text = str(exc).lower()
                if not any(marker in text for marker in _LOCK_MARKERS):
                    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise WarehouseError(f"cannot open warehouse {self.path}: {first}") from None
                if time.monotonic() >= deadline:
                    raise WarehouseBusyError(
                        f"warehouse is in use by another process: {self.path} stayed locked for "
                        f"{self.lock_timeout:g}s ({str(exc).splitlines()[0]}). Wait for that process "
                        "(a pipeline run, a dbt build, an open DuckDB shell) to finish, then retry."
                    ) from None
                time.sleep(min(delay, max(deadline - time.monotonic(), 0.0)))
                delay = min(delay * 2, 1.0)
        try:
            connection.execute("SET TimeZone = 'UTC'")
            yield connection
        finally:
            connection.close()

    def check_ready(self) -> None:
        """The file can be created (its nearest existing folder is writable: nothing is created now), or it is
        a DuckDB database this DuckDB opens (a supported storage version), in a writable folder (DuckDB writes
        its .wal beside it), and not held by another process beyond `lock_timeout`."""
        path = self.path
        if path.is_dir():
            raise WarehouseError(f"warehouse.path: {path} is a folder; give the path of a DuckDB file")
        folder = path.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise WarehouseError(f"warehouse.path: cannot create {path}: {folder} is not a folder")
        if not self.read_only:
            try:
                with tempfile.TemporaryFile(dir=folder, prefix=".mdp-write-check-"):
                    pass
            except OSError as exc:
                raise WarehouseError(
                    f"warehouse.path: folder {folder} is not writable ({exc.strerror or type(exc).__name__}); "
                    f"DuckDB writes {path.name} and its .wal there"
                ) from None
        if not path.exists():
            if self.read_only:
                raise WarehouseError(f"warehouse.path: warehouse file not found: {path}")
            return
        try:
            with path.open("rb") as handle:
                header = handle.read(12)
        except OSError as exc:
            raise WarehouseError(f"warehouse.path: cannot read {path} ({exc.strerror or type(exc).__name__})") from None
        if header[8:12] != _MAGIC:
            what = "an empty file" if not header else "a file that is not a DuckDB database"
            raise WarehouseError(
                f"warehouse.path: {path} is {what}; point warehouse.path at a DuckDB file, or move this one away"
            )
        try:
            with self.connect() as con:
                con.execute("SELECT 1")
        except WarehouseError as exc:  # the lock wait ran out, or DuckDB refused the file
            raise type(exc)(f"warehouse.path: {exc}") from None
        except duckdb.Error as exc:  # e.g. a storage version this DuckDB cannot read, a corrupt header
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise WarehouseError(f"warehouse.path: DuckDB {duckdb.__version__} cannot open {path}: {first}") from None

    def ensure_table(self, spec: TableSpec) -> None:
        self.ensure_tables([spec])

    def ensure_tables(self, specs: Iterable[TableSpec]) -> None:
        """`ensure_table` of each, through one connection (one open and one checkpoint for them all)."""
        with _write_lock(self.path), self.connect() as con:
            for spec in specs:
                self._ensure(con, spec.name, spec.full_schema())

    def ensure_ops(self) -> None:
        with _write_lock(self.path), self.connect() as con:
            self._ensure(con, LOAD_LOG, LOAD_LOG_SCHEMA)

    def _ensure_once(self, con: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema) -> None:
        """`_ensure`, skipped when this instance's loads already checked the same table and schema (a run's
        loads check each table once, not once per load)."""
        key = (name, schema.to_string())
        if key not in self._ensured:
            self._ensure(con, name, schema)
            self._ensured.add(key)

    def _ensure(self, con: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema) -> None:
        schema_name, table_name = name.split(".")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema_name)}")
        existing = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema_name, table_name],
            ).fetchall()
        )
        if not existing:
            columns = ", ".join(
                f"{quote(f.name)} {duckdb_type(f.type)}{'' if f.nullable else ' NOT NULL'}" for f in schema
            )
            con.execute(f"CREATE TABLE IF NOT EXISTS {quote(name)} ({columns})")
            return
        for f in schema:
            wanted = duckdb_type(f.type)
            have = existing.get(f.name)
            if have is None:
                logger.info("adding column %s.%s %s", name, f.name, wanted)
                con.execute(f"ALTER TABLE {quote(name)} ADD COLUMN {quote(f.name)} {wanted}")
            elif have != wanted and wanted not in _COMPATIBLE.get(have, set()):
                raise SchemaConflictError(
                    f"table {name}, column {f.name}: existing type {have} cannot take the declared type "
                    f"{wanted}. Migrate the column (or rename the new field) instead of changing its type."
                )

    def replace_partitions(
        self,
        spec: TableSpec,
        rows: RowsInput,
        scope: Scope,
        context: LoadContext,
        quarantine: Sequence[QuarantinedRow] = (),
    ) -> ReplaceResult:
        check_quarantine_scope(spec, quarantine, scope)
        loaded_at = dt.datetime.now(dt.UTC)
        target = spec.full_schema()
        columns = ", ".join(quote(f.name) for f in target)
        counts: dict[Unit, int] = dict.fromkeys(scope.units, 0)
        with _write_lock(self.path), self.connect() as con:
            for name, schema in (
                (spec.name, target),
                (spec.quarantine_name(), QUARANTINE_SCHEMA),
                (LOAD_LOG, LOAD_LOG_SCHEMA),
            ):
                self._ensure_once(con, name, schema)
            con.execute("BEGIN TRANSACTION")
            try:
                con.register("mdp_scope", scope.as_arrow())
                for table in (spec.name, spec.quarantine_name()):
                    key, day = (spec.account_column, spec.date_column) if table == spec.name else ("account_id", "day")
                    con.execute(
                        f"DELETE FROM {quote(table)} AS t USING mdp_scope AS s "
                        f"WHERE t.{quote(key)} = s.account_id AND t.{quote(day)} = s.day"
                    )
                for batch in conformed_batches(spec, rows, context, loaded_at):
                    con.register("mdp_batch", batch)
                    per_unit = con.execute(
                        f"SELECT {quote(spec.account_column)}, {quote(spec.date_column)}, count(*) "
                        "FROM mdp_batch GROUP BY ALL"
                    ).fetchall()
                    stray = sorted(
                        ((a, d) for a, d, _ in per_unit if (a, d) not in counts),
                        key=lambda u: (str(u[0]), str(u[1])),
                    )
                    if stray:
                        raise ScopeError(
                            f"{spec.name}: {len(stray)} (account, day) unit(s) in the rows are outside the "
                            f"load scope, e.g. {stray[:5]}; nothing was changed"
                        )
                    for account, day, n in per_unit:
                        counts[(account, day)] += n
                    con.execute(f"INSERT INTO {quote(spec.name)} ({columns}) SELECT {columns} FROM mdp_batch")
                    con.unregister("mdp_batch")
                quarantined = _quarantine_table(quarantine, context.run_id, loaded_at)
                if quarantined.num_rows:
                    con.register("mdp_quarantine", quarantined)
                    con.execute(f"INSERT INTO {quote(spec.quarantine_name())} SELECT * FROM mdp_quarantine")
                con.register("mdp_log", _log_table(spec, scope, context, counts, quarantine, loaded_at))
                con.execute(f"INSERT INTO {quote(LOAD_LOG)} SELECT * FROM mdp_log")
                con.execute("COMMIT")
            except BaseException as exc:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error as rollback_error:  # a failed COMMIT already ended the transaction
                    logger.debug("rollback after a failed load of %s: %s", spec.name, rollback_error)
                self._ensured.clear()  # e.g. a table changed by another process: check again next time
                if isinstance(exc, WarehouseError) or not isinstance(exc, Exception):
                    raise
                if isinstance(exc, duckdb.Error):
                    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise WarehouseError(f"{spec.name}: load failed, nothing was changed: {first}") from None
                raise
        total = sum(counts.values())
        logger.info(
            "replaced %d unit(s) of %s with %d row(s) (%d quarantined)",
            len(scope),
            spec.name,
            total,
            len(quarantine),
        )
        return ReplaceResult(spec.name, len(scope), total, len(quarantine), counts)

    def log_failure(self, spec: TableSpec, scope: Scope, context: LoadContext, error: str) -> None:
        now = dt.datetime.now(dt.UTC)
        table = _log_table(spec, scope, context, dict.fromkeys(scope.units, 0), (), now, error=error)
        with _write_lock(self.path), self.connect() as con:
            try:
                self._ensure(con, LOAD_LOG, LOAD_LOG_SCHEMA)
                con.register("mdp_log", table)
                con.execute(f"INSERT INTO {quote(LOAD_LOG)} SELECT * FROM mdp_log")
            except duckdb.Error as exc:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise WarehouseError(f"{LOAD_LOG}: cannot record the failure of {spec.name}: {first}") from None

    def row_counts(
        self,
        spec: TableSpec,
        start: dt.date | None = None,
        end: dt.date | None = None,
        accounts: Sequence[str] | None = None,
    ) -> dict[Unit, int]:
        account, day = quote(spec.account_column), quote(spec.date_column)
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        if start is not None:
            where.append(f"{day} >= ?")
            params.append(start)
        if end is not None:
            where.append(f"{day} <= ?")
            params.append(end)
        if accounts is not None:
            where.append(f"list_contains(?, {account})")
            params.append(list(accounts))
        with self.connect() as con:
            if not self._exists(con, spec.name):
                return {}
            result = con.execute(
                f"SELECT {account}, {day}, count(*) FROM {quote(spec.name)} WHERE {' AND '.join(where)} GROUP BY ALL",
                params,
            ).fetchall()
        return {(a, d): n for a, d, n in result}

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connect() as con, self._unreadable():
            return con.execute(sql, list(parameters)).fetchall()

    def query_arrow(self, sql: str, parameters: Sequence[Any] = ()) -> pa.Table:
        with self.connect() as con, self._unreadable():
            result = con.execute(sql, list(parameters)).to_arrow_table()
        return result if isinstance(result, pa.Table) else pa.table(result)

    @contextmanager
    def _unreadable(self) -> Iterator[None]:
        """A file DuckDB cannot read (truncated, corrupt) as a WarehouseError naming it, not a traceback."""
        try:
            yield
        except duckdb.IOException as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise WarehouseError(f"cannot read warehouse {self.path}: {first}") from None

    def table_exists(self, name: str) -> bool:
        with self.connect() as con:
            return self._exists(con, name)

    @staticmethod
    def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
        schema_name, table_name = name.split(".")
        found = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema_name, table_name],
        ).fetchone()
        return bool(found and found[0])


def _quarantine_table(rows: Iterable[QuarantinedRow], run_id: str, loaded_at: dt.datetime) -> pa.Table:
    items = list(rows)
    return pa.Table.from_pylist(
        [
            {
                "account_id": q.account_id,
                "day": q.day,
                "reason": q.reason,
                "record": q.record,
                "_run_id": run_id,
                "_loaded_at": loaded_at,
            }
            for q in items
        ],
        schema=QUARANTINE_SCHEMA,
    )


def _log_table(
    spec: TableSpec,
    scope: Scope,
    context: LoadContext,
    counts: Mapping[Unit, int],
    quarantine: Sequence[QuarantinedRow],
    finished_at: dt.datetime,
    *,
    error: str | None = None,
) -> pa.Table:
    quarantined: dict[Unit, int] = {}
    for q in quarantine:
        quarantined[(q.account_id, q.day)] = quarantined.get((q.account_id, q.day), 0) + 1
    units = sorted(scope.units)
    return pa.Table.from_pylist(
        [
            {
                "connector": context.connector,
                "table_name": spec.name,
                "account_id": account,
                "day": day,
                "rows": counts.get((account, day), 0),
                "quarantined": quarantined.get((account, day), 0),
                "status": "failed" if error else "success",
                "run_id": context.run_id,
                "started_at": context.started_at,
                "finished_at": finished_at,
                "error": error,
            }
            for account, day in units
        ],
        schema=LOAD_LOG_SCHEMA,
    )
