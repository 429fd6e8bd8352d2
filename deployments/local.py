"""Local deployments: a Prefect server on 127.0.0.1, the process work pool, the Slack block, the
`*-local` deployments of prefect.yaml, and a worker, so a person can click "Run" in the UI.

Every process started here is its own process group, recorded in `<data>/prefect/local-stack.json`, so
`mdp deploy --local --stop` (`down`) stops exactly what `up` started, children included."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mdp.config import PipelineConfig
from mdp.errors import MDPError
from mdp.paths import PROJECT_ROOT

logger = logging.getLogger(__name__)

LOCAL_POOL = "mdp-process"
LOCAL_DEPLOYMENTS = ("daily-local", "rerun-local", "ingest-local", "dbt-local", "monitor-local", "forecast-local")
SLACK_URL_ENV = "MDP_SLACK_WEBHOOK_URL"
# A loaded 2-core machine took 140 s to start a Prefect server: wait long, and say so.
HEALTH_TIMEOUT_SECONDS = 600.0
STOP_TIMEOUT_SECONDS = 30.0
STATE_FILE = "local-stack.json"


class DeploymentError(MDPError):
    """A local deployment step failed; the message says which and why."""


@dataclass
class LocalStack:
    api_url: str
    ui_url: str
    server_pid: int | None
    worker_pid: int | None
    deployments: tuple[str, ...]
    state_file: Path | None = None
    stopped: tuple[int, ...] = ()
    worker_pids: tuple[int, ...] = ()  # every worker `up` started (worker_pid is the first)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "api_url": self.api_url,
            "server_pid": self.server_pid,
            "worker_pid": self.worker_pid,
            "worker_pids": list(self.worker_pids),
        }
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> LocalStack | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        api_url = str(data.get("api_url") or "")
        worker = data.get("worker_pid")
        workers = tuple(int(p) for p in data.get("worker_pids") or ([worker] if worker else []))
        return cls(api_url, api_url.removesuffix("/api"), data.get("server_pid"), worker, (), path, worker_pids=workers)


def prefect_env(api_url: str, home: Path | None = None) -> dict[str, str]:
    """The environment for Prefect commands aimed at `api_url`."""
    env = dict(os.environ)
    env.update(
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    # A loaded server answers 503 at times: the worker's runs retry longer than Prefect's default.
    env.setdefault("PREFECT_CLIENT_MAX_RETRIES", "10")
    env.setdefault("PREFECT_CLIENT_RETRY_EXTRA_CODES", "502,504")
    if home is not None:
        env["PREFECT_HOME"] = str(home)
    return env


def read_env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines (an optional `export ` prefix, `#` comments), as `mdp sandbox` writes them.

    Raises:
        DeploymentError: the file is missing or a line is not NAME=value (naming the line, never a value).
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DeploymentError(f"--env-file {path}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise DeploymentError(f"--env-file {path}: not UTF-8 text") from None
    values: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, sep, value = text.removeprefix("export ").partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.strip(), re.ASCII):
            raise DeploymentError(f"--env-file {path}, line {number}: expected NAME=value")
        values[name.strip()] = value.strip().strip("'\"")
    return values


def healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=5) as response:  # noqa: S310 - loopback URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_healthy(
    api_url: str, process: subprocess.Popen[bytes] | None, timeout: float = HEALTH_TIMEOUT_SECONDS
) -> None:
    deadline = time.monotonic() + timeout
    while not healthy(api_url):
        if process is not None and process.poll() is not None:
            raise DeploymentError(f"the Prefect server exited with code {process.returncode}; see its log")
        if time.monotonic() > deadline:
            raise DeploymentError(f"the Prefect server at {api_url} was not healthy after {timeout:.0f}s")
        time.sleep(0.5)


def alive(pid: int | None) -> bool:
    """Whether a process with this id exists (and is not a zombie)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _wait_gone(process: subprocess.Popen[bytes] | None, pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (process.poll() is not None) if process is not None else not alive(pid):
            return True
        time.sleep(0.2)
    return False


def stop_process_group(target: subprocess.Popen[bytes] | int | None, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
    """SIGTERM the process group led by `target` (a process started with start_new_session), SIGKILL what
    is left of the group after the leader exits or `timeout` passes. Returns whether it was running."""
    if target is None:
        return False
    process = target if isinstance(target, subprocess.Popen) else None
    pid = target.pid if isinstance(target, subprocess.Popen) else target
    if (process.poll() is not None) if process is not None else not alive(pid):
        return False
    _signal_group(pid, signal.SIGTERM)
    if not _wait_gone(process, pid, timeout):
        logger.warning("process %d still running %.0fs after SIGTERM: killing its group", pid, timeout)
    _signal_group(pid, signal.SIGKILL)  # the leader's children, or the leader itself if it ignored SIGTERM
    _wait_gone(process, pid, 10.0)
    return True


def _prefect() -> list[str]:
    return [sys.executable, "-m", "prefect"]


def start_server(
    port: int, log_dir: Path, home: Path | None = None, timeout: float = HEALTH_TIMEOUT_SECONDS
) -> tuple[subprocess.Popen[bytes], str]:
    """`prefect server start` on 127.0.0.1:port, detached, logging to log_dir/prefect-server.log; waits
    until healthy, and stops it again if it never is."""
    api_url = f"http://127.0.0.1:{port}/api"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "prefect-server.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*_prefect(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=prefect_env(api_url, home),
            start_new_session=True,
        )
    try:
        wait_healthy(api_url, process, timeout)
    except BaseException as exc:
        stop_process_group(process)
        if isinstance(exc, DeploymentError):
            raise DeploymentError(f"{exc} (server PID {process.pid}, stopped; log: {log_path})") from None
        raise
    return process, api_url


def run_prefect(args: list[str], api_url: str, home: Path | None = None, **env: str) -> str:
    """Run a Prefect CLI command; its output on success, a DeploymentError with its tail otherwise."""
    result = subprocess.run(
        [*_prefect(), *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**prefect_env(api_url, home), **env},
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise DeploymentError(f"prefect {' '.join(args)} failed (exit {result.returncode}):\n{tail}")
    return result.stdout


def ensure_pool(api_url: str) -> bool:
    """Create the local process work pool unless it exists (read through the API, not CLI text).

    Returns whether it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.workers.process import ProcessWorker

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        try:
            client.read_work_pool(LOCAL_POOL)
            return False
        except ObjectNotFound:
            pass
        template = ProcessWorker.get_default_base_job_template()
        try:
            client.create_work_pool(WorkPoolCreate(name=LOCAL_POOL, type="process", base_job_template=template))
        except ObjectAlreadyExists:  # created meanwhile by another `mdp deploy --local`
            return False
        return True


def ensure_slack_block(config: PipelineConfig, api_url: str) -> str:
    """Create the configured prefect-slack block from $MDP_SLACK_WEBHOOK_URL; say what happened."""
    name = config.alerts.slack_webhook_block
    if not name:
        return "alerts.slack_webhook_block is not set: no Slack alerts"
    url = os.environ.get(SLACK_URL_ENV)
    if not url:
        return f"Slack block {name!r}: set {SLACK_URL_ENV} to create it (or create it in the UI)"
    code = (
        "import os, sys; from prefect_slack import SlackWebhook; "
        f"SlackWebhook(url=os.environ['{SLACK_URL_ENV}']).save(sys.argv[1], overwrite=True)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, name],
        capture_output=True,
        text=True,
        env=prefect_env(api_url),
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise DeploymentError(f"could not save Slack block {name!r} (exit {result.returncode})")
    return f"Slack block {name!r} saved"


def deploy(
    config: PipelineConfig, api_url: str, home: Path | None = None, names: tuple[str, ...] = LOCAL_DEPLOYMENTS
) -> None:
    """`prefect deploy` of the local deployments of prefect.yaml (schedule in the pipeline's time zone)."""
    args = ["--no-prompt", "deploy"]
    for name in names:
        args += ["-n", name]
    run_prefect(args, api_url, home, MDP_TIMEZONE=config.timezone, MDP_PROJECT_DIR=str(PROJECT_ROOT))


def start_worker(
    api_url: str,
    log_dir: Path,
    home: Path | None = None,
    *,
    run_once: bool = False,
    env: dict[str, str] | None = None,
    name: str | None = None,
    limit: int | None = None,
) -> subprocess.Popen[bytes]:
    """A process worker on the local pool, detached (its own process group), logging to
    log_dir/prefect-worker.log (prefect-<name>.log when named); `env` is added to the environment its flow
    runs inherit; `limit`: flow runs it runs at once."""
    log_dir.mkdir(parents=True, exist_ok=True)
    args = [*_prefect(), "worker", "start", "--pool", LOCAL_POOL, "--type", "process"]
    if name:
        args += ["--name", name]
    if limit:
        args += ["--limit", str(limit)]
    if run_once:
        args.append("--run-once")
    with (log_dir / f"prefect-{name or 'worker'}.log").open("ab") as log:
        return subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
            env={**prefect_env(api_url, home), **(env or {})},
            start_new_session=True,
        )


def state_path(config: PipelineConfig) -> Path:
    return config.warehouse_path().parent / "prefect" / STATE_FILE


def running_local_server(config: PipelineConfig) -> str | None:
    """The API URL of the Prefect server `mdp deploy --local` left running for this project, if it answers
    (so that `mdp run` uses it instead of starting a temporary server); None when $PREFECT_API_URL is set
    (Prefect uses that) or no such server runs."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    stack = LocalStack.load(state_path(config))
    if stack is None or not alive(stack.server_pid) or not healthy(stack.api_url):
        return None
    return stack.api_url


def up(
    config: PipelineConfig,
    port: int = 4200,
    *,
    env: dict[str, str] | None = None,
    health_timeout: float = HEALTH_TIMEOUT_SECONDS,
    workers: int = 1,
    worker_limit: int | None = None,
) -> LocalStack:
    """Server (reused when $PREFECT_API_URL or the port already answers), pool, block, deployments, and
    `workers` workers (replacing the ones a previous `up` started; `worker_limit` flow runs at once each).
    Safe to repeat."""
    state_file = state_path(config)
    log_dir = state_file.parent
    previous = LocalStack.load(state_file)
    api_url = os.environ.get("PREFECT_API_URL") or f"http://127.0.0.1:{port}/api"
    reused = previous is not None and previous.api_url == api_url and alive(previous.server_pid)
    server_pid = previous.server_pid if previous is not None and reused else None
    started: subprocess.Popen[bytes] | None = None
    if not healthy(api_url):
        if not api_url.startswith("http://127.0.0.1:"):
            raise DeploymentError(f"PREFECT_API_URL {api_url} does not answer")
        started, api_url = start_server(int(api_url.rsplit(":", 1)[1].split("/")[0]), log_dir, timeout=health_timeout)
        server_pid = started.pid
    try:
        ensure_pool(api_url)
        logger.info(ensure_slack_block(config, api_url))
        deploy(config, api_url)
        old = previous.worker_pids if previous else ()
        stopped = tuple(pid for pid in old if pid and stop_process_group(pid))
        names: list[str | None] = [None] if workers == 1 else [f"worker-{i}" for i in range(1, workers + 1)]
        pids: list[int] = []
        try:
            for name in names:
                pids.append(start_worker(api_url, log_dir, env=env, name=name, limit=worker_limit).pid)
        except BaseException:
            for pid in pids:
                stop_process_group(pid)
            raise
    except BaseException:
        if started is not None:
            stop_process_group(started)
        raise
    stack = LocalStack(
        api_url,
        api_url.removesuffix("/api"),
        server_pid,
        pids[0],
        LOCAL_DEPLOYMENTS,
        state_file,
        stopped,
        worker_pids=tuple(pids),
    )
    stack.save(state_file)
    return stack


def down(config: PipelineConfig) -> list[int]:
    """Stop the worker and the server a previous `up` started (process groups); the PIDs stopped."""
    state_file = state_path(config)
    stack = LocalStack.load(state_file)
    if stack is None:
        return []
    stopped = [pid for pid in (*stack.worker_pids, stack.server_pid) if pid and stop_process_group(pid)]
    state_file.unlink(missing_ok=True)
    return stopped


RUN_TAG_PREFIX = "mdp-pid:"


def run_tag() -> str:
    """The tag `mdp run` puts on its flow runs: this host and process, so a later run can tell whether
    the process that ran them is gone."""
    return f"{RUN_TAG_PREFIX}{socket.gethostname()}:{os.getpid()}"


def _tag_owner_gone(tags: list[str]) -> int | None:
    """The PID of a tagged run's process on this host when that process is gone, else None."""
    host = socket.gethostname()
    for tag in tags:
        if tag.startswith(RUN_TAG_PREFIX):
            where, _, pid = tag.removeprefix(RUN_TAG_PREFIX).rpartition(":")
            if where == host and pid.isdigit() and not alive(int(pid)):
                return int(pid)
    return None


async def mark_stale_runs() -> list[str]:
    """Mark Crashed the flow runs still Running or Pending whose `mdp run` process (tag) is gone, e.g.
    killed; returns their names."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    marked: list[str] = []
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING])),
                tags=FlowRunFilterTags(is_null_=False),
            ),
            limit=200,
        )
        for run in runs:
            pid = _tag_owner_gone(list(run.tags))
            if pid is None:
                continue
            message = f"the process that ran it (PID {pid}) is gone; marked Crashed by the next `mdp run`"
            await client.set_flow_run_state(run.id, Crashed(message=message), force=True)
            marked.append(run.name)
    return marked


OWNER_ENV = "MDP_RUN_OWNER_PID"


def claim_temporary_server() -> None:
    """Mark the temporary Prefect server this process may start with its PID (it inherits the variable),
    so that a later run can tell the server was left behind if this process is killed."""
    os.environ[OWNER_ENV] = str(os.getpid())


def orphaned_temporary_servers() -> list[int]:
    """Prefect temporary (ephemeral) API servers whose owner (`claim_temporary_server`) is gone."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ")
            if b"uvicorn" not in command or b"prefect.server.api.server:create_app" not in command:
                continue
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = dict(item.split(b"=", 1) for item in handle.read().split(b"\0") if b"=" in item)
        except (OSError, ValueError):
            continue
        owner = environ.get(OWNER_ENV.encode(), b"").decode(errors="replace")
        if owner.isdigit() and not alive(int(owner)):
            found.append(int(entry))
    return found


def stop_orphaned_temporary_servers() -> list[int]:
    """Stop what `orphaned_temporary_servers` finds (SIGTERM, then SIGKILL: they may ignore SIGTERM)."""
    stopped = []
    for pid in orphaned_temporary_servers():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not _wait_gone(None, pid, 5.0):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_gone(None, pid, 5.0)
        stopped.append(pid)
    return stopped
