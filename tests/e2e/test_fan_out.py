"""`execution: deployments` end to end on a real Prefect server: `mdp deploy --local --workers 2` starts two
process workers; the daily deployment's scheduled run fans out one ingest deployment run per (connector,
account shard), which run in both workers' processes (their infrastructure PIDs' parents); its marts equal an
in-process `mdp run` of the same window to the row; a worker SIGKILLed (with the flow runs it started) while
running shards: the parent marks them Crashed for want of a heartbeat, starts them again on the other worker,
and the warehouse ends complete; with no worker left, a run fails within start_timeout_seconds naming the pool."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
import yaml

from deployments.local import (
    LOCAL_POOL,
    LocalStack,
    alive,
    down,
    prefect_env,
    read_env_file,
    state_path,
    stop_process_group,
)
from mdp.config import PipelineConfig, load_config
from sandbox import Fault
from sandbox.config import SandboxConfig
from sandbox.runner import SandboxHandle, environment_exports, start_sandbox
from tests.e2e.conftest import PrefectServer
from tests.integration.test_isolation_matrix import marts

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.filterwarnings("ignore::ResourceWarning")]

TZ = "Europe/Paris"
TODAY = dt.datetime.now(ZoneInfo(TZ)).date()
LOOKBACK = 3
START, END = TODAY - dt.timedelta(days=LOOKBACK), TODAY - dt.timedelta(days=1)
RUN_TIMEOUT_SECONDS = 900.0
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
STALE_AFTER = 60  # the parent's execution.stale_after_seconds; the workers' runs beat every 30 s
PROJECT = Path(__file__).resolve().parents[2]


@dataclass
class Stack:
    server: PrefectServer
    config_path: Path
    config: PipelineConfig
    stack: LocalStack
    env: dict[str, str]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with start_sandbox(SandboxConfig(seed=11, google_accounts=2, meta_accounts=2, as_of=TODAY)) as handle:
        yield handle


def write_config(root: Path, sandbox: SandboxHandle, warehouse: str, execution: dict[str, Any]) -> Path:
    data: dict[str, Any] = {
        "timezone": TZ,
        "reporting_currency": "EUR",
        "warehouse": {"type": "duckdb", "path": str(root / warehouse)},
        "forecast": {"enabled": False},
        "execution": execution,
        **sandbox.pipeline_fragment(),
    }
    data["connectors"] = [c for c in data["connectors"] if c["type"] in ("google_ads", "meta_ads")]
    for section in data["connectors"]:
        section["lookback_days"] = LOOKBACK
    path = root / f"{warehouse.removesuffix('.duckdb')}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


FAN_OUT = {
    "mode": "deployments",
    "ingest_deployment": "ingest/ingest-local",
    "shard_accounts": 1,
    "start_timeout_seconds": 120,
    "stale_after_seconds": STALE_AFTER,
    "poll_seconds": 1,
}


@pytest.fixture(scope="module")
def deployed(
    prefect_api: PrefectServer, sandbox: SandboxHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """`mdp deploy --local --workers 2 --worker-limit 2` against the session's server; the workers' flow runs
    read the fan-out configuration from MDP_CONFIG and the sandbox's secrets from the env file."""
    root = tmp_path_factory.mktemp("fan-out")
    config_path = write_config(root, sandbox, "wh.duckdb", FAN_OUT)
    env_file = root / "sandbox.env"
    exports = [*environment_exports(sandbox), f"MDP_CONFIG={config_path}", "PREFECT_FLOWS_HEARTBEAT_FREQUENCY=30"]
    env_file.write_text("\n".join(exports) + "\n")
    env = {**prefect_env(prefect_api.api_url, prefect_api.home), "PREFECT_WORKER_QUERY_SECONDS": "2"}
    config = load_config(config_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mdp.cli",
            "deploy",
            "--local",
            "--workers",
            "2",
            "--worker-limit",
            "2",
            "--env-file",
            str(env_file),
            "--config",
            str(config_path),
        ],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    stack = LocalStack.load(state_path(config))
    assert stack is not None, done.stdout
    assert len(stack.worker_pids) == 2, done.stdout
    try:
        yield Stack(prefect_api, config_path, config, stack, env)
    finally:
        down(config)
        assert not any(alive(pid) for pid in stack.worker_pids)


def api(server: PrefectServer, call: Any) -> Any:
    """Run `call(client)` against the server."""

    async def go() -> Any:
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: server.api_url}):
            async with get_client() as client:
                return await call(client)

    return asyncio.run(go())


def start_run(server: PrefectServer, name: str, parameters: dict[str, Any], scheduled: bool = False) -> Any:
    """A flow run of deployment `name`, as the scheduler (Scheduled a few seconds ahead) or the UI creates it."""
    from prefect.states import Scheduled

    async def create(client: Any) -> Any:
        deployment = await client.read_deployment_by_name(name)
        state = Scheduled(scheduled_time=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)) if scheduled else None
        return await client.create_flow_run_from_deployment(deployment.id, parameters=parameters, state=state)

    return api(server, create)


