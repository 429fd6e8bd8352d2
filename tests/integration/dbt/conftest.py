"""The dbt project on a real DuckDB file: deterministic synthetic raw rows for the Google Ads and Meta Ads channels, loaded once
through the warehouse, then `dbt seed` + `dbt build` once per session; tests read the marts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# The tests import their helpers from dbt_harness beside this file (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dbt_harness import (
    DAYS,
    DbtProject,
    Expected,
    expected_totals,
    failures,
    google_rows,
    load_raw,
    meta_rows,
)

from warehouse.duckdb import DuckDBWarehouse


@pytest.fixture(scope="session")
def synthetic_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    google = [row for day in DAYS for row in google_rows(day)]
    meta = [row for day in DAYS for row in meta_rows(day)]
    return google, meta


@pytest.fixture(scope="session")
def expected(synthetic_rows: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> Expected:
    return expected_totals(*synthetic_rows)


@pytest.fixture(scope="session")
def dbt_project(
    tmp_path_factory: pytest.TempPathFactory,
    synthetic_rows: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> DbtProject:
    """Raw rows loaded, then `dbt seed` and `dbt build` once; fails the session's dbt tests if they fail."""
    work_dir = tmp_path_factory.mktemp("dbt")
    project = DbtProject(work_dir / "warehouse.duckdb", work_dir)
    load_raw(DuckDBWarehouse(project.warehouse_path), *synthetic_rows, run="run-1")
    seeded = project.invoke("seed")
    assert seeded.success, failures(seeded)
    built = project.invoke("build", exclude="resource_type:seed")
    assert built.success, failures(built)
    project.build_result = built
    return project


@pytest.fixture
def scratch_project(dbt_project: DbtProject, tmp_path: Path) -> DbtProject:
    """A copy of the built warehouse a test may change."""
    return dbt_project.copy(tmp_path)
