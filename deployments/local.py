"""Local deployments: a Prefect server on 127.0.0.1, the process work pool, the Slack block, the
`*-local` deployments of prefect.yaml, and a worker, so a person can click "Run" in the UI."""

from __future__ import annotations

import logging
import os
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
LOCAL_DEPLOYMENTS = ("daily-local", "rerun-local", "dbt-local", "monitor-local")
SLACK_URL_ENV = "MDP_SLACK_WEBHOOK_URL"
HEALTH_TIMEOUT_SECONDS = 120.0


class DeploymentError(MDPError):
    """A local deployment step failed; the message says which and why."""


@dataclass
class LocalStack:
    api_url: str
    ui_url: str
    server_pid: int | None
    worker_pid: int | None
    deployments: tuple[str, ...]


def prefect_env(api_url: str, home: Path | None = None) -> dict[str, str]:
    """The environment for Prefect commands aimed at `api_url`."""
    env = dict(os.environ)
    env.update(
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    if home is not None:
        env["PREFECT_HOME"] = str(home)
    return env


def healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:  # noqa: S310 - loopback URL
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


def _prefect() -> list[str]:
    return [sys.executable, "-m", "prefect"]


def start_server(port: int, log_dir: Path, home: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`prefect server start` on 127.0.0.1:port, detached, logging to log_dir/prefect-server.log."""
    api_url = f"http://127.0.0.1:{port}/api"
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "prefect-server.log").open("ab") as log:
        process = subprocess.Popen(
            [*_prefect(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=prefect_env(api_url, home),
            start_new_session=True,
        )
    wait_healthy(api_url, process)
    return process, api_url


def run_prefect(args: list[str], api_url: str, home: Path | None = None, **env: str) -> str:
    """Run a Prefect CLI command; its output on success, a DeploymentError with its tail otherwise."""
    result = subprocess.run(
        [*_prefect(), *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**prefect_env(api_url, home), **env},
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise DeploymentError(f"prefect {' '.join(args)} failed (exit {result.returncode}):\n{tail}")
    return result.stdout


def ensure_pool(api_url: str, home: Path | None = None) -> None:
    existing = run_prefect(["work-pool", "ls"], api_url, home)
    if LOCAL_POOL not in existing:
        run_prefect(["work-pool", "create", LOCAL_POOL, "--type", "process"], api_url, home)


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
        timeout=120,
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
    api_url: str, log_dir: Path, home: Path | None = None, *, run_once: bool = False
) -> subprocess.Popen[bytes]:
    """A process worker on the local pool, detached, logging to log_dir/prefect-worker.log."""
    log_dir.mkdir(parents=True, exist_ok=True)
    args = [*_prefect(), "worker", "start", "--pool", LOCAL_POOL, "--type", "process"]
    if run_once:
        args.append("--run-once")
    with (log_dir / "prefect-worker.log").open("ab") as log:
        return subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
            env=prefect_env(api_url, home),
            start_new_session=True,
        )


def up(config: PipelineConfig, port: int = 4200) -> LocalStack:
    """Server (reused when $PREFECT_API_URL or the port already answers), pool, block, deployments, worker."""
    log_dir = config.warehouse_path().parent / "prefect"
    api_url = os.environ.get("PREFECT_API_URL") or f"http://127.0.0.1:{port}/api"
    server_pid = None
    if not healthy(api_url):
        if not api_url.startswith("http://127.0.0.1:"):
            raise DeploymentError(f"PREFECT_API_URL {api_url} does not answer")
        process, api_url = start_server(port, log_dir)
        server_pid = process.pid
    ensure_pool(api_url)
    note = ensure_slack_block(config, api_url)
    logger.info(note)
    deploy(config, api_url)
    worker = start_worker(api_url, log_dir)
    return LocalStack(api_url, api_url.removesuffix("/api"), server_pid, worker.pid, LOCAL_DEPLOYMENTS)
