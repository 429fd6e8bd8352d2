"""End-to-end benchmark: `daily_pipeline` (ingest only) against the sandbox for a grid of accounts per channel
x days. Each cell runs in its own process (against one running Prefect server, or a temporary one of its own) so
its peak memory is its own; the sandbox runs in this process, which reads its API call counters afterwards."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import json
import logging
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import QUIET_ENV, PeakRSS, Section, human, rate, table

logger = logging.getLogger(__name__)

CELL_TIMEOUT_SECONDS = 3_600
SERVER_STARTUP_TIMEOUT_SECONDS = 600
PRIMARY_STREAMS = {"google_ads": "ad_performance", "meta_ads": "ad_insights"}
RECONCILED_STREAMS = {**PRIMARY_STREAMS, "microsoft_ads": "ad_performance"}
RECONCILIATION_TARGET = 0.10  # reconciling (totals streams + the step) costs under 10% of a daily run
META_POLL_SECONDS = 0.5  # the sandbox completes report runs after a few polls (as in pipeline.yaml)


def run(
    accounts: Sequence[int], days: Sequence[int], workdir: Path | None = None, *, server: str = "persistent"
) -> Section:
    """Every (accounts, days) cell in turn, against one running `prefect server` (as deployments run:
    `persistent`) or a temporary server started by each cell's process (as a bare `mdp run`: `temporary`)."""
    results = []
    with tempfile.TemporaryDirectory(prefix="mdp-bench-e2e-", dir=workdir) as tmp:
        prefect_home = Path(tmp) / "prefect"
        _migrate(prefect_home)
        process, api_url = None, None
        if server == "persistent":
            from deployments.local import start_server

            process, api_url = start_server(_free_port(), Path(tmp) / "logs", prefect_home)
        try:
            for n_accounts in accounts:
                for n_days in days:
                    cell_dir = Path(tmp) / f"{n_accounts}x{n_days}"
                    result = run_cell(n_accounts, n_days, cell_dir, prefect_home, api_url, process)
                    results.append(result | {"server": server})
        finally:
            if process is not None:
                from deployments.local import stop_process_group

                stop_process_group(process)
    return Section("End to end", _markdown(results), {"cells": results})


