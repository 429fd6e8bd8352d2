"""A Prefect API that answers 503 now and then (a loaded server) does not fail a run: `mdp run` goes
through a proxy to the real server that refuses one state-changing request in eight."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from connectors.registry import connector_class
from sandbox.config import SandboxConfig
from sandbox.runner import SANDBOX_SECRETS, SandboxHandle, start_sandbox
from tests.e2e.conftest import PrefectServer

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

AS_OF = dt.date(2026, 3, 1)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "host"}


class FlakyProxy:
    """Forwards HTTP to the Prefect server; every `every`-th POST/PATCH/PUT/DELETE gets a 503 instead.
    Websocket upgrades (Prefect's event stream) are refused: events are not what this test is about."""

    def __init__(self, upstream: str, every: int = 8) -> None:
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.every = every
        self.writes = 0
        self.injected = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Upgrade"):
                    self._answer(404, b"")
                    return
                if self.command != "GET":
                    with proxy.lock:
                        proxy.writes += 1
                        inject = proxy.writes % proxy.every == 0
                        proxy.injected += int(inject)
                    if inject:
                        self._answer(503, b'{"detail": "Service Unavailable"}')
                        return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream = http.client.HTTPConnection(proxy.host, proxy.port, timeout=120)
                try:
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                    self.send_response(response.status)
                    for key, value in response.getheaders():
                        if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                finally:
                    upstream.close()

            def _answer(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

            def log_message(self, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}{parts.path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with start_sandbox(
        SandboxConfig(seed=3, google_accounts=2, meta_accounts=2, microsoft_accounts=2, as_of=AS_OF)
    ) as handle:
        yield handle


def test_a_run_survives_503_answers_from_the_prefect_api(
    prefect_api: PrefectServer, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    data: dict[str, Any] = {
        "timezone": "Europe/Paris",
        "reporting_currency": "EUR",
        "warehouse": {"type": "duckdb", "path": str(tmp_path / "wh.duckdb")},
        **sandbox.pipeline_fragment(),
    }
    # the channels these runs were measured with; tiktok_ads and linkedin_ads run in the integration suites
    # (conformance, fault matrix, reconciliation, isolation, the demo)
    data["connectors"] = [c for c in data["connectors"] if c["type"] not in ("tiktok_ads", "linkedin_ads")]
    for section in data["connectors"]:  # Prefect API hiccups, not streams, are under test: the primary stream
        section["streams"] = [connector_class(section["type"]).table.table_name]
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    proxy = FlakyProxy(prefect_api.api_url)
    env = {
        **os.environ,
        **SANDBOX_SECRETS,
        "PREFECT_API_URL": proxy.url,
        "PREFECT_HOME": str(prefect_api.home),
    }
    env.pop("PREFECT_CLIENT_MAX_RETRIES", None)  # the CLI's own default applies
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mdp.cli",
                "run",
                "--config",
                str(config),
                "--start",
                "2026-02-20",
                "--end",
                "2026-02-24",
                "--no-monitoring",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
            check=False,
        )
    finally:
        proxy.close()
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert proxy.injected >= 3, proxy.writes  # with PREFECT_CLIENT_MAX_RETRIES=0 the run fails
    assert "completed" in result.stdout
