"""The DuckDB warehouse on real files: atomic replace of (account, day) units, schema evolution,
load log, quarantine, and a clear error when another process holds the file."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

from mdp.errors import SchemaConflictError, ScopeError, WarehouseBusyError, WarehouseError
from mdp.schema import QuarantinedRow, TableSpec
from warehouse.base import LoadContext, LoadPart, Scope
from warehouse.duckdb import DuckDBWarehouse

D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)
SPEC = TableSpec(
    "raw_test.perf",
    pa.schema(
        [
            pa.field("account_id", pa.string(), nullable=False),
            pa.field("date", pa.date32(), nullable=False),
            pa.field("ad_id", pa.string()),
            pa.field("cost", pa.float64()),
        ]
    ),
    account_column="account_id",
    date_column="date",
)


def rows(account: str, day: dt.date, *costs: float) -> list[dict[str, object]]:
    return [{"account_id": account, "date": day, "ad_id": f"ad{i}", "cost": c} for i, c in enumerate(costs)]


def content(wh: DuckDBWarehouse) -> list[tuple[object, ...]]:
    return wh.query("SELECT account_id, date, ad_id, cost FROM raw_test.perf ORDER BY ALL")


@pytest.fixture
def wh(tmp_path: Path) -> DuckDBWarehouse:
    return DuckDBWarehouse(tmp_path / "wh.duckdb", lock_timeout=2)


def test_replace_touches_only_its_units(wh: DuckDBWarehouse) -> None:
    wh.replace_partitions(
        SPEC,
        rows("a", D1, 1, 2) + rows("b", D1, 3) + rows("a", D2, 4),
        Scope.of(["a", "b"], D1, D2),
        LoadContext("t", "r1"),
    )
    wh.replace_partitions(SPEC, rows("a", D1, 10), Scope.of(["a"], D1, D1), LoadContext("t", "r2"))
    assert content(wh) == [("a", D1, "ad0", 10.0), ("a", D2, "ad0", 4.0), ("b", D1, "ad0", 3.0)]


def test_a_unit_in_scope_without_rows_is_emptied(wh: DuckDBWarehouse) -> None:
    wh.replace_partitions(SPEC, rows("a", D1, 1) + rows("a", D2, 2), Scope.of(["a"], D1, D2), LoadContext("t", "r1"))
    result = wh.replace_partitions(SPEC, rows("a", D2, 5), Scope.of(["a"], D1, D2), LoadContext("t", "r2"))
    assert content(wh) == [("a", D2, "ad0", 5.0)]
    assert result.rows_per_unit == {("a", D1): 0, ("a", D2): 1}


def test_rerunning_the_same_load_converges(wh: DuckDBWarehouse) -> None:
    batch = pa.Table.from_pylist(rows("a", D1, 1, 2, 3), schema=SPEC.schema)
    for run in ("r1", "r2", "r3"):
        wh.replace_partitions(SPEC, batch, Scope.of(["a"], D1, D1), LoadContext("t", run))
    assert len(content(wh)) == 3
    assert wh.row_counts(SPEC) == {("a", D1): 3}


def test_rows_outside_the_scope_are_rejected_and_nothing_changes(wh: DuckDBWarehouse) -> None:
    wh.replace_partitions(SPEC, rows("a", D1, 1), Scope.of(["a"], D1, D1), LoadContext("t", "r1"))
    with pytest.raises(ScopeError, match=r"outside the load scope, e.g. \[\('b', datetime.date\(2026, 3, 1\)\)\]"):
        wh.replace_partitions(
            SPEC, rows("a", D1, 9) + rows("b", D1, 9), Scope.of(["a"], D1, D1), LoadContext("t", "r2")
        )
    assert content(wh) == [("a", D1, "ad0", 1.0)]
    assert wh.query("SELECT DISTINCT run_id FROM ops.load_log") == [("r1",)]


def test_null_keys_and_bad_types_fail_clearly(wh: DuckDBWarehouse) -> None:
    with pytest.raises(WarehouseError, match=r"column account_id: 1 null value\(s\) in a required column"):
        wh.replace_partitions(
            SPEC,
            [{"account_id": None, "date": D1, "cost": 1.0}],
            Scope.of(["a"], D1, D1),
            LoadContext("t", "r"),
        )
    with pytest.raises(WarehouseError, match="rows do not match the declared schema"):
        wh.replace_partitions(
            SPEC,
            [{"account_id": "a", "date": D1, "cost": "12,5"}],
            Scope.of(["a"], D1, D1),
            LoadContext("t", "r"),
        )
    with pytest.raises(WarehouseError, match=r"rows carry columns the table does not declare: \['clicks'\]"):
        wh.replace_partitions(
            SPEC,
            [{"account_id": "a", "date": D1, "clicks": 3}],
            Scope.of(["a"], D1, D1),
            LoadContext("t", "r"),
        )


def test_load_log_and_metadata_columns(wh: DuckDBWarehouse) -> None:
    context = LoadContext("google_ads", "run-42")
    wh.replace_partitions(SPEC, rows("a", D1, 1, 2), Scope.of(["a"], D1, D2), context)
    log = wh.query(
        "SELECT connector, table_name, account_id, day, rows, quarantined, status, run_id, error "
        "FROM ops.load_log ORDER BY day"
    )
    assert log == [
        ("google_ads", "raw_test.perf", "a", D1, 2, 0, "success", "run-42", None),
        ("google_ads", "raw_test.perf", "a", D2, 0, 0, "success", "run-42", None),
    ]
    meta = wh.query("SELECT DISTINCT _run_id, _loaded_at IS NOT NULL, _extracted_at IS NOT NULL FROM raw_test.perf")
    assert meta == [("run-42", True, True)]
    wh.log_failure(SPEC, Scope.of(["b"], D1, D1), LoadContext("google_ads", "run-43"), "PERMISSION_DENIED")
    assert wh.query("SELECT account_id, status, error FROM ops.load_log WHERE run_id = 'run-43'") == [
        ("b", "failed", "PERMISSION_DENIED")
    ]


def test_quarantine_is_replaced_with_its_units_and_counted(wh: DuckDBWarehouse) -> None:
    bad = [QuarantinedRow("a", D1, "negative cost", '{"cost": -1}'), QuarantinedRow("a", D1, "missing ad id")]
    for run in ("r1", "r2"):
        wh.replace_partitions(SPEC, rows("a", D1, 1), Scope.of(["a"], D1, D1), LoadContext("t", run), bad)
    assert wh.query("SELECT reason, _run_id FROM raw_test.perf__quarantine ORDER BY reason") == [
        ("missing ad id", "r2"),
        ("negative cost", "r2"),
    ]
    assert wh.query("SELECT rows, quarantined FROM ops.load_log WHERE run_id = 'r2'") == [(1, 2)]
    with pytest.raises(ScopeError, match="quarantined rows outside the load scope"):
        wh.replace_partitions(SPEC, [], Scope.of(["b"], D1, D1), LoadContext("t", "r3"), bad)


def test_new_nullable_column_is_added_on_the_fly(wh: DuckDBWarehouse) -> None:
    wh.replace_partitions(SPEC, rows("a", D1, 1), Scope.of(["a"], D1, D1), LoadContext("t", "r1"))
    wider = TableSpec(SPEC.name, SPEC.schema.append(pa.field("reach", pa.int64())), "account_id", "date")
    wh.replace_partitions(
        wider,
        [{"account_id": "a", "date": D2, "cost": 2.0, "reach": 7}],
        Scope.of(["a"], D2, D2),
        LoadContext("t", "r2"),
    )
    assert wh.query("SELECT date, reach FROM raw_test.perf ORDER BY date") == [(D1, None), (D2, 7)]


def test_incompatible_type_change_names_table_column_and_types(wh: DuckDBWarehouse) -> None:
    wh.ensure_table(SPEC)
    changed = TableSpec(
        SPEC.name,
        SPEC.schema.set(SPEC.schema.get_field_index("cost"), pa.field("cost", pa.string())),
        "account_id",
        "date",
    )
    with pytest.raises(SchemaConflictError) as info:
        wh.replace_partitions(changed, [], Scope.of(["a"], D1, D1), LoadContext("t", "r"))
    assert str(info.value).startswith(
        "table raw_test.perf, column cost: existing type DOUBLE cannot take the declared type VARCHAR"
    )


def test_iterable_of_batches_failing_midway_changes_nothing(wh: DuckDBWarehouse) -> None:
    wh.replace_partitions(SPEC, rows("a", D1, 1) + rows("a", D2, 2), Scope.of(["a"], D1, D2), LoadContext("t", "r1"))

    def batches():  # type: ignore[no-untyped-def]
        yield pa.Table.from_pylist(rows("a", D1, 7, 8), schema=SPEC.schema)
        raise ConnectionError("extraction died after the first batch")

    with pytest.raises(ConnectionError):
        wh.replace_partitions(SPEC, batches(), Scope.of(["a"], D1, D2), LoadContext("t", "r2"))
    assert content(wh) == [("a", D1, "ad0", 1.0), ("a", D2, "ad0", 2.0)]


HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("holding", flush=True)
    sys.stdin.readline()
    con.close()
    """
)


