"""What `mdp deploy --local` relies on to stop what it started: whole process groups, env files."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from deployments.local import DeploymentError, alive, read_env_file, stop_process_group


def test_a_process_group_is_stopped_children_included() -> None:
    # The leader ignores SIGTERM and has a child of its own: both end, the leader by SIGKILL.
    leader = subprocess.Popen(
        ["sh", "-c", "trap '' TERM; sleep 300 & echo $!; wait"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert leader.stdout is not None
    child = int(leader.stdout.readline())
    leader.stdout.close()
    assert alive(child)
    began = time.monotonic()
    assert stop_process_group(leader, timeout=1.0)
    assert leader.returncode is not None
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)
    assert time.monotonic() - began < 15
    assert not stop_process_group(leader)  # already stopped: nothing to do


def test_env_files_accept_exports_and_comments_and_name_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.env"
    path.write_text("# sandbox\nexport GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=/x/bundle.pem\nMETA_ACCESS_TOKEN='abc'\n\n")
    assert read_env_file(path) == {"GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": "/x/bundle.pem", "META_ACCESS_TOKEN": "abc"}
    path.write_text("GOOD=1\nthis is not a variable secret-value\n")
    with pytest.raises(DeploymentError) as info:
        read_env_file(path)
    assert str(info.value) == f"--env-file {path}, line 2: expected NAME=value"
    with pytest.raises(DeploymentError, match="cannot read it"):
        read_env_file(tmp_path / "missing.env")


def test_the_end_of_suite_check_finds_a_detached_process_started_by_a_test() -> None:
    from tests.conftest import leftover_processes

    orphan = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        # /proc/<pid>/environ is unreadable while the child is between fork and exec: look until it is
        deadline = time.monotonic() + 30
        while orphan.pid not in [pid for pid, _ in leftover_processes()] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert orphan.pid in [pid for pid, _ in leftover_processes()]
    finally:
        stop_process_group(orphan)
    assert orphan.pid not in [pid for pid, _ in leftover_processes()]


def test_mdp_run_uses_the_local_server_a_deploy_left_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A running `mdp deploy --local` server (recorded in the state file and answering /health) is used
    instead of a temporary one; not when $PREFECT_API_URL is set, the server is gone or does not answer."""
    from http.server import BaseHTTPRequestHandler

    from deployments.local import LocalStack, running_local_server, state_path
    from mdp.config import config_from_mapping
    from tests.integration.conftest import LoopbackServer

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/api/health" else 404)
            self.end_headers()
            self.wfile.write(b"true")

        def log_message(self, *args: object) -> None:
            return

    config = config_from_mapping({"warehouse": {"type": "duckdb", "path": str(tmp_path / "data" / "wh.duckdb")}})
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert running_local_server(config) is None  # no state file
    server = LoopbackServer(Health)
    try:
        api_url = server.url("/api")
        LocalStack(api_url, api_url.removesuffix("/api"), os.getpid(), None, ()).save(state_path(config))
        assert running_local_server(config) == api_url
        monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
        assert running_local_server(config) is None
        monkeypatch.delenv("PREFECT_API_URL")
        LocalStack(api_url, "", 2**22 + 7, None, ()).save(state_path(config))  # a PID no process has
        assert running_local_server(config) is None
    finally:
        server.close()
    LocalStack(api_url, "", os.getpid(), None, ()).save(state_path(config))
    assert running_local_server(config) is None  # recorded, alive, but not answering
