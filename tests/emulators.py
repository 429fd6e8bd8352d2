"""Local BigQuery emulators for the tests: each in its own pinned venv under .emulators/ (`make emulators`),
started on a free loopback port with a temporary HOME, in its own process group, and stopped after."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from deployments.local import stop_process_group
from mdp.paths import PROJECT_ROOT

EMULATORS_DIR = PROJECT_ROOT / ".emulators"
EMULATOR_PROJECT = "mdp-emulator"
START_TIMEOUT_SECONDS = 120.0  # 1-13 s when idle; a loaded 2-core machine is much slower
# bqemulator's DuckDB loads the spatial extension at start; offline, it must come from its wheel.
SPATIAL_EXTENSION = "lib/python3.11/site-packages/duckdb_extension_spatial/extensions/v1.5.5/spatial.duckdb_extension"
BQEMULATOR_LAUNCHER = Path(__file__).resolve().parent / "integration" / "bigquery" / "bqemulator_launch.py"


@dataclass(frozen=True)
class Emulator:
    """A running emulator: its REST endpoint (for `client_options={"api_endpoint": url}`)."""

    name: str
    url: str
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def emulator_bin(name: str) -> Path:
    """The emulator venv's bin/ directory; a missing venv skips the test, or fails it under CI=true."""
    bin_dir = EMULATORS_DIR / name / "bin"
    if not (bin_dir / "python").exists():
        message = f"BigQuery emulator {name!r} is not installed in {bin_dir.parent}: run `make emulators`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: a missing emulator fails instead of skipping)")
        pytest.skip(message)
    return bin_dir


def _wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"emulator exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"emulator not healthy at {url} after {START_TIMEOUT_SECONDS:g}s:\n{log.read_text()[-3000:]}")


@contextmanager
def _running(name: str, command: list[str], health_path: str, port: int, home: Path) -> Iterator[Emulator]:
    log = home / f"{name}.log"
    env = {**os.environ, "HOME": str(home)}
    with log.open("ab") as sink:
        process = subprocess.Popen(
            command, cwd=home, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(process, url + health_path, log)
        yield Emulator(name, url, log)
    finally:
        stop_process_group(process, timeout=10.0)


@contextmanager
def crucible(home: Path) -> Iterator[Emulator]:
    """crucible-emulator (BigQuery dialect, in memory): runs dbt's BigQuery SQL on DuckDB."""
    bin_dir = emulator_bin("crucible")
    port = free_port()
    command = [str(bin_dir / "crucible"), "serve", "--dialect", "bigquery", "--host", "127.0.0.1", "--port", str(port)]
    with _running("crucible", command, "/_crucible/health", port, home) as emulator:
        yield emulator


@contextmanager
def bqemulator(home: Path) -> Iterator[Emulator]:
    """bqemulator (in memory, REST + gRPC), with the query-parameter patch of bqemulator_launch.py."""
    bin_dir = emulator_bin("bqemulator")
    extension = bin_dir.parent / SPATIAL_EXTENSION
    subprocess.run(
        [str(bin_dir / "python"), "-c", f"import duckdb; duckdb.connect().execute(\"INSTALL '{extension}'\")"],
        env={**os.environ, "HOME": str(home)},
        cwd=home,
        check=True,
        timeout=120,
    )
    port, grpc_port = free_port(), free_port()
    command = [
        str(bin_dir / "python"),
        str(BQEMULATOR_LAUNCHER),
        "start",
        "--ephemeral",
        "--rest-host",
        "127.0.0.1",
        "--rest-port",
        str(port),
        "--grpc-host",
        "127.0.0.1",
        "--grpc-port",
        str(grpc_port),
        "--project",
        EMULATOR_PROJECT,
        "--log-level",
        "warning",
    ]
    with _running("bqemulator", command, "/healthz", port, home) as emulator:
        yield emulator


@contextmanager
def emulator_client(emulator: Emulator, location: str) -> Iterator[bigquery.Client]:
    """An anonymous BigQuery client aimed at the emulator, closed afterwards."""
    client = bigquery.Client(
        project=EMULATOR_PROJECT,
        location=location,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=emulator.url),
    )
    try:
        yield client
    finally:
        client.close()
