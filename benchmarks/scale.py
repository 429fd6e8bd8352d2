"""Scale benchmark: one daily run (ingest only) at growing accounts per channel, in process and as deployment
runs spread over process workers, against one running `prefect server` whose access log counts the API calls.

Per size: wall, CPU and peak RSS of every process (the pipeline, the server, each worker and each child run it
starts, the sandbox serving it), rows/s, the Prefect API calls, the cost per account and whether it stays flat."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import Section, human, load_average, machine_load, rate, table
from benchmarks.e2e import (
    CELL_TIMEOUT_SECONDS,
    META_POLL_SECONDS,
    PRIMARY_STREAMS,
    _free_port,
    _migrate,
    _prefect_env,
)
from flows.transform import environment

logger = logging.getLogger(__name__)

SIZES = {"smoke": [2], "quick": [200, 2_000], "full": [200, 2_000, 10_000]}
MODES = ("in_process", "deployments")
FLAT_TARGET = 0.20  # cost per account within 20% of the smallest size's
SHARD_ACCOUNTS = 500  # accounts per child run in deployments mode (execution.shard_accounts)
INGEST_DEPLOYMENT = "ingest/ingest-local"
WORKER_LIMIT = 1  # flow runs a worker runs at once: two workers, two shards at a time (two jobs' worth)
HEARTBEAT_SECONDS = 30  # the shards' heartbeats (the parent marks a shard silent for stale_after_seconds crashed)
SAMPLE_SECONDS = 0.25
SANDBOX_ROLE = "sandbox"  # this process (the sandbox's threads serve the run), sampled without its children
LOADED_CORES = 0.2  # other processes' average CPU above which the machine counts as loaded
# An access log line of uvicorn: `... 127.0.0.1:40404 - "POST /api/flow_runs/ HTTP/1.1" 201`
_ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>/[^ ?"]*)[^"]*" (?P<status>\d{3})')
_WEBSOCKET = re.compile(r'"WebSocket (?P<path>/[^ "]*)"')
_ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def deployments_available() -> bool:
    """Whether pipeline.yaml takes `execution: {mode: deployments}` (the mode this benchmark's second half runs)."""
    from mdp.config import PipelineConfig

    return "execution" in PipelineConfig.model_fields


def run(
    sizes: Sequence[int],
    modes: Sequence[str] = MODES,
    workdir: Path | None = None,
    *,
    channels: Sequence[str] = tuple(PRIMARY_STREAMS),
    workers: int = 2,
    worker_limit: int = WORKER_LIMIT,
    shard_accounts: int = SHARD_ACCOUNTS,
    smoke: bool = False,
    previous: Sequence[dict[str, Any]] = (),
) -> Section:
    """Every size in every mode, against one `prefect server` started here (a temporary PREFECT_HOME), its
    access log at INFO so that each API request leaves a line; the server is stopped at the end. `previous`:
    cells of earlier invocations (the raw results), kept where this one measures no cell of the same mode and
    size, so that long sizes can be measured one invocation at a time."""
    from deployments.local import start_server, stop_process_group

    if "deployments" in modes and not deployments_available():
        logger.warning("scale: pipeline.yaml has no `execution` section yet: the deployments mode is skipped")
        modes = [m for m in modes if m != "deployments"]
    cells: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="mdp-bench-scale-", dir=workdir) as tmp,
        machine_load() as load,
        environment({"PREFECT_SERVER_LOGGING_LEVEL": "INFO"}),  # uvicorn's access log: one line per API request
    ):
        directory = Path(tmp)
        prefect_home = directory / "prefect"
        _migrate(prefect_home)
        server, api_url = start_server(_free_port(), directory / "logs", prefect_home)
        access_log = directory / "logs" / "prefect-server.log"
        try:
            for mode in modes:
                with _Mode(mode, directory / mode, prefect_home, api_url, workers, worker_limit) as runner:
                    for n in sizes:
                        cell = runner.run_size(n, channels, shard_accounts, server.pid, access_log)
                        cells.append(cell)
                        _log_cell(cell)
        finally:
            stop_process_group(server)
    measured = {(c["mode"], c["accounts_per_channel"]) for c in cells}
    kept = [
        c
        for c in previous
        if (c["mode"], c["accounts_per_channel"]) not in measured and list(c["channels"]) == list(channels)
    ]
    cells = sorted([*kept, *cells], key=lambda c: (MODES.index(c["mode"]), c["accounts_per_channel"]))
    data = summarise(cells, channels, workers=workers, shard_accounts=shard_accounts, smoke=smoke)
    data["worker_limit"] = worker_limit
    data["machine_load"] = load.as_dict()
    return Section("Scale", _markdown(data), data)


