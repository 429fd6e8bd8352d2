"""The benchmarks still run: `python -m benchmarks all --smoke` at tiny sizes (timings are never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mdp.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT


@pytest.mark.slow
def test_every_benchmark_runs_at_smoke_size(tmp_path: Path) -> None:
    output = tmp_path / "benchmarks.md"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "all", "--smoke", "--output", str(output), "--workdir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1_200,  # forecast_cost alone loads history and runs dbt twice: minutes
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    text = output.read_text(encoding="utf-8")
    for section in ("## Loader", "## End to end", "## dbt", "## Forecasts", "### Cost at 200 accounts per channel"):
        assert section in text
    assert "series fitted" in text  # the forecast step's cost at smoke size
    assert "_Not run yet._" not in text
    for method in ("ours_records", "ours_arrow", "dlt_arrow", "dlt_dicts_parquet", "duckdb_insert"):
        assert f"`{method}`" in text
    assert output.with_suffix(".json").exists()
