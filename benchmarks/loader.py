"""Loader benchmark: the same N raw rows replaced in a DuckDB file by our warehouse layer, by dlt's merge and
by a raw DuckDB insert, each as a second load over existing data (the daily replace case)."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from benchmarks.common import Section, human, median, rate, table, timed
from benchmarks.synthetic import Shape, ad_performance, records
from connectors.google_ads.schema import AD_PERFORMANCE
from flows.windows import chunks
from warehouse.base import LoadContext, Scope
from warehouse.duckdb import DuckDBWarehouse, quote
from warehouse.rows import conformed_batches

logger = logging.getLogger(__name__)

DEFAULT_SIZES = (100_000, 1_000_000)
SMOKE_SIZES = (2_000,)
MAX_DICT_ROWS = 1_000_000  # Python dicts of 1e7 rows need ~10 GB: the dict paths stop here unless told
CHUNK_DAYS = 31  # the connectors' default chunk: the flow calls the loader once per (account, chunk)
DLT_MERGE = {"disposition": "merge", "strategy": "delete-insert"}
MERGE_KEY = [AD_PERFORMANCE.account_column, AD_PERFORMANCE.date_column]

METHODS: dict[str, str] = {
    "ours_records": "(a) our layer, Python records (one transaction)",
    "ours_arrow": "(b) our layer, Arrow (one transaction)",
    "ours_arrow_chunked": "(b') our layer, Arrow, one call per (account, 31-day chunk) as the flow does",
    "dlt_dicts_parquet": "(c) dlt merge (delete-insert on account, date), dicts, parquet files",
    "dlt_dicts_insert_values": "(c) dlt merge, dicts, default insert_values files",
    "dlt_arrow": "(c) dlt merge (delete-insert on account, date), Arrow",
    "duckdb_replace": "(d') raw DuckDB DELETE USING scope + INSERT from Arrow, one transaction",
    "duckdb_insert": "(d) raw DuckDB INSERT INTO t SELECT * FROM arrow (append; no delete)",
}
DICT_METHODS = {"ours_records", "dlt_dicts_parquet", "dlt_dicts_insert_values"}
DEFAULT_METHODS = tuple(m for m in METHODS if m != "dlt_dicts_insert_values")


@dataclass
class Measurement:
    method: str
    rows: int
    first_seconds: float
    replace_seconds: list[float] = field(default_factory=list)

    @property
    def median_seconds(self) -> float:
        return median(self.replace_seconds)

    @property
    def rows_per_second(self) -> float:
        return rate(self.rows, self.median_seconds)


class _Case:
    """Everything a method needs for one size: the data in both forms, its scope and a scratch directory."""

    def __init__(self, shape: Shape, workdir: Path, with_records: bool) -> None:
        self.shape = shape
        self.workdir = workdir
        self.arrow = ad_performance(shape)
        self.records: list[dict[str, Any]] | None = records(self.arrow) if with_records else None
        self.scope = shape.scope()
        self.context = LoadContext("benchmark", "bench-run")
        self.full = pa.concat_tables(
            list(conformed_batches(AD_PERFORMANCE, self.arrow, self.context, dt.datetime.now(dt.UTC)))
        )

    def fresh(self, method: str) -> Path:
        directory = self.workdir / method
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        return directory


def _ours(case: _Case, directory: Path, source: Any) -> Callable[[], Any]:
    warehouse = DuckDBWarehouse(directory / "warehouse.duckdb")
    return lambda: warehouse.replace_partitions(AD_PERFORMANCE, source, case.scope, case.context)


def _ours_chunked(case: _Case, directory: Path) -> Callable[[], Any]:
    """One replace per (account, chunk), the rows sliced out of the account-major table (zero copy)."""
    warehouse = DuckDBWarehouse(directory / "warehouse.duckdb")
    days = case.shape.days
    per_day = case.shape.rows_per_unit
    first = case.scope.days()[0]
    calls: list[tuple[pa.Table, Scope]] = []
    for a, account in enumerate(case.shape.account_ids()):
        for start, end in chunks(first, first + dt.timedelta(days=days - 1), CHUNK_DAYS):
            offset = (a * days + (start - first).days) * per_day
            length = ((end - start).days + 1) * per_day
            part = case.arrow.slice(offset, length)
            if part.num_rows:
                units = {(account, start + dt.timedelta(days=d)) for d in range((end - start).days + 1)}
                calls.append((part, Scope.from_units(units & case.scope.units)))

    def run() -> None:
        for part, scope in calls:
            warehouse.replace_partitions(AD_PERFORMANCE, part, scope, case.context)

    return run


def _dlt(case: _Case, directory: Path, source: Any, file_format: str) -> Callable[[], Any]:
    import dlt

    pipeline = dlt.pipeline(
        pipeline_name="bench",
        pipelines_dir=str(directory / "dlt"),
        destination=dlt.destinations.duckdb(str(directory / "warehouse.duckdb")),
        dataset_name=AD_PERFORMANCE.schema_name,
    )

    def run() -> None:
        resource = dlt.resource(
            source, name=AD_PERFORMANCE.table_name, write_disposition=DLT_MERGE, merge_key=MERGE_KEY
        )
        pipeline.run(resource, loader_file_format=file_format)

    return run


def _raw(case: _Case, directory: Path, replace: bool) -> Callable[[], Any]:
    path = str(directory / "warehouse.duckdb")
    DuckDBWarehouse(path).ensure_table(AD_PERFORMANCE)
    name = quote(AD_PERFORMANCE.name)
    account, day = quote(AD_PERFORMANCE.account_column), quote(AD_PERFORMANCE.date_column)
    scope = case.scope.as_arrow()
    full = case.full

    def run() -> None:
        con = duckdb.connect(path)
        try:
            con.register("bench_rows", full)
            con.execute("BEGIN TRANSACTION")
            if replace:
                con.register("bench_scope", scope)
                con.execute(
                    f"DELETE FROM {name} AS t USING bench_scope AS s "
                    f"WHERE t.{account} = s.account_id AND t.{day} = s.day"
                )
            con.execute(f"INSERT INTO {name} SELECT * FROM bench_rows")
            con.execute("COMMIT")
        finally:
            con.close()

    return run


def _prepare(method: str, case: _Case, directory: Path) -> Callable[[], Any]:
    if method == "ours_records":
        return _ours(case, directory, case.records)
    if method == "ours_arrow":
        return _ours(case, directory, case.arrow)
    if method == "ours_arrow_chunked":
        return _ours_chunked(case, directory)
    if method == "dlt_dicts_parquet":
        return _dlt(case, directory, case.records, "parquet")
    if method == "dlt_dicts_insert_values":
        return _dlt(case, directory, case.records, "insert_values")
    if method == "dlt_arrow":
        return _dlt(case, directory, case.arrow, "parquet")
    if method == "duckdb_replace":
        return _raw(case, directory, replace=True)
    if method == "duckdb_insert":
        return _raw(case, directory, replace=False)
    raise ValueError(f"unknown loader method {method!r}; known: {sorted(METHODS)}")


def measure(method: str, case: _Case, repeats: int) -> Measurement:
    """A first load into an empty file, then `repeats` loads of the same rows over it (each timed)."""
    load = _prepare(method, case, case.fresh(method))
    result = Measurement(method, case.shape.rows, timed(load))
    for _ in range(repeats):
        result.replace_seconds.append(timed(load))
    logger.info(
        "%s %d rows: first %.2fs, replace median %.2fs (%s rows/s)",
        method,
        case.shape.rows,
        result.first_seconds,
        result.median_seconds,
        human(result.rows_per_second),
    )
    return result


def run(
    sizes: Sequence[int] = DEFAULT_SIZES,
    repeats: int = 3,
    methods: Sequence[str] = DEFAULT_METHODS,
    max_dict_rows: int = MAX_DICT_ROWS,
    workdir: Path | None = None,
) -> Section:
    """Every method at every size; returns the markdown section and the raw figures."""
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown loader methods {unknown}; known: {sorted(METHODS)}")
    results: list[Measurement] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mdp-bench-loader-", dir=workdir) as tmp:
        for size in sizes:
            wanted = [m for m in methods if m not in DICT_METHODS or size <= max_dict_rows]
            skipped += [
                f"{m} at {size:,} rows (over --max-dict-rows {max_dict_rows:,})" for m in methods if m not in wanted
            ]
            case = _Case(Shape.for_rows(size), Path(tmp) / str(size), any(m in DICT_METHODS for m in wanted))
            for method in wanted:
                results.append(measure(method, case, repeats))
            del case
    return Section("Loader", _markdown(results, sizes, repeats, skipped), _data(results, skipped))


def _ratio(by: dict[tuple[str, int], Measurement], top: str, bottom: str, size: int) -> str:
    a, b = by.get((top, size)), by.get((bottom, size))
    if a is None or b is None:
        return "n/a"
    return f"{a.rows_per_second / b.rows_per_second:.2f}x"


def _markdown(results: list[Measurement], sizes: Sequence[int], repeats: int, skipped: list[str]) -> str:
    by = {(r.method, r.rows): r for r in results}
    rows = [
        [
            f"{r.rows:,}",
            f"`{r.method}`",
            METHODS[r.method],
            f"{r.first_seconds:.2f}",
            f"{r.median_seconds:.2f}",
            human(r.rows_per_second),
            f"{1e6 / r.rows_per_second:.2f}",
        ]
        for r in results
    ]
    headers = ["rows", "method", "what", "first load s", f"replace s (median of {repeats})", "rows/s", "µs/row"]
    ratios = [
        [
            f"{size:,}",
            _ratio(by, "ours_records", "dlt_dicts_parquet", size),
            _ratio(by, "ours_arrow", "dlt_arrow", size),
            _ratio(by, "ours_arrow", "duckdb_insert", size),
            _ratio(by, "ours_arrow", "duckdb_replace", size),
            _ratio(by, "ours_arrow_chunked", "ours_arrow", size),
        ]
        for size in sizes
    ]
    ratio_headers = [
        "rows",
        "a/c: records vs dlt dicts (target >= 10x)",
        "b/c: Arrow vs dlt Arrow (target >= 3x)",
        "b/d: Arrow vs raw insert (target >= 0.8x)",
        "b/d': Arrow vs raw replace",
        "b'/b: per-chunk calls vs one call",
    ]
    parts = [table(headers, rows), "", "Ratios of rows/s, same run:", "", table(ratio_headers, ratios)]
    chart = _chart(results, sizes[-1])
    if chart:
        parts += ["", chart]
    if skipped:
        parts += ["", "Not run: " + "; ".join(skipped) + "."]
    return "\n".join(parts)


def _chart(results: list[Measurement], size: int) -> str:
    """A bar chart (Mermaid, rendered by GitHub) of rows/s per method at one size."""
    mine = [r for r in results if r.rows == size]
    if not mine:
        return ""
    names = ", ".join(f'"{r.method}"' for r in mine)
    values = ", ".join(f"{r.rows_per_second / 1000:.0f}" for r in mine)
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            f'    title "Replace throughput at {size:,} rows (thousand rows/s)"',
            f"    x-axis [{names}]",
            '    y-axis "k rows/s"',
            f"    bar [{values}]",
            "```",
        ]
    )


def _data(results: list[Measurement], skipped: list[str]) -> dict[str, Any]:
    return {
        "results": [
            {
                "method": r.method,
                "rows": r.rows,
                "first_seconds": r.first_seconds,
                "replace_seconds": r.replace_seconds,
                "rows_per_second": r.rows_per_second,
            }
            for r in results
        ],
        "skipped": skipped,
    }