class _Mode:
    """One execution mode: in process (the cell process runs every ingest subflow) or deployments (the cell
    process starts one child run per (connector, account shard) on `workers` process workers started here).
    The configuration file stays at one path for the whole mode (the workers' MDP_CONFIG), rewritten per size."""

    def __init__(
        self, mode: str, directory: Path, prefect_home: Path, api_url: str, workers: int, worker_limit: int
    ) -> None:
        self.mode = mode
        self.worker_limit = worker_limit
        self.directory = directory
        self.prefect_home = prefect_home
        self.api_url = api_url
        self.n_workers = workers if mode == "deployments" else 0
        self.config_path = directory / "pipeline.yaml"
        self.workers: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> _Mode:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc: object) -> None:
        from deployments.local import stop_process_group

        for worker in self.workers:
            stop_process_group(worker)

    def _start_workers(self, env: dict[str, str]) -> None:
        """The local pool, the *-local deployments (ingest-local among them) and `n_workers` process workers
        running `worker_limit` flow runs each, as `mdp deploy --local --workers N --worker-limit K` sets them
        up (deployments.local.up, without its state file and Slack block), against this benchmark's server."""
        from deployments.local import LOCAL_DEPLOYMENTS, deploy, ensure_pool, start_worker
        from mdp.config import load_config

        config = load_config(self.config_path)
        ensure_pool(self.api_url)
        deploy(config, self.api_url, self.prefect_home, names=LOCAL_DEPLOYMENTS)
        worker_env = {**env, "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS)}
        for index in range(1, self.n_workers + 1):
            self.workers.append(
                start_worker(
                    self.api_url,
                    self.directory,
                    self.prefect_home,
                    env=worker_env,
                    name=f"worker-{index}",
                    limit=self.worker_limit,
                )
            )

    def run_size(
        self, n: int, channels: Sequence[str], shard_accounts: int, server_pid: int, access_log: Path
    ) -> dict[str, Any]:
        """Start a sandbox serving `n` accounts per channel, run one daily run in a fresh process, and measure
        every process around it."""
        from sandbox import SandboxConfig, start_sandbox
        from sandbox.runner import SANDBOX_SECRETS
        from sandbox.tls import GRPC_ROOTS_ENV

        cell_dir = self.directory / str(n)
        cell_dir.mkdir(parents=True, exist_ok=True)
        counts = {f"{c.split('_')[0]}_accounts": (n if c in channels else 1) for c in _SANDBOX_CHANNELS}
        began_sandbox = time.perf_counter()
        with start_sandbox(SandboxConfig(**counts, cert_dir=self.directory.parent / "certs")) as handle:
            sandbox_start = time.perf_counter() - began_sandbox
            config = handle.pipeline_fragment()
            config["connectors"] = [c for c in config["connectors"] if c["type"] in channels]
            for section in config["connectors"]:
                section["streams"] = [primary_stream(section["type"])]  # the ad-level daily performance
                if section["type"] == "meta_ads":
                    section["poll_initial_seconds"] = META_POLL_SECONDS
            config.update(
                timezone="UTC",
                reporting_currency="EUR",
                warehouse={"type": "duckdb", "path": str(cell_dir / "warehouse.duckdb")},
            )
            if self.mode == "deployments":
                config["execution"] = {
                    "mode": "deployments",
                    "ingest_deployment": INGEST_DEPLOYMENT,
                    "shard_accounts": shard_accounts,
                    "start_timeout_seconds": 300,
                }
            self.config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
            env = {
                **os.environ,
                **_prefect_env(self.prefect_home),
                **SANDBOX_SECRETS,
                GRPC_ROOTS_ENV: str(handle.ca_bundle),
                "PYTHONUNBUFFERED": "1",
                "PREFECT_API_URL": self.api_url,
                "MDP_CONFIG": str(self.config_path),
            }
            if self.n_workers and not self.workers:
                self._start_workers(env)
            result_path = cell_dir / "result.json"
            cell = {"config": str(self.config_path), "out": str(result_path), "run_dbt": False, "run_forecast": False}
            logger.info("scale: %s, %d accounts/channel x %d channels: running", self.mode, n, len(channels))
            log_offset = access_log.stat().st_size
            load_before = load_average()
            sampler = ProcessSampler(
                {
                    "server": server_pid,
                    **{f"worker {i}": w.pid for i, w in enumerate(self.workers)},
                    SANDBOX_ROLE: os.getpid(),
                }
            ).start()
            own_cpu = time.process_time()  # this process: the sandbox serving the run (and the sampler)
            began = time.perf_counter()
            with (cell_dir / "cell.log").open("w", encoding="utf-8") as log:
                completed = subprocess.run(
                    [sys.executable, "-m", "benchmarks.e2e", "--cell", json.dumps(cell)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=CELL_TIMEOUT_SECONDS,
                    check=False,
                )
            outside = time.perf_counter() - began
            load_after = load_average()
            sandbox_cpu = time.process_time() - own_cpu
            time.sleep(1.0)  # the server's last log lines (the run's final state, its last log batch)
            processes = sampler.stop()
            sandbox_calls = {
                name: counter.total()
                for name, counter in (
                    ("google_ads", handle.google_calls),
                    ("meta_ads", handle.meta_calls),
                    ("microsoft_ads", handle.microsoft_calls),
                    ("tiktok_ads", handle.tiktok_calls),
                    ("linkedin_ads", handle.linkedin_calls),
                )
                if name in channels and counter is not None
            }
        if completed.returncode != 0 or not result_path.exists():
            tail = (cell_dir / "cell.log").read_text(encoding="utf-8")[-3000:]
            raise RuntimeError(f"scale: {self.mode} {n} accounts/channel failed (exit {completed.returncode}):\n{tail}")
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
        api = count_api_calls(access_log, log_offset)
        windows = _windows(config)
        shards = _child_runs(self.api_url, self.prefect_home) if self.mode == "deployments" else []
        return {
            "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load_average_before": load_before,
            "load_average_after": load_after,
            "mode": self.mode,
            "workers": self.n_workers,
            "worker_limit": self.worker_limit if self.n_workers else None,
            "accounts_per_channel": n,
            "channels": list(channels),
            "accounts": n * len(channels),
            "windows": windows,
            "sandbox_start_seconds": sandbox_start,
            "outside_wall_seconds": outside,
            "sandbox_cpu_seconds": sandbox_cpu,
            "sandbox_api_calls": sandbox_calls,
            "prefect_api": api,
            "processes": processes,
            "child_runs": shards,
            **{k: result[k] for k in _CELL_KEYS if k in result},
        }


_SANDBOX_CHANNELS = ("google_ads", "meta_ads", "microsoft_ads", "tiktok_ads", "linkedin_ads")


def primary_stream(connector_type: str) -> str:
    """A connector's first declared stream: its ad-level daily performance."""
    from connectors.registry import connector_class

    return connector_class(connector_type).streams[0].name


_CELL_KEYS = (
    "wall_seconds",
    "rows",
    "units",
    "failed_units",
    "startup_seconds",
    "peak_rss_bytes",
    "process_cpu_seconds",
    "task_cpu_seconds",
    "steps",
)


def _windows(config: dict[str, Any]) -> dict[str, list[str]]:
    """Each connector's daily window: its lookback days before today (UTC), up to yesterday."""
    today = dt.datetime.now(dt.UTC).date()
    out = {}
    for section in config["connectors"]:
        lookback = int(section.get("lookback_days") or 7)
        first, last = today - dt.timedelta(days=lookback), today - dt.timedelta(days=1)
        out[section["name"]] = [first.isoformat(), last.isoformat()]
    return out


def count_api_calls(log_path: Path, offset: int) -> dict[str, Any]:
    """The Prefect API requests in the server's access log after `offset`: in all, per route (ids folded to
    {id}), and the WebSocket connections opened (events and logs streamed over one count once)."""
    with log_path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode("utf-8", errors="replace")
    routes: Counter[str] = Counter()
    websockets = 0
    for line in text.splitlines():
        if (match := _WEBSOCKET.search(line)) is not None:
            websockets += 1
            continue
        if (match := _ACCESS.search(line)) is not None:
            routes[f"{match['method']} {_ID.sub('/{id}', match['path'])}"] += 1
    return {"requests": sum(routes.values()), "websockets": websockets, "routes": dict(routes.most_common())}


def _child_runs(api_url: str, prefect_home: Path) -> list[dict[str, Any]]:
    """The ingest deployment's flow runs (one per connector and account shard): start, end, state."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    async def read() -> list[dict[str, Any]]:
        async with get_client() as client:
            runs = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[INGEST_DEPLOYMENT.split("/")[1]]))
            )
        return [
            {
                "id": str(r.id),
                "state": r.state_name,
                "start": r.start_time.timestamp() if r.start_time else None,
                "end": r.end_time.timestamp() if r.end_time else None,
                "expected_start": r.expected_start_time.timestamp() if r.expected_start_time else None,
                "parameters": {k: v for k, v in r.parameters.items() if k != "accounts"},
                "accounts": len(r.parameters.get("accounts") or []),
            }
            for r in runs
        ]

    with temporary_settings({PREFECT_API_URL: api_url, PREFECT_HOME: prefect_home}):
        all_runs = asyncio.run(read())
    seen = _child_runs_seen.setdefault(api_url, set())
    fresh = [r for r in all_runs if r["id"] not in seen]
    seen.update(r["id"] for r in fresh)
    return fresh


_child_runs_seen: dict[str, set[str]] = {}


@dataclass
class _Seen:
    role: str
    pid: int
    command: str
    peak_rss: int = 0
    cpu: float = 0.0  # user + system of the process itself (last sample)
    reaped_cpu: float = 0.0  # user + system of its children it has waited for (last sample)
    cpu_at_start: float = 0.0
    reaped_at_start: float = 0.0
    first_seen: float = field(default_factory=time.monotonic)
    last_seen: float = field(default_factory=time.monotonic)


class ProcessSampler:
    """Samples named root processes and every descendant they start, every SAMPLE_SECONDS: peak RSS and CPU
    per process. A root's `reaped_cpu` (psutil's children_user + children_system) counts, exactly, the CPU of
    the children it has waited for, such as a worker's flow-run processes; a short child's own figures are
    its last sample (up to one interval short)."""

    def __init__(self, roots: dict[str, int]) -> None:
        self._roots = roots
        self._seen: dict[int, _Seen] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scale-sampler", daemon=True)

    def start(self) -> ProcessSampler:
        self._sample(first=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self._sample()

    def _sample(self, first: bool = False) -> None:
        import psutil

        for role, pid in self._roots.items():
            try:
                root = psutil.Process(pid)
                descendants = [] if role == SANDBOX_ROLE else root.children(recursive=True)
                members = [(role, root), *((f"{role} child", p) for p in descendants)]
            except psutil.Error:
                continue
            for member_role, process in members:
                try:
                    with process.oneshot():
                        times = process.cpu_times()
                        rss = process.memory_info().rss
                        command = " ".join(process.cmdline())[:300]
                except psutil.Error:
                    continue
                seen = self._seen.get(process.pid)
                if seen is None:
                    seen = self._seen[process.pid] = _Seen(member_role, process.pid, command)
                    if first:  # CPU before the run is not the run's
                        seen.cpu_at_start = times.user + times.system
                        seen.reaped_at_start = times.children_user + times.children_system
                seen.peak_rss = max(seen.peak_rss, rss)
                seen.cpu = times.user + times.system
                seen.reaped_cpu = times.children_user + times.children_system
                seen.last_seen = time.monotonic()

    def stop(self) -> list[dict[str, Any]]:
        self._stop.set()
        self._thread.join()
        self._sample()
        return [
            {
                "role": s.role,
                "pid": s.pid,
                "command": s.command,
                "peak_rss_bytes": s.peak_rss,
                "cpu_seconds": s.cpu - s.cpu_at_start,
                "reaped_children_cpu_seconds": s.reaped_cpu - s.reaped_at_start,
                "seen_seconds": s.last_seen - s.first_seen,
            }
            for s in self._seen.values()
        ]


def _log_cell(cell: dict[str, Any]) -> None:
    logger.info(
        "scale: %s %d accounts/channel: %.1f s wall, %s rows, %d Prefect API requests, pipeline CPU %.1f s",
        cell["mode"],
        cell["accounts_per_channel"],
        cell["wall_seconds"],
        f"{cell['rows']:,}",
        cell["prefect_api"]["requests"],
        pipeline_cpu(cell),
    )


def _role_cpu(cell: dict[str, Any], role: str) -> float:
    """CPU of the root process `role` and of every child it started and waited for (its flow runs)."""
    return sum(p["cpu_seconds"] + p["reaped_children_cpu_seconds"] for p in cell["processes"] if p["role"] == role)


def workers_cpu(cell: dict[str, Any]) -> float:
    return sum(_role_cpu(cell, f"worker {i}") for i in range(cell["workers"]))


def pipeline_cpu(cell: dict[str, Any]) -> float:
    """The CPU the platform spent on the run: the pipeline process, the Prefect server, the workers and
    their child runs (the sandbox standing in for the ad platforms is not the platform's)."""
    return cell["process_cpu_seconds"] + _role_cpu(cell, "server") + workers_cpu(cell)


def _children(cell: dict[str, Any]) -> list[dict[str, Any]]:
    """The processes the workers started: one per child flow run (and whatever those start)."""
    return [p for p in cell["processes"] if p["role"].startswith("worker") and p["role"].endswith(" child")]


def summarise(
    cells: list[dict[str, Any]], channels: Sequence[str], *, workers: int, shard_accounts: int, smoke: bool
) -> dict[str, Any]:
    """Per cell: cost per account; per mode: the verdict (each size's cost within FLAT_TARGET of the smallest
    size's, CPU and wall); from the deployments mode's child runs, the per-shard figures of the projection."""
    for cell in cells:
        accounts = cell["accounts"]
        cell["pipeline_cpu_seconds"] = pipeline_cpu(cell)
        cell["cpu_per_account_ms"] = 1000 * cell["pipeline_cpu_seconds"] / accounts
        cell["wall_per_account_ms"] = 1000 * cell["wall_seconds"] / accounts
        cell["rows_per_second"] = rate(cell["rows"], cell["wall_seconds"])
        cell["api_calls_per_1000_accounts"] = 1000 * cell["prefect_api"]["requests"] / accounts
        runs = [r for r in cell["child_runs"] if r["start"] and r["end"]]
        if runs:
            walls = sorted(r["end"] - r["start"] for r in runs)
            span = max(r["end"] for r in runs) - min(r["start"] for r in runs)
            cell["shards"] = {
                "count": len(cell["child_runs"]),
                "completed": sum(1 for r in cell["child_runs"] if r["state"] == "Completed"),
                "wall_median_seconds": walls[len(walls) // 2],
                "wall_max_seconds": walls[-1],
                "span_seconds": span,
                "fixed_seconds": cell["wall_seconds"] - span,
                # a worker slot's time per shard, its pick-up and process start included (workers x limit slots)
                "slot_seconds": span * cell["workers"] * (cell.get("worker_limit") or 1) / len(runs),
                "cpu_per_shard_seconds": workers_cpu(cell) / len(runs),
                "start_delay_median_seconds": sorted(
                    r["start"] - r["expected_start"] for r in runs if r["expected_start"]
                )[len(runs) // 2],
            }
    verdicts = {}
    for mode in dict.fromkeys(c["mode"] for c in cells):
        mine = sorted((c for c in cells if c["mode"] == mode), key=lambda c: c["accounts_per_channel"])
        base = mine[0]
        spread = {
            metric: max(abs(c[metric] / base[metric] - 1) for c in mine) if base[metric] > 0 else float("nan")
            for metric in ("cpu_per_account_ms", "wall_per_account_ms")
        }
        measured = len(mine) > 1 and not smoke
        verdicts[mode] = {
            "sizes": [c["accounts_per_channel"] for c in mine],
            "spread": spread,
            # each size's cost over the smallest size's: below 1 means cheaper per account at that size
            "ratios": {
                metric: [c[metric] / base[metric] if base[metric] > 0 else float("nan") for c in mine]
                for metric in ("cpu_per_account_ms", "wall_per_account_ms")
            },
            "verdict": {
                metric: ("not measured (smoke)" if smoke else "one size only")
                if not measured
                else "met"
                if value <= FLAT_TARGET
                else "NOT met"
                for metric, value in spread.items()
            },
        }
    return {
        "channels": list(channels),
        "workers": workers,
        "shard_accounts": shard_accounts,
        "cells": cells,
        "verdicts": verdicts,
        "projection": projection(cells, shard_accounts),
        "target": FLAT_TARGET,
    }


def projection(cells: list[dict[str, Any]], shard_accounts: int) -> dict[str, Any] | None:
    """wall(N jobs) ~ fixed + ceil(shards / N) x per-shard wall. From the largest deployments-mode cell: the
    time a worker slot spent per shard (the child runs' span x slots / shards: pick-up and process start
    included), and the parent's wall outside the child runs; without one, estimated from the largest in-process
    cell: its ingest wall per account x shard_accounts, and its time to the first task."""
    measured = [c for c in cells if c.get("shards")]
    if measured:
        cell = max(measured, key=lambda c: c["accounts"])
        shards = cell["shards"]
        per_shard, fixed, per_shard_cpu = (
            shards["slot_seconds"],
            shards["fixed_seconds"],
            shards["cpu_per_shard_seconds"],
        )
        run_median = shards["wall_median_seconds"]
        source = "deployments"
    else:
        in_process = [c for c in cells if c["mode"] == "in_process"]
        if not in_process:
            return None
        cell = max(in_process, key=lambda c: c["accounts"])
        fixed = cell["startup_seconds"]
        per_shard = (cell["wall_seconds"] - fixed) / cell["accounts"] * shard_accounts
        per_shard_cpu = cell["pipeline_cpu_seconds"] / cell["accounts"] * shard_accounts
        run_median = per_shard
        source = "in_process"
    table_rows = {}
    for n_accounts in sorted({cell["accounts_per_channel"], 10_000}):
        count = len(cell["channels"]) * math.ceil(n_accounts / shard_accounts)
        table_rows[n_accounts] = {
            str(jobs): fixed + math.ceil(count / jobs) * per_shard for jobs in (1, 2, 5, 10, 20, 50) if jobs <= count
        } | {"shards": count}
    return {
        "source": source,
        "from_accounts_per_channel": cell["accounts_per_channel"],
        "per_shard_wall_seconds": per_shard,
        "per_shard_cpu_seconds": per_shard_cpu,
        "run_median_seconds": run_median,
        "fixed_seconds": fixed,
        "walls": table_rows,
    }


def _mb(value: float) -> str:
    return f"{value / 2**20:,.0f}"


def _load(values: Sequence[float] | None) -> str:
    return "/".join(f"{v:.2f}" for v in values) if values else "n/a"


def _markdown(data: dict[str, Any]) -> str:
    cells = data["cells"]
    rows = []
    for c in cells:
        children = _children(c)
        server = next((p for p in c["processes"] if p["role"] == "server"), None)
        sandbox = next((p for p in c["processes"] if p["role"] == SANDBOX_ROLE), None)
        worker_rows = [p for p in c["processes"] if p["role"].startswith("worker") and not p["role"].endswith("child")]
        rows.append(
            [
                c["mode"] + (f" ({c['workers']} workers x {c.get('worker_limit', 1)} run)" if c["workers"] else ""),
                f"{c['accounts_per_channel']:,}",
                c["units"],
                f"{c['rows']:,}",
                f"{c['wall_seconds']:.1f}",
                human(c["rows_per_second"]),
                f"{c['process_cpu_seconds']:.1f} / {_role_cpu(c, 'server'):.1f}"
                + (" / " + " + ".join(f"{_role_cpu(c, p['role']):.1f}" for p in worker_rows) if worker_rows else "")
                + f" ({c['sandbox_cpu_seconds']:.1f})",
                f"{c['pipeline_cpu_seconds']:.1f}",
                f"{_mb(c['peak_rss_bytes'])} / {_mb(server['peak_rss_bytes']) if server else 'n/a'}"
                + (
                    " / "
                    + " + ".join(_mb(p["peak_rss_bytes"]) for p in worker_rows)
                    + f" / {_mb(max((p['peak_rss_bytes'] for p in children), default=0))} max of {len(children)}"
                    if worker_rows
                    else ""
                )
                + (f" ({_mb(sandbox['peak_rss_bytes'])})" if sandbox else ""),
                f"{c['prefect_api']['requests']:,} + {c['prefect_api']['websockets']} ws",
                f"{c['api_calls_per_1000_accounts']:,.0f}",
                f"{c['cpu_per_account_ms']:.2f}",
                f"{c['wall_per_account_ms']:.2f}",
                f"{c['measured_at']}: {_load(c['load_average_before'])} -> {_load(c['load_average_after'])}",
            ]
        )
    headers = [
        "mode",
        "accounts/channel",
        "units",
        "rows",
        "wall s",
        "rows/s",
        "CPU s: pipeline / server / workers (+ their child runs) (sandbox)",
        "platform CPU s",
        "peak RSS MB: pipeline / server / workers / child run (sandbox)",
        "Prefect API requests (+ WebSockets)",
        "API requests per 1,000 accounts",
        "CPU ms per account",
        "wall ms per account",
        "measured: load average before -> after",
    ]
    verdict_lines = []
    for mode, v in data["verdicts"].items():
        sizes = " -> ".join(f"{s:,}" for s in v["sizes"])
        spread, verdict = v["spread"], v["verdict"]
        ratios = v["ratios"]
        verdict_lines.append(
            f"- {mode}, {sizes} accounts/channel: CPU per account x "
            + " -> ".join(f"{r:.2f}" for r in ratios["cpu_per_account_ms"])
            + f" of the smallest size's (largest gap {100 * spread['cpu_per_account_ms']:.0f}%: "
            f"**{verdict['cpu_per_account_ms']}**), wall per account x "
            + " -> ".join(f"{r:.2f}" for r in ratios["wall_per_account_ms"])
            + f" (largest gap {100 * spread['wall_per_account_ms']:.0f}%: **{verdict['wall_per_account_ms']}**); "
            f"target: flat within {100 * data['target']:.0f}%."
        )
    first = cells[0]
    windows = ", ".join(f"{name} {w[0]}..{w[1]}" for name, w in first["windows"].items())
    streams = ", ".join(f"{c} `{primary_stream(c)}`" for c in data["channels"])
    largest = {c["mode"]: c for c in sorted(cells, key=lambda x: x["accounts"])}
    top = "; ".join(
        f"{mode} at {c['accounts_per_channel']:,}: "
        + ", ".join(f"`{r}` {n:,}" for r, n in Counter(c["prefect_api"]["routes"]).most_common(5))
        for mode, c in largest.items()
    )
    load = data["machine_load"]
    parts = [
        table(headers, rows),
        "",
        *verdict_lines,
        "",
        f"Each run: `daily_pipeline(run_dbt=False, run_monitoring=False, run_forecast=False)` with no window given, "
        f"so each connector reads its own daily window ({windows}), in a fresh process against one running "
        f"`prefect server` (temporary PREFECT_HOME, migrated once); {len(data['channels'])} channels' primary "
        f"streams ({streams}); the sandbox serves them from the benchmark process (its CPU in brackets: the "
        "stand-in for the ad platforms, not counted in the platform's CPU). Units are (stream, account, 31-day "
        "chunk). Platform CPU: the pipeline process, the Prefect server, and (deployments) the workers with every "
        "child run they started, read with psutil (a worker's finished child runs exactly, through its reaped "
        "children's CPU). Peak RSS sampled every 0.25 s (pipeline: 0.05 s). Prefect API requests: lines of the "
        "server's uvicorn access log (PREFECT_SERVER_LOGGING_LEVEL=INFO) between the run's start and end, worker "
        "polls included; task-run states and events go over the WebSocket counted once per connection. "
        f"Most requests of each mode's largest run: {top}.",
    ]
    projected = data["projection"]
    if projected:
        walls = projected["walls"]
        lines = []
        for accounts, row in walls.items():
            jobs = ", ".join(f"{n} jobs {row[n]:,.0f} s" for n in row if n != "shards")
            lines.append(f"- {accounts:,} accounts/channel ({row['shards']} shards): {jobs}")
        how = (
            "per shard: the child runs' span x worker slots / shards, the pick-up and the process start included "
            f"(the child runs alone: median {projected['run_median_seconds']:.1f} s); fixed: the parent run's wall "
            "outside its child runs. The shards shared this machine's 2 cores two at a time (and with the server "
            "and the sandbox), so a job with cores of its own does better"
            if projected["source"] == "deployments"
            else "estimated from the in-process run, no deployments run yet: its ingest wall per account x the "
            "shard's accounts; fixed: its time to the first task"
        )
        parts += [
            "",
            f"**Projection for N Cloud Run jobs** (from the {projected['source']} run at "
            f"{projected['from_accounts_per_channel']:,} accounts/channel): wall(N) ~ fixed + ceil(shards / N) x "
            f"per-shard wall = {projected['fixed_seconds']:.1f} s + ceil(shards / N) x "
            f"{projected['per_shard_wall_seconds']:.1f} s, {data['shard_accounts']} accounts per shard, "
            f"{projected['per_shard_cpu_seconds']:.1f} s of CPU per shard ({how}). A Cloud Run job also pays its "
            "container start, not measured here.",
            *lines,
        ]
    parts += [
        "",
        f"Machine: 2 shared cores, load average {_load(load['load_average_before'])} before, "
        f"{_load(load['load_average_after'])} after; other processes used {load['other_processes_cores']:.2f} cores "
        f"on average over the {load['wall_seconds']:.0f} s benchmark"
        + (" (**loaded**: slower than on an idle machine)." if load["other_processes_cores"] > LOADED_CORES else "."),
    ]
    return "\n".join(parts)
