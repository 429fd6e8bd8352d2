"""A process killed in the middle of a large replace leaves the previous data intact; a rerun converges."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from warehouse.duckdb import DuckDBWarehouse

CHILD = textwrap.dedent(
    """
    import datetime as dt, sys, time
    from pathlib import Path
    import pyarrow as pa
    from mdp.schema import TableSpec
    from warehouse.base import LoadContext, Scope
    from warehouse.duckdb import DuckDBWarehouse

    path, marker, mode, n = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    spec = TableSpec(
        "raw_crash.t",
        pa.schema([pa.field("account_id", pa.string(), nullable=False),
                   pa.field("day", pa.date32(), nullable=False),
                   pa.field("value", pa.int64())]),
        "account_id", "day",
    )
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(10)]
    accounts = ["a", "b"]

    def batch(value, day):
        per_account = n // (len(days) * len(accounts))
        return pa.table({
            "account_id": pa.array([a for a in accounts for _ in range(per_account)]),
            "day": pa.array([day] * per_account * len(accounts), pa.date32()),
            "value": pa.array([value] * per_account * len(accounts), pa.int64()),
        })

    def batches(value):
        for i, day in enumerate(days):
            yield batch(value, day)
            if mode == "hang" and i == 4:
                marker.write_text("half written")
                time.sleep(600)

    wh = DuckDBWarehouse(path)
    value = {"old": 1, "hang": 2, "new": 3}[mode]
    scope = Scope.of(accounts, days[0], days[-1])
    wh.replace_partitions(spec, batches(value), scope, LoadContext("crash", mode))
    marker.write_text("committed")
    """
)
ROWS = 2_000_000


def run_child(path: Path, marker: Path, mode: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(marker), mode, str(ROWS)], env=env)


def summary(wh: DuckDBWarehouse) -> list[tuple[object, ...]]:
    return wh.query("SELECT value, count(*) FROM raw_crash.t GROUP BY value ORDER BY value")


@pytest.mark.slow
def test_kill_during_replace_keeps_old_data_and_rerun_converges(tmp_path: Path) -> None:
    path, marker = tmp_path / "crash.duckdb", tmp_path / "marker"
    assert run_child(path, marker, "old").wait(timeout=120) == 0
    wh = DuckDBWarehouse(path, lock_timeout=10)
    before = summary(wh)
    assert before == [(1, ROWS)]
    marker.unlink()

    child = run_child(path, marker, "hang")
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert child.poll() is None, "child ended before reaching the middle of the load"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert marker.read_text() == "half written"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)

    assert summary(wh) == before
    assert wh.query("SELECT DISTINCT run_id FROM ops.load_log") == [("old",)]

    marker.unlink()
    assert run_child(path, marker, "new").wait(timeout=120) == 0
    assert summary(wh) == [(3, ROWS)]
    assert wh.query("SELECT run_id, count(*) FROM ops.load_log GROUP BY ALL ORDER BY ALL") == [
        ("new", 20),
        ("old", 20),
    ]
