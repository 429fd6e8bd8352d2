"""Every entrypoint of prefect.yaml loads exactly as a worker loads it, and no project module then shadows
a library: Prefect puts the entrypoint's folder first on sys.path (flows/dbt.py once hid dbt)."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from mdp.paths import PROJECT_ROOT

PROBE = r"""
import importlib, importlib.util, json, pkgutil, sys
from prefect.flows import load_flow_from_entrypoint
import flows

loaded = {}
for entrypoint in json.loads(sys.argv[1]):
    loaded[entrypoint] = load_flow_from_entrypoint(entrypoint).name
# After the loader changed sys.path, every flow module (and the libraries they import) must still import.
modules = sorted(m.name for m in pkgutil.iter_modules(flows.__path__))
for name in modules:
    importlib.import_module(f"flows.{name}")
import dbt.cli.main, prefect_dbt, duckdb  # the libraries a shadow once hid
json.dump({"loaded": loaded, "modules": modules}, sys.stdout)
"""

SHADOW_PROBE = r"""
import importlib.util, json, pkgutil, sys
root = sys.argv[1]
folders = json.loads(sys.argv[2])
# What the environment alone provides: sys.path without the project (nor its editable install).
sys.path[:] = [p for p in sys.path if p not in ("", ".", root, *folders)]
clashes = {}
for folder in folders:
    for module in pkgutil.iter_modules([folder]):
        spec = importlib.util.find_spec(module.name)
        if spec is not None:
            clashes[f"{folder}/{module.name}"] = spec.origin
json.dump(clashes, sys.stdout)
"""


def entrypoints() -> list[str]:
    spec = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    return sorted({d["entrypoint"] for d in spec["deployments"]})


def test_every_entrypoint_loads_as_a_worker_loads_it_and_every_flow_module_still_imports() -> None:
    points = entrypoints()
    assert "flows/transform.py:dbt_build" in points
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(points)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["loaded"] == {
        "flows/daily.py:daily_pipeline": "daily_pipeline",
        "flows/forecast.py:forecast_pacing": "forecast_pacing",
        "flows/ingest.py:ingest_connector": "ingest",
        "flows/monitor.py:volume_monitor": "volume_monitor",
        "flows/transform.py:dbt_build": "dbt_build",
    }
    assert {"daily", "ingest", "monitor", "transform"} <= set(report["modules"])


def test_no_module_in_an_entrypoint_folder_or_the_root_shadows_an_installed_one() -> None:
    folders = sorted({str(PROJECT_ROOT / e.split(":")[0].rsplit("/", 1)[0]) for e in entrypoints()})
    folders.append(str(PROJECT_ROOT))
    result = subprocess.run(
        [sys.executable, "-c", SHADOW_PROBE, str(PROJECT_ROOT), json.dumps(folders)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd="/",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == {}
