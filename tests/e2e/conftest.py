"""A real `prefect server` on a random loopback port with a temporary PREFECT_HOME, for the session."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deployments.local import start_server, stop_process_group


@dataclass
class PrefectServer:
    api_url: str
    home: Path
    log_dir: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    home = tmp_path_factory.mktemp("prefect-e2e-home")
    log_dir = tmp_path_factory.mktemp("prefect-e2e-logs")
    process, api_url = start_server(free_port(), log_dir, home)
    try:
        yield PrefectServer(api_url, home, log_dir)
    finally:
        stop_process_group(process)