def read_run(server: PrefectServer, run_id: Any) -> Any:
    return api(server, lambda client: client.read_flow_run(run_id))


def shard_runs(server: PrefectServer, parent_id: Any) -> list[Any]:
    """The ingest flow runs linked to the parent (through their parent task run), oldest first."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    async def read(client: Any) -> list[Any]:
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=["mdp-shard"])))
        mine = []
        for run in runs:
            if run.parent_task_run_id is None:
                continue
            task = await client.read_task_run(run.parent_task_run_id)
            if task.flow_run_id == parent_id:
                mine.append(run)
        return sorted(mine, key=lambda r: r.created)

    result: list[Any] = api(server, read)
    return result


def wait_final(server: PrefectServer, run_id: Any, log_dir: Path) -> Any:
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        run = read_run(server, run_id)
        if run.state is not None and run.state.type.value in FINAL_STATES:
            return run
        time.sleep(2)
    raise AssertionError(f"flow run {run_id} still {run.state.name}:\n{worker_logs(log_dir)}")


def worker_logs(log_dir: Path) -> str:
    return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(log_dir.glob("prefect-worker-*.log")))


def parent_pid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def infrastructure_pid(run: Any) -> int | None:
    value = str(run.infrastructure_pid or "")
    tail = value.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


class WorkerWatch:
    """Records, while a run goes on, which worker process started each of its flow runs (the parent of the
    flow run's infrastructure PID): the processes are gone once the runs end."""

    def __init__(self, server: PrefectServer, parent_id: Any, workers: tuple[int, ...]) -> None:
        self.server, self.parent_id, self.workers = server, parent_id, workers
        self.hosts: dict[str, int] = {}  # flow run id -> worker pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                runs = [read_run(self.server, self.parent_id), *shard_runs(self.server, self.parent_id)]
            except Exception:  # the server is busy: look again
                runs = []
            for run in runs:
                pid = infrastructure_pid(run)
                host = parent_pid(pid) if pid else None
                if host in self.workers:
                    self.hosts.setdefault(str(run.id), host)
            self._stop.wait(0.5)

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join(timeout=30)
        return self.hosts


def warehouse_rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


RAW = {
    "google_ads": "SELECT customer_id, date, count(*), sum(cost_micros) FROM raw_google_ads.ad_performance "
    "GROUP BY ALL ORDER BY ALL",
    "meta_ads": "SELECT account_id, date, count(*), sum(spend) FROM raw_meta_ads.ad_insights GROUP BY ALL ORDER BY ALL",
}


def test_a_scheduled_daily_run_fans_out_over_two_workers_and_equals_an_in_process_run(
    deployed: Stack, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    log_dir = state_path(deployed.config).parent
    run = start_run(deployed.server, "daily_pipeline/daily-local", {}, scheduled=True)
    watch = WorkerWatch(deployed.server, run.id, deployed.stack.worker_pids)
    try:
        final = wait_final(deployed.server, run.id, log_dir)
    finally:
        hosts = watch.stop()
    assert final.state.is_completed(), f"{final.state.message}\n{worker_logs(log_dir)}"
    shards = shard_runs(deployed.server, run.id)
    # two connectors x two accounts, one account per shard: four ingest runs, each a subflow of the parent
    assert sorted(r.parameters["shard"] + " " + r.parameters["connector_name"] for r in shards) == [
        "1/2 google_ads",
        "1/2 meta_ads",
        "2/2 google_ads",
        "2/2 meta_ads",
    ]
    assert all(r.state.is_completed() for r in shards)
    assert all(r.parameters["run_id"] == str(run.id) for r in shards)
    shard_hosts = {hosts[str(r.id)] for r in shards if str(r.id) in hosts}
    assert shard_hosts == set(deployed.stack.worker_pids), (hosts, [str(r.id) for r in shards])

    # the same window in process (`mdp run`, a second warehouse): the marts equal to the row
    in_process = write_config(deployed.config_path.parent, sandbox, "in_process.duckdb", {"mode": "in_process"})
    env = {**os.environ, **deployed.env, **read_env_file(deployed.config_path.parent / "sandbox.env")}
    env.pop("MDP_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "mdp.cli", "run", "--config", str(in_process)],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    fanned, local = deployed.config.warehouse_path(), load_config(in_process).warehouse_path()
    for sql in RAW.values():
        assert warehouse_rows(fanned, sql) == warehouse_rows(local, sql)
        assert {r[1] for r in warehouse_rows(fanned, sql)} == {START + dt.timedelta(days=i) for i in range(LOOKBACK)}
    ours, theirs = marts(fanned), marts(local)
    assert set(ours) == set(theirs)
    assert len(ours) > 10
    for table in ours:
        assert ours[table] == theirs[table], table


def test_a_killed_worker_s_shards_run_again_on_the_other_and_the_warehouse_ends_complete(
    deployed: Stack, sandbox: SandboxHandle
) -> None:
    log_dir = state_path(deployed.config).parent
    wh = deployed.config.warehouse_path()
    before = {name: warehouse_rows(wh, sql) for name, sql in RAW.items()}
    # slow answers keep the shards running long enough to be killed mid-run
    assert sandbox.google is not None
    assert sandbox.meta is not None
    sandbox.google.faults.add(Fault("slow", params={"delay_seconds": 2.0}))
    sandbox.meta.faults.add(Fault("slow", params={"delay_seconds": 2.0}))
    parameters = {"start_date": START.isoformat(), "end_date": END.isoformat(), "run_dbt": False}
    parameters |= {"run_monitoring": False, "run_forecast": False}
    run = start_run(deployed.server, "daily_pipeline/rerun-local", parameters)
    watch = WorkerWatch(deployed.server, run.id, deployed.stack.worker_pids)
    victim, killed_runs = None, []
    try:
        deadline = time.monotonic() + 300
        while victim is None and time.monotonic() < deadline:
            host_of_parent = watch.hosts.get(str(run.id))
            running = [
                r
                for r in shard_runs(deployed.server, run.id)
                if r.state.type.value == "RUNNING" and watch.hosts.get(str(r.id)) not in (None, host_of_parent)
            ]
            if host_of_parent is not None and running:
                victim = watch.hosts[str(running[0].id)]
                killed_runs = [r for r in running if watch.hosts.get(str(r.id)) == victim]
                # the machine dies: the worker and every flow run process it started
                children = [p for p in map(infrastructure_pid, killed_runs) if p]
                os.killpg(victim, signal.SIGKILL)
                for pid in children:
                    os.killpg(pid, signal.SIGKILL)
            time.sleep(0.3)
        assert victim is not None, f"no shard ran on the parent's other worker:\n{worker_logs(log_dir)}"
        final = wait_final(deployed.server, run.id, log_dir)
    finally:
        watch.stop()
        sandbox.google.faults.clear()
        sandbox.meta.faults.clear()
    assert final.state.is_completed(), f"{final.state.message}\n{worker_logs(log_dir)}"
    assert not alive(victim)
    shards = shard_runs(deployed.server, run.id)
    for killed in killed_runs:
        now = read_run(deployed.server, killed.id)
        assert now.state.type.value == "CRASHED"
        assert f"no heartbeat for {STALE_AFTER} s" in (now.state.message or "")
        same = ("connector_name", "shard")
        again = [r for r in shards if r.id != killed.id and all(r.parameters[k] == killed.parameters[k] for k in same)]
        assert len(again) == 1, [r.name for r in shards]
        assert again[0].state.is_completed(), [r.name for r in shards]
    # complete: the same rows as before the run (it reloaded the same window), every unit loaded in the log
    assert {name: warehouse_rows(wh, sql) for name, sql in RAW.items()} == before
    statuses = warehouse_rows(
        wh,
        f"SELECT connector, account_id, day, status FROM ops.load_log WHERE run_id = '{run.id}' "
        "AND connector IN ('google_ads', 'meta_ads') "
        "QUALIFY row_number() OVER (PARTITION BY connector, table_name, account_id, day ORDER BY finished_at DESC) = 1",
    )
    assert statuses
    assert {s for *_, s in statuses} == {"success"}
    assert {(c, str(a)) for c, a, _, _ in statuses} == {
        (channel, account.account_id)
        for channel in ("google_ads", "meta_ads")
        for account in sandbox.data.accounts(channel)
    }


def test_with_no_worker_a_run_fails_within_the_start_timeout_naming_the_pool(deployed: Stack, tmp_path: Path) -> None:
    for pid in deployed.stack.worker_pids:
        stop_process_group(pid)
    data = yaml.safe_load(deployed.config_path.read_text())
    data["execution"] = {**FAN_OUT, "start_timeout_seconds": 10}
    path = tmp_path / "no-worker.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    env = {**os.environ, **deployed.env, **read_env_file(deployed.config_path.parent / "sandbox.env")}
    env.pop("MDP_CONFIG", None)
    began = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mdp.cli",
            "run",
            "--config",
            str(path),
            "--no-dbt",
            "--no-monitoring",
            "--connector",
            "google_ads",
        ],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
    )
    took = time.monotonic() - began
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert f"did not start within 10 s: no worker of work pool '{LOCAL_POOL}' took it" in output, output[-3000:]
    assert "google_ads shard 1/2" in output
    assert "google_ads shard 2/2" in output
    assert took < 240, took