def test_another_process_holding_the_file_gives_a_clear_error_then_works(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    wh = DuckDBWarehouse(path, lock_timeout=0.5)
    wh.ensure_ops()
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdin is not None
        assert holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "holding"
            with pytest.raises(
                WarehouseBusyError,
                match=r"warehouse is in use by another process: .*busy.duckdb stayed locked for 0.5s",
            ):
                wh.replace_partitions(SPEC, rows("a", D1, 1), Scope.of(["a"], D1, D1), LoadContext("t", "r1"))
            with pytest.raises(  # before a run, too: after the same wait
                WarehouseBusyError, match=r"^warehouse.path: warehouse is in use by another process: .*busy.duckdb"
            ):
                wh.check_ready()
        finally:
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait(timeout=30)
    wh.replace_partitions(SPEC, rows("a", D1, 1), Scope.of(["a"], D1, D1), LoadContext("t", "r1"))
    assert content(wh) == [("a", D1, "ad0", 1.0)]


def test_check_ready_passes_an_absent_file_or_a_database_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "wh.duckdb"
    DuckDBWarehouse(path).check_ready()
    assert list(tmp_path.iterdir()) == []  # no folder, no file, no probe left behind
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    wh.ensure_ops()
    before = sorted(p.name for p in tmp_path.iterdir())
    wh.check_ready()
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is an empty file"),
        (b"id,spend\n1,2\n" * 500, "is a file that is not a DuckDB database"),
        (None, "is a folder; give the path of a DuckDB file"),
    ],
)
def test_check_ready_refuses_what_is_not_a_duckdb_database_naming_the_key(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "wh.duckdb"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(WarehouseError, match=rf"^warehouse.path: {path} {message}"):
        DuckDBWarehouse(path).check_ready()
    if content is not None:
        assert path.read_bytes() == content


def test_check_ready_refuses_a_file_duckdb_cannot_open(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    DuckDBWarehouse(path).ensure_ops()
    data = bytearray(path.read_bytes())
    data[4096:12288] = bytes(8192)  # the main header (with DUCK) stays, both database headers are gone
    path.write_bytes(bytes(data))
    with pytest.raises(WarehouseError, match=rf"^warehouse.path: .*{path}"):
        DuckDBWarehouse(path).check_ready()


def test_check_ready_refuses_a_folder_it_cannot_write(tmp_path: Path) -> None:
    from tests.integration.conftest import read_only_folder

    folder = tmp_path / "ro"
    folder.mkdir()
    under_a_file = tmp_path / "file.txt"
    under_a_file.write_text("x")
    with pytest.raises(WarehouseError, match=rf"^warehouse.path: cannot create .*: {under_a_file} is not a folder"):
        DuckDBWarehouse(under_a_file / "wh.duckdb").check_ready()
    with read_only_folder(folder):
        with pytest.raises(WarehouseError, match=rf"^warehouse.path: folder {folder} is not writable \("):
            DuckDBWarehouse(folder / "wh.duckdb").check_ready()
        with pytest.raises(WarehouseError, match=r"is not writable"):
            DuckDBWarehouse(folder / "sub" / "wh.duckdb").check_ready()  # the nearest folder that exists


FULL_DISK = r"""
import datetime as dt, os, resource, signal, sys
import pyarrow as pa
from warehouse.base import LoadContext, LoadPart, Scope
from warehouse.duckdb import DuckDBWarehouse
from tests.integration.test_duckdb_warehouse import SPEC, rows

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
wh = DuckDBWarehouse(sys.argv[1])
wh.ensure_ops()
wh.ensure_table(SPEC)
limit = 8192  # bytes: the write-ahead log of the load cannot fit
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
day = dt.date(2026, 1, 1)
try:
    wh.replace_partitions(SPEC, rows("a", day, *range(2000)), Scope.of(["a"], day, day), LoadContext("t", "r1"))
except Exception as exc:
    print(type(exc).__name__, exc)
"""


def test_a_failed_commit_keeps_its_own_reason(tmp_path: Path) -> None:
    """The COMMIT fails (the write-ahead log cannot grow: a file size limit stands in for a full disk)."""
    from mdp.paths import PROJECT_ROOT

    result = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(tmp_path / "full.duckdb")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("WarehouseError "), result.stdout
    assert "File too large" in result.stdout
    assert "cannot rollback" not in result.stdout
    assert content(DuckDBWarehouse(tmp_path / "full.duckdb")) == []


def table_of(records: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_pylist(records, schema=SPEC.schema)


def test_a_combined_load_replaces_each_part_and_reports_it_alone(wh: DuckDBWarehouse) -> None:
    wh.replace_partitions(
        SPEC,
        rows("a", D1, 1) + rows("b", D1, 2) + rows("c", D1, 3),
        Scope.of(["a", "b", "c"], D1, D1),
        LoadContext("t", "r1"),
    )
    parts = [
        LoadPart(table_of(rows("a", D1, 10, 11) + rows("a", D2, 12)), Scope.of(["a"], D1, D2)),
        LoadPart([], Scope.of(["b"], D1, D1)),  # a part without rows empties its units
        LoadPart(table_of(rows("c", D2, 30)), Scope.of(["c"], D2, D2), [QuarantinedRow("c", D2, "bad", "{}")]),
    ]
    results = wh.replace_many(SPEC, parts, LoadContext("t", "r2"))
    assert [(r.units, r.rows, r.quarantined) for r in results] == [(2, 3, 0), (1, 0, 0), (1, 1, 1)]
    assert results[0].rows_per_unit == {("a", D1): 2, ("a", D2): 1}
    assert content(wh) == [
        ("a", D1, "ad0", 10.0),
        ("a", D1, "ad1", 11.0),
        ("a", D2, "ad0", 12.0),
        ("c", D1, "ad0", 3.0),
        ("c", D2, "ad0", 30.0),
    ]
    logged = wh.query("SELECT account_id, day, rows, quarantined FROM ops.load_log WHERE run_id = 'r2' ORDER BY ALL")
    assert logged == [("a", D1, 2, 0), ("a", D2, 1, 0), ("b", D1, 0, 0), ("c", D2, 1, 1)]


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (LoadPart(table_of(rows("a", D1, 5)), Scope.of(["b"], D1, D1)), r"outside the load scope, e.g. \[\('a'"),
        (LoadPart([], Scope.of(["a"], D1, D1)), "two parts of one load share"),
    ],
)
def test_a_combined_load_checks_each_part_against_its_own_scope(
    wh: DuckDBWarehouse, second: LoadPart, message: str
) -> None:
    """Rows of one part inside another part's scope would land silently in a single combined scope."""
    wh.replace_partitions(
        SPEC, rows("a", D1, 1) + rows("b", D1, 2), Scope.of(["a", "b"], D1, D1), LoadContext("t", "r1")
    )
    first = LoadPart(table_of(rows("a", D1, 9)), Scope.of(["a"], D1, D1))
    with pytest.raises(ScopeError, match=message):
        wh.replace_many(SPEC, [first, second], LoadContext("t", "r2"))
    assert content(wh) == [("a", D1, "ad0", 1.0), ("b", D1, "ad0", 2.0)]
