"""Fixtures for orchestration tests: a Prefect test server, a Slack receiver, the echo source."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from connectors import registry


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A temporary Prefect API for the whole session, with its own home."""
    home = tmp_path_factory.mktemp("prefect-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("PREFECT_HOME", str(home))
    mp.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    mp.setenv("PREFECT_LOGGING_TO_API_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
    mp.undo()


@pytest.fixture(autouse=True)
def echo_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.integration.flows import echo_connector

    monkeypatch.setitem(registry.BUILT_IN, "echo", "tests.integration.flows.echo_connector:EchoConnector")
    echo_connector.reset()


class SlackReceiver:
    """A local HTTP endpoint that records what a Slack incoming webhook would receive."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.messages.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/test"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def slack_receiver() -> Iterator[SlackReceiver]:
    receiver = SlackReceiver()
    yield receiver
    receiver.close()


def write_config(tmp_path: Path, connectors: str, alerts: str = "") -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "timezone: Europe/Paris\n"
        "warehouse: {type: duckdb, path: wh.duckdb}\n"
        f"connectors:\n{connectors}" + (f"alerts: {{slack_webhook_block: {alerts}}}\n" if alerts else "")
    )
    return path
