"""The loader benchmark's bookkeeping: interleaved rounds and the verdicts computed from the medians (no timing)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from benchmarks import loader
from benchmarks.common import MachineLoad, Timing
from benchmarks.loader import Measurement, Ratio, rounds, verdicts


def measurement(method: str, wall: list[float], cpu: list[float], rows: int = 1_000) -> Measurement:
    return Measurement(method, rows, Timing(1.0, 1.0), [Timing(w, c) for w, c in zip(wall, cpu, strict=True)])


def test_every_round_runs_every_method_once_rotated() -> None:
    assert rounds(["a", "b", "c"], 4) == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]
    assert rounds(("a",), 2) == [["a"], ["a"]]
    assert rounds([], 3) == []
    assert rounds(["a", "b"], 0) == []


def test_measure_interleaves_the_methods_round_by_round(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[str] = []
    monkeypatch.setattr(loader, "gc", SimpleNamespace(collect=lambda: 0))
    monkeypatch.setattr(loader, "_prepare", lambda method, case, directory: lambda: calls.append(method))
    case: Any = SimpleNamespace(shape=SimpleNamespace(rows=10), fresh=lambda method: tmp_path / method)
    results = loader.measure(["x", "y"], case, repeats=3)
    assert calls == ["x", "y", "x", "y", "y", "x", "x", "y"]  # first loads, then rounds 1, 2 (rotated), 3
    assert [(r.method, len(r.replaces)) for r in results] == [("x", 3), ("y", 3)]


def test_verdicts_from_the_medians_on_wall_and_cpu_time() -> None:
    results = [
        measurement("ours_records", [1.0, 9.0, 2.0], [1.0, 1.0, 1.0]),  # median wall 2, CPU 1
        measurement("dlt_dicts_parquet", [30.0, 30.0, 30.0], [30.0, 30.0, 30.0]),
        measurement("dlt_dicts_insert_values", [25.0, 25.0, 25.0], [40.0, 40.0, 40.0]),
        measurement("ours_arrow", [1.0, 1.0, 1.0], [2.0, 2.0, 2.0]),
        measurement("dlt_arrow", [3.5, 3.5, 3.5], [5.0, 5.0, 5.0]),
        measurement("duckdb_insert", [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    ]
    found = {v.comparison.label: v for v in verdicts(results)}
    records = found["(a) records vs dlt's fastest dict path"]
    assert records.wall == Ratio("dlt_dicts_insert_values", 12.5)  # the fastest dict path on each measure
    assert records.cpu == Ratio("dlt_dicts_parquet", 30.0)
    assert records.judge("wall") == "met (12.50x)"
    arrow = found["(b) Arrow vs dlt's Arrow merge"]
    assert arrow.judge("wall") == "met (3.50x)"
    assert arrow.judge("cpu") == "2.50x"  # CPU against dlt is context: the CPU target is raw delete+insert
    raw = found["(b) Arrow vs raw DuckDB delete+insert (like for like)"]
    assert raw.wall is None
    assert raw.judge("wall") == "not measured"
    upper = found["(b) Arrow vs raw DuckDB append (upper bound, no delete)"]
    assert upper.judge("wall") == "0.50x"
    assert upper.judge("cpu") == "0.25x"


def test_the_flows_batched_path_is_judged_against_one_call_dlt_and_raw_delete_insert() -> None:
    results = [
        measurement("ours_arrow_chunked", [1.0], [2.0]),
        measurement("ours_arrow", [0.9], [1.6]),
        measurement("dlt_arrow", [2.5], [3.0]),
        measurement("duckdb_replace", [0.8], [1.9]),
    ]
    found = {v.comparison.label: v for v in verdicts(results)}
    assert found["(b') the flow's batched calls vs one call"].judge("wall") == "met (0.90x)"
    assert found["(b') the flow's batched calls vs one call"].judge("cpu") == "0.80x"  # context
    assert found["(b') the flow's batched calls vs dlt's Arrow merge"].judge("wall") == "missed (2.50x)"
    raw = found["(b') the flow's batched calls vs raw DuckDB delete+insert"]
    assert raw.judge("wall") == "0.80x"
    assert raw.judge("cpu") == "met (0.95x)"


def test_markdown_carries_the_verdicts_and_the_machine_load() -> None:
    results = [
        measurement("ours_arrow", [1.0], [1.8], rows=100),
        measurement("duckdb_replace", [0.7], [0.7], rows=100),
    ]
    load = MachineLoad((1.5, 1.0, 0.5), (2.5, 1.2, 0.6), wall=10.0, own_cpu=10.0, all_cpu=25.0)
    text = loader._markdown(results, verdicts(results), 1, [], load, {100: load})
    assert (
        "| 100 | (b) Arrow vs raw DuckDB delete+insert (like for like) | wall >= 0.8x, CPU >= 0.9x | `duckdb_replace` |"
        in text
    )
    assert "| missed (0.70x) | missed (0.39x) |" in text  # CPU 0.7 / 1.8
    assert "1.50/1.00/0.50 before the run" in text
    assert "other processes used 1.50 cores" in text
    assert "**busy**" in text
