"""The `dbt_build` Prefect flow on the session's temporary Prefect server (`prefect_server`, from
tests/integration/conftest.py): success, failure, the DuckDB file released."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dbt_harness import D2, DbtProject, google_rows, load_raw

from flows import progress
from flows.transform import dbt_build
from warehouse.duckdb import DuckDBWarehouse

pytestmark = [
    pytest.mark.slow,
    # dbt leaves its log file to the garbage collector when run in-process
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def config_file(project: DbtProject) -> Path:
    path = project.work_dir / "pipeline.yaml"
    path.write_text(
        yaml.safe_dump({"reporting_currency": "EUR", "warehouse": {"type": "duckdb", "path": "warehouse.duckdb"}}),
        encoding="utf-8",
    )
    return path


def other_process_can_open(path: Path) -> bool:
    code = f"import duckdb; duckdb.connect({str(path)!r}).close()"
    return subprocess.run([sys.executable, "-c", code], check=False, capture_output=True).returncode == 0


def test_dbt_build_flow(prefect_server: None, scratch_project: DbtProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBT_TARGET_PATH", str(scratch_project.work_dir / "flow-target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(scratch_project.work_dir / "flow-logs"))
    config = config_file(scratch_project)

    events: list[progress.ProgressEvent] = []
    unsubscribe = progress.subscribe(events.append)
    try:
        counts = dbt_build(config_path=str(config))
    finally:
        unsubscribe()
    assert set(counts) <= {"success", "pass", "warn"}, counts
    assert counts["success"] >= 40  # every model and seed
    nodes = [e for e in events if e.kind == "dbt_node"]
    assert len(nodes) == sum(counts.values()), "one progress event per finished dbt node"
    assert not any(e.failed for e in nodes)
    assert other_process_can_open(scratch_project.warehouse_path)

    only_the_fact = "fct_ad_performance_daily,resource_type:model"

    norwegian = [{**row, "customer_id": "9999999999", "currency_code": "NOK"} for row in google_rows(D2)[:1]]
    load_raw(DuckDBWarehouse(scratch_project.warehouse_path), norwegian, [], "run-2")
    counts = dbt_build(select=only_the_fact, config_path=str(config))  # left out, never a failed build
    assert set(counts) <= {"success", "pass", "warn"}, counts
    assert other_process_can_open(scratch_project.warehouse_path)


def test_a_lock_held_by_another_process_is_recognised_in_what_dbt_reports(scratch_project: DbtProject) -> None:
    """dbt-duckdb fails at once on a held file; dbt_build waits for it and tries again when it sees this."""
    from flows.transform import is_lock_conflict, run_dbt

    database = scratch_project.work_dir / "locked.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(database)!r}); print('held'); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "held"
        invocation = scratch_project.invocation("build")
        invocation.env["MDP_DUCKDB_PATH"] = str(database)
        result = run_dbt(invocation)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
    assert not result.success
    assert result.exception is not None
    assert is_lock_conflict(result.exception)
    assert not is_lock_conflict(ValueError("Failures detected during invocation of dbt command 'build'"))