def run_reconciliation(
    accounts: int, days: int, repeats: int, workdir: Path | None = None, *, smoke: bool = False
) -> Section:
    """The cost of reconciling: the same daily run (three channels' primary streams, dbt on) with the
    reconciliation off and on, alternately `repeats` times against one running server; the verdict compares
    the medians' difference with RECONCILIATION_TARGET of the run. `smoke`: one run with it on (the code runs;
    no verdict)."""
    from deployments.local import start_server, stop_process_group

    cells: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mdp-bench-reconcile-", dir=workdir) as tmp:
        prefect_home = Path(tmp) / "prefect"
        _migrate(prefect_home)
        process, api_url = start_server(_free_port(), Path(tmp) / "logs", prefect_home)
        try:
            for round_ in range(repeats):
                for enabled in (True,) if smoke else (False, True):
                    cell_dir = Path(tmp) / f"{'on' if enabled else 'off'}-{round_}"
                    result = run_cell(accounts, days, cell_dir, prefect_home, api_url, process, reconciliation=enabled)
                    cells.append(result | {"reconciliation": enabled})
        finally:
            stop_process_group(process)
    on = statistics.median(c["wall_seconds"] for c in cells if c["reconciliation"])
    off = on if smoke else statistics.median(c["wall_seconds"] for c in cells if not c["reconciliation"])
    share = (on - off) / on if on > 0 else 0.0
    rows = [
        [
            "on" if c["reconciliation"] else "off",
            c["accounts_per_channel"],
            c["days"],
            c["units"],
            f"{c['rows']:,}",
            f"{c['reconciled_account_days']:,}",
            f"{c['wall_seconds']:.1f}",
        ]
        for c in cells
    ]
    verdict = "not measured (smoke)" if smoke else "met" if share < RECONCILIATION_TARGET else "NOT met"
    text = "\n".join(
        [
            table(
                ["reconciliation", "accounts/channel", "days", "units", "rows", "account-days reconciled", "wall s"],
                rows,
            ),
            "",
            f"Median wall time {off:.1f} s off, {on:.1f} s on: reconciling costs {on - off:+.1f} s, "
            f"{100 * share:.1f}% of the run (target < {100 * RECONCILIATION_TARGET:.0f}%: **{verdict}**). "
            "Each run: a fresh process and DuckDB file, `daily_pipeline(run_dbt=True, run_monitoring=False)` over the "
            "days ending yesterday, the three channels' primary streams (on: plus each account's `account_totals` "
            "units and the reconciliation step after dbt), against one running `prefect server`; off and on "
            "alternate so that a change of machine load hits both.",
        ]
    )
    return Section("Reconciliation cost", text, {"cells": cells, "off_seconds": off, "on_seconds": on, "share": share})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _process_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of a process and its children so far; 0 without one."""
    if pid is None:
        return 0.0
    import psutil

    try:
        root = psutil.Process(pid)
        return _cpu_of([root, *root.children(recursive=True)])
    except psutil.Error:
        return 0.0


def _cpu_of(processes: Sequence[Any]) -> float:
    """User + system CPU seconds of these psutil processes (one that has ended counts nothing)."""
    import psutil

    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _prefect_env(prefect_home: Path) -> dict[str, str]:
    return {
        **QUIET_ENV,
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(SERVER_STARTUP_TIMEOUT_SECONDS),
    }


def _migrate(prefect_home: Path) -> None:
    """Create the temporary Prefect database once, so that no cell pays for the migrations."""
    prefect = Path(sys.executable).with_name("prefect")
    subprocess.run(
        [str(prefect), "server", "database", "upgrade", "-y"],
        env={**os.environ, **_prefect_env(prefect_home)},
        capture_output=True,
        check=True,
        timeout=SERVER_STARTUP_TIMEOUT_SECONDS,
    )


def run_cell(
    n_accounts: int,
    n_days: int,
    directory: Path,
    prefect_home: Path,
    api_url: str | None = None,
    server: Any = None,
    *,
    reconciliation: bool | None = None,
) -> dict[str, Any]:
    """Start a sandbox with `n_accounts` per channel, run one pipeline process over `n_days` days ending
    yesterday, and collect its measurements with the sandbox's call counts. `reconciliation` given: the
    three channels' primary streams with dbt, reconciliation on or off (the cost of reconciling)."""
    from sandbox import SandboxConfig, start_sandbox
    from sandbox.runner import SANDBOX_SECRETS
    from sandbox.tls import GRPC_ROOTS_ENV

    directory.mkdir(parents=True, exist_ok=True)
    today = dt.datetime.now(dt.UTC).date()
    start, end = today - dt.timedelta(days=n_days), today - dt.timedelta(days=1)
    sandbox = SandboxConfig(
        google_accounts=n_accounts, meta_accounts=n_accounts, microsoft_accounts=n_accounts, as_of=today
    )
    with start_sandbox(sandbox) as handle:
        config = handle.pipeline_fragment()
        streams = RECONCILED_STREAMS if reconciliation is not None else PRIMARY_STREAMS
        # Google Ads and Meta, as the published figures were measured (the sandbox serves Microsoft too)
        config["connectors"] = [c for c in config["connectors"] if c["type"] in streams]
        for section in config["connectors"]:
            # the ad-level stream, as the published figures were measured (every stream: issue [4/7])
            section["streams"] = [streams[section["type"]]]
            if section["type"] == "meta_ads":
                section["poll_initial_seconds"] = META_POLL_SECONDS
        config.update(
            timezone="UTC",
            reporting_currency="EUR",
            warehouse={"type": "duckdb", "path": str(directory / "warehouse.duckdb")},
        )
        if reconciliation is not None:
            config["reconciliation"] = {"enabled": reconciliation}
        config_path = directory / "pipeline.yaml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        result_path = directory / "result.json"
        env = {
            **os.environ,
            **_prefect_env(prefect_home),
            **SANDBOX_SECRETS,
            GRPC_ROOTS_ENV: str(handle.ca_bundle),
            "PYTHONUNBUFFERED": "1",
            **({"PREFECT_API_URL": api_url} if api_url else {}),
        }
        cell = {
            "config": str(config_path),
            "start": start.isoformat(),
            "end": end.isoformat(),
            "out": str(result_path),
            "run_dbt": reconciliation is not None,
        }
        logger.info("e2e cell %d accounts/channel x %d days: running", n_accounts, n_days)
        server_cpu = _process_cpu(server.pid if server is not None else None)
        with (directory / "cell.log").open("w", encoding="utf-8") as log:
            completed = subprocess.run(
                [sys.executable, "-m", "benchmarks.e2e", "--cell", json.dumps(cell)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=CELL_TIMEOUT_SECONDS,
                check=False,
            )
        server_cpu = _process_cpu(server.pid if server is not None else None) - server_cpu
        assert handle.google_calls is not None
        assert handle.meta_calls is not None
        calls = {"google_ads": handle.google_calls.total(), "meta_ads": handle.meta_calls.total()}
        if handle.microsoft_calls is not None:
            calls["microsoft_ads"] = handle.microsoft_calls.total()
    if completed.returncode != 0 or not result_path.exists():
        tail = (directory / "cell.log").read_text(encoding="utf-8")[-3000:]
        raise RuntimeError(f"e2e cell {n_accounts}x{n_days} failed (exit {completed.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    result.update(accounts_per_channel=n_accounts, days=n_days, api_calls=calls)
    if server is not None:  # the running server's CPU during the cell (the cell's own children: none)
        result["server_cpu_seconds"] = server_cpu
    logger.info(
        "e2e cell %dx%d: %.1fs wall, %d rows, overhead %.1fs, peak RSS %.0f MB",
        n_accounts,
        n_days,
        result["wall_seconds"],
        result["rows"],
        result["overhead_seconds"],
        result["peak_rss_bytes"] / 2**20,
    )
    return result


def _union_seconds(intervals: list[tuple[float, float]]) -> float:
    """Seconds during which at least one interval is open."""
    total, current_start, current_end = 0.0, None, None
    for begin, finish in sorted(intervals):
        if current_end is None or begin > current_end:
            if current_end is not None and current_start is not None:
                total += current_end - current_start
            current_start, current_end = begin, finish
        else:
            current_end = max(current_end, finish)
    if current_end is not None and current_start is not None:
        total += current_end - current_start
    return total


def _cell_main(cell: dict[str, Any]) -> None:
    """Inside the cell process: run the flow once, timing every extract-and-load task from inside."""
    logging.basicConfig(level=logging.WARNING)
    from prefect.settings import temporary_settings

    import flows.ingest as ingest
    from flows.daily import daily_pipeline
    from mdp.prefect_tls import lean_tls_settings

    intervals: list[tuple[float, float]] = []
    task_cpu: list[float] = []
    lock = threading.Lock()
    original = ingest.extract_and_load.fn

    @functools.wraps(original)
    def timed_unit(*args: Any, **kwargs: Any) -> Any:
        began, cpu = time.monotonic(), time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            with lock:
                intervals.append((began, time.monotonic()))
                task_cpu.append(time.thread_time() - cpu)

    ingest.extract_and_load.fn = timed_unit
    step_seconds = _time_steps()
    tls = _count_tls_contexts()
    own, tree = PeakRSS().start(), PeakRSS(tree=True).start()
    cpu_before = _cpu_seconds()
    began = time.monotonic()
    with temporary_settings(updates=lean_tls_settings()):
        summary = asyncio.run(
            daily_pipeline(
                # no window given: each connector's own lookback, as a scheduled daily run
                start_date=dt.date.fromisoformat(cell["start"]) if cell.get("start") else None,
                end_date=dt.date.fromisoformat(cell["end"]) if cell.get("end") else None,
                run_dbt=bool(cell.get("run_dbt")),
                run_monitoring=False,
                run_forecast=bool(cell.get("run_forecast", True)),
                config_path=cell["config"],
            )
        )
    wall = time.monotonic() - began
    process_cpu, server_cpu = _cpu_seconds(), _children_cpu_seconds()
    own.stop()
    tree.stop()
    busy = _union_seconds(intervals)
    task_sum = sum(b - a for a, b in intervals)
    first_task = min((a for a, _ in intervals), default=began + wall) - began
    result = {
        "wall_seconds": wall,
        "rows": sum(o.rows for o in summary.outcomes),
        "units": len(summary.outcomes),
        "failed_units": len(summary.failed),
        "task_seconds_sum": task_sum,
        "task_seconds_max": max((b - a for a, b in intervals), default=0.0),
        "busy_seconds": busy,
        "overhead_seconds": wall - busy,
        "overhead_literal_seconds": wall - task_sum,
        "startup_seconds": first_task,
        "peak_rss_bytes": own.peak,
        "peak_rss_tree_bytes": tree.peak,
        "process_cpu_seconds": process_cpu - cpu_before,
        "task_cpu_seconds": sum(task_cpu),
        "server_cpu_seconds": server_cpu,
        "tls_contexts": tls["calls"],
        "tls_context_seconds": tls["seconds"],
        "reconciled_account_days": summary.reconciliation.checked if summary.reconciliation else 0,
        "steps": dict(summary.steps),
        "step_seconds": step_seconds,
    }
    Path(cell["out"]).write_text(json.dumps(result), encoding="utf-8")


def _time_steps() -> dict[str, float]:
    """Time each downstream step of the daily flow (dbt, reconciliation, forecast...) from now on, by wrapping
    the function that runs one: step name -> wall seconds."""
    import flows.daily as daily

    seconds: dict[str, float] = {}
    original = daily._run_step

    @functools.wraps(original)
    async def timed_step(summary: Any, step: str, *args: Any, **kwargs: Any) -> None:
        began = time.monotonic()
        try:
            await original(summary, step, *args, **kwargs)
        finally:
            seconds[step] = seconds.get(step, 0.0) + time.monotonic() - began

    daily._run_step = timed_step
    return seconds


def _count_tls_contexts() -> dict[str, float]:
    """Count `ssl.create_default_context` calls (and their time) in this process from now on: Prefect builds
    one per API client, whether or not the API is https."""
    import ssl

    counts = {"calls": 0.0, "seconds": 0.0}
    original = ssl.create_default_context

    @functools.wraps(original)
    def counted(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            counts["calls"] += 1
            counts["seconds"] += time.perf_counter() - began

    ssl.create_default_context = counted
    return counts


def _cpu_seconds() -> float:
    """CPU seconds (user + system, every thread) of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_cpu_seconds() -> float:
    """CPU seconds of this process's running children (the temporary Prefect server, if any)."""
    import psutil

    return _cpu_of(psutil.Process().children(recursive=True))


def prefect_cpu_share(cell: dict[str, Any]) -> float:
    """Prefect's share of the run's CPU: everything outside the task bodies (flow engine, API client,
    logging, the server) over all CPU the run used (pipeline process + server)."""
    total = cell["process_cpu_seconds"] + cell["server_cpu_seconds"]
    return (total - cell["task_cpu_seconds"]) / total if total > 0 else 0.0


def _markdown(cells: list[dict[str, Any]]) -> str:
    rows = []
    for c in cells:
        wall = c["wall_seconds"]
        steady = c["overhead_seconds"] - c["startup_seconds"]
        rows.append(
            [
                c.get("server", "temporary"),
                c["accounts_per_channel"],
                c["days"],
                c["units"],
                f"{c['rows']:,}",
                f"{wall:.1f}",
                human(rate(c["rows"], wall)),
                f"{c['api_calls']['google_ads']:,} / {c['api_calls']['meta_ads']:,}",
                f"{c['peak_rss_bytes'] / 2**20:.0f} / {c['peak_rss_tree_bytes'] / 2**20:.0f}",
                f"{c['task_seconds_sum']:.1f}",
                f"{c['startup_seconds']:.1f}",
                f"{c['overhead_seconds']:.1f} ({100 * c['overhead_seconds'] / wall:.0f}%)",
                f"{steady:.1f} ({100 * steady / max(wall - c['startup_seconds'], 1e-9):.0f}%)",
                f"{c['process_cpu_seconds']:.1f} / {c['server_cpu_seconds']:.1f} / {c['task_cpu_seconds']:.1f}",
                f"{100 * prefect_cpu_share(c):.0f}%",
                f"{c.get('tls_contexts', 0):.0f} ({c.get('tls_context_seconds', 0.0):.1f} s)",
            ]
        )
    headers = [
        "Prefect server",
        "accounts/channel",
        "days",
        "units",
        "rows",
        "wall s",
        "rows/s",
        "API calls Google / Meta",
        "peak RSS MB (pipeline / + Prefect server)",
        "sum of task s",
        "to first task s",
        "Prefect overhead s (no task running)",
        "of which after the first task s (% of the rest)",
        "CPU s: pipeline / Prefect server / inside tasks",
        "Prefect's CPU share",
        "TLS contexts built (s)",
    ]
    notes = (
        "Each cell: a fresh process runs `daily_pipeline(start_date, end_date, run_dbt=False, run_monitoring=False)` "
        "over the days ending yesterday, with a temporary `PREFECT_HOME` migrated once and a fresh DuckDB file, "
        "against one `prefect server` started before the cells (persistent, as deployments run) or a temporary "
        "server each cell's process starts (temporary, as a bare `mdp run` without PREFECT_API_URL), against "
        "the sandbox serving every channel from "
        "the parent process. "
        "Units are (stream, account, 31-day chunk); each connector runs them in at most `max_concurrency` batched "
        "tasks (Google 4, Meta 16), both connectors concurrently. "
        "'Prefect overhead' is the wall time during which no extract-and-load task was running (server start, "
        "flow and task scheduling, teardown), measured by timing the task function from inside. CPU is the "
        "pipeline process's user + system time (all threads), the Prefect server's, and the task bodies' own "
        "thread time; Prefect's CPU share is all CPU outside the task bodies (flow engine, API client, logs, "
        "server) over the total. Peak RSS is sampled every 50 ms (psutil) in the pipeline process, and with "
        "its children (the temporary Prefect server)."
    )
    return "\n".join([table(headers, rows), "", notes])


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.e2e", description="one end-to-end cell (internal)")
    p.add_argument("--cell", required=True, help="JSON: config, start, end, out")
    args = p.parse_args(argv)
    _cell_main(json.loads(args.cell))
    return 0


if __name__ == "__main__":
    sys.exit(main())
