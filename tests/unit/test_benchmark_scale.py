"""The scale benchmark's bookkeeping: API calls read from the access log, cost per account, the flat verdict and
the N-jobs projection (no run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.scale import count_api_calls, projection, summarise

LOG = """\
20:05:19.987 | INFO    | uvicorn.error - Application startup complete.
20:05:22.101 | INFO    | uvicorn.access - 127.0.0.1:42090 - "POST /api/flow_runs/ HTTP/1.1" 201
20:05:22.202 | INFO    | uvicorn.access - 127.0.0.1:42090 - \
"POST /api/flow_runs/c415978a-adca-4186-8b9e-4ff20c86d6d7/set_state HTTP/1.1" 201
20:05:22.303 | INFO    | uvicorn.access - 127.0.0.1:42090 - \
"POST /api/flow_runs/0d9f2a4e-0000-4186-8b9e-4ff20c86d6d7/set_state HTTP/1.1" 201
20:05:22.404 | INFO    | uvicorn.access - 127.0.0.1:42090 - "GET /api/csrf-token?client=abc HTTP/1.1" 422
20:05:23.011 | INFO    | uvicorn.error - 127.0.0.1:42090 - "WebSocket /api/events/in" [accepted]
"""


def test_api_calls_are_counted_after_the_offset_with_ids_folded(tmp_path: Path) -> None:
    log = tmp_path / "prefect-server.log"
    log.write_text('earlier | INFO | uvicorn.access - 1.2.3.4:1 - "GET /api/health HTTP/1.1" 200\n' + LOG)
    offset = len(log.read_text().splitlines(keepends=True)[0])
    calls = count_api_calls(log, offset)
    assert calls["requests"] == 4
    assert calls["websockets"] == 1
    assert calls["routes"]["POST /api/flow_runs/{id}/set_state"] == 2
    assert calls["routes"]["GET /api/csrf-token"] == 1


def cell(mode: str, n: int, wall: float, cpu: float, **extra: Any) -> dict[str, Any]:
    return {
        "mode": mode,
        "workers": 0,
        "accounts_per_channel": n,
        "channels": ["google_ads", "meta_ads"],
        "accounts": 2 * n,
        "wall_seconds": wall,
        "startup_seconds": 5.0,
        "rows": 100 * n,
        "process_cpu_seconds": cpu,
        "processes": [{"role": "server", "cpu_seconds": 1.0, "reaped_children_cpu_seconds": 0.0}],
        "prefect_api": {"requests": 50, "websockets": 1, "routes": {}},
        "child_runs": [],
        **extra,
    }


def test_the_cost_per_account_is_flat_within_20_percent_of_the_smallest_size() -> None:
    flat = summarise(
        [cell("in_process", 200, 40.0, 39.0), cell("in_process", 2_000, 440.0, 399.0)],
        ["google_ads", "meta_ads"],
        workers=2,
        shard_accounts=500,
        smoke=False,
    )
    verdict = flat["verdicts"]["in_process"]
    assert verdict["verdict"] == {"cpu_per_account_ms": "met", "wall_per_account_ms": "met"}
    assert verdict["ratios"]["cpu_per_account_ms"] == pytest.approx([1.0, 1.0])
    assert flat["cells"][0]["cpu_per_account_ms"] == pytest.approx(100.0)  # (39 + 1 server) s / 400 accounts
    assert flat["cells"][1]["api_calls_per_1000_accounts"] == pytest.approx(12.5)
    steep = summarise(
        [cell("in_process", 200, 40.0, 39.0), cell("in_process", 2_000, 600.0, 399.0)],
        ["google_ads", "meta_ads"],
        workers=2,
        shard_accounts=500,
        smoke=False,
    )
    assert steep["verdicts"]["in_process"]["verdict"]["wall_per_account_ms"] == "NOT met"


def test_the_projection_uses_the_deployment_runs_slot_time_and_the_parents_fixed_wall() -> None:
    runs = [
        {"id": str(i), "state": "Completed", "start": 10.0 + 30 * (i // 2), "end": 40.0 + 30 * (i // 2)}
        for i in range(8)
    ]
    for run in runs:
        run["expected_start"] = run["start"] - 1
    deployed = cell("deployments", 2_000, 150.0, 10.0, workers=2, worker_limit=1, child_runs=runs)
    data = summarise([deployed], ["google_ads", "meta_ads"], workers=2, shard_accounts=500, smoke=False)
    projected = data["projection"]
    assert projected is not None
    assert projected["source"] == "deployments"
    assert projected["fixed_seconds"] == pytest.approx(30.0)  # 150 s wall - 120 s of child runs
    assert projected["per_shard_wall_seconds"] == pytest.approx(30.0)  # 120 s x 2 slots / 8 shards
    assert projected["walls"][2_000] == {"1": 270.0, "2": 150.0, "5": 90.0, "shards": 8}
    assert projected["walls"][10_000]["shards"] == 40


def test_without_a_deployments_run_the_projection_is_estimated_from_the_in_process_run() -> None:
    data = summarise(
        [cell("in_process", 2_000, 405.0, 99.0)], ["google_ads"], workers=2, shard_accounts=500, smoke=False
    )
    projected = projection(data["cells"], 500)
    assert projected is not None
    assert projected["source"] == "in_process"
    assert projected["fixed_seconds"] == 5.0
    assert projected["per_shard_wall_seconds"] == pytest.approx(400.0 / 4_000 * 500)
