"""The benchmarks still run: `python -m benchmarks all --smoke` at tiny sizes (timings are never asserted)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.__main__ import ON_DEMAND
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
    # every section `all` runs was written; the on-demand ones (scale: most of an hour at full size) keep their text
    sections = dict(re.findall(r"<!-- bench:(.+?):start -->(.*?)<!-- bench:\1:end -->", text, flags=re.S))
    assert "Scale" in sections
    assert len(sections) > len(ON_DEMAND)
    for name, body in sections.items():
        if name.lower() not in ON_DEMAND:
            assert "_Not run yet._" not in body, name
    for method in ("ours_records", "ours_arrow", "dlt_arrow", "dlt_dicts_parquet", "duckdb_insert"):
        assert f"`{method}`" in text
    assert output.with_suffix(".json").exists()


@pytest.mark.slow
def test_the_scale_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    """`python -m benchmarks scale --smoke`: 2 accounts per channel, every mode pipeline.yaml offers, against a
    real `prefect server` whose access log counts the API calls."""
    output = tmp_path / "benchmarks.md"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "scale", "--smoke", "--output", str(output), "--workdir", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    text = output.read_text(encoding="utf-8")
    assert "## Scale" in text
    assert "| in_process | 2 |" in text
    assert "not measured (smoke)" in text
    raw = json.loads(output.with_suffix(".json").read_text(encoding="utf-8"))
    cell = raw["Scale"]["cells"][0]
    assert cell["rows"] > 0
    assert cell["failed_units"] == 0
    assert cell["prefect_api"]["requests"] > 0  # counted from the server's access log
    assert {p["role"] for p in cell["processes"]} >= {"server"}
    assert not list(tmp_path.glob("mdp-bench-scale-*"))  # the scratch directory (and its server) is gone
