"""Fixtures for orchestration tests: the echo source and a config writer. The Prefect test server and the
Slack receiver live in tests/integration/conftest.py (the monitoring tests use them too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors import registry
from tests.integration.conftest import SlackReceiver

__all__ = ["SlackReceiver", "write_config"]


@pytest.fixture(autouse=True)
def echo_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.integration.flows import echo_connector

    monkeypatch.setitem(registry.BUILT_IN, "echo", "tests.integration.flows.echo_connector:EchoConnector")
    echo_connector.reset()


def write_config(tmp_path: Path, connectors: str, alerts: str = "") -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "timezone: Europe/Paris\n"
        "warehouse: {type: duckdb, path: wh.duckdb}\n"
        f"connectors:\n{connectors}" + (f"alerts: {{slack_webhook_block: {alerts}}}\n" if alerts else "")
    )
    return path
