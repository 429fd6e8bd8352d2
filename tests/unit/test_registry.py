"""The connector registry: type lookup, plug-in errors, and connector-specific settings validation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from connectors import registry
from connectors.base import Account, Connector, ConnectorSettings, Extracted
from mdp.config import load_config
from mdp.errors import ConfigError
from mdp.schema import TableSpec


class EchoSettings(ConnectorSettings):
    base_url: str = "http://127.0.0.1:1"
    page_size: int = 100


class EchoConnector(Connector):
    type_name = "echo"
    settings_model = EchoSettings
    default_lookback_days = 3
    table = TableSpec(
        "raw_echo.rows",
        pa.schema([pa.field("account_id", pa.string(), False), pa.field("day", pa.date32(), False)]),
        "account_id",
        "day",
    )

    def list_accounts(self) -> list[Account]:
        return [Account(a) for a in self.settings.accounts]

    def extract(self, stream: str, account: str, start: dt.date, end: dt.date) -> Iterator[Extracted]:
        yield Extracted(pa.table({"account_id": [account], "day": [start]}))


@pytest.fixture(autouse=True)
def echo_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.BUILT_IN, "echo", f"{__name__}:EchoConnector")
    monkeypatch.setitem(registry.BUILT_IN, "not_a_connector", f"{__name__}:EchoSettings")


def config_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(body)
    return path


def test_builds_a_connector_with_its_own_settings(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, "connectors: [{name: e, type: echo, accounts: [x], page_size: 5}]\n"))
    (connector,) = registry.build_connectors(config)
    assert isinstance(connector, EchoConnector)
    assert isinstance(connector.settings, EchoSettings)
    assert connector.settings.page_size == 5
    assert connector.lookback_days == 3
    assert connector.describe()["accounts"] == ["x"]


def test_connector_specific_key_errors_name_file_and_path(tmp_path: Path) -> None:
    path = config_file(
        tmp_path, "connectors: [{name: ok, type: echo}, {name: e, type: echo, page_sise: 5, page_size: x}]\n"
    )
    with pytest.raises(ConfigError) as info:
        registry.build_connectors(load_config(path))
    message = str(info.value)
    assert message.startswith(f"invalid configuration in {path.resolve()}:")
    assert "connectors[1].page_size: expected an integer, got 'x'" in message
    assert "; connectors[1].page_sise: unknown key" in message or "connectors[1].page_sise: unknown key; " in message
    assert "\n" not in message


def test_unknown_type_lists_available_types(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, "connectors: [{name: b, type: bing_ads}]\n"))
    with pytest.raises(ConfigError, match=r"unknown connector type 'bing_ads'; available types: .*echo") as info:
        registry.build_connectors(config)
    assert str(info.value).startswith(f"invalid configuration in {config.source}: connectors[0].type: ")


def test_a_type_that_is_not_a_connector_is_refused() -> None:
    with pytest.raises(ConfigError, match="which is not a Connector"):
        registry.connector_class("not_a_connector")


def test_disabled_connectors_are_skipped_unless_named(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, "connectors: [{name: e, type: echo, enabled: false}]\n"))
    assert registry.build_connectors(config) == []
    assert [c.name for c in registry.build_connectors(config, ["e"])] == ["e"]
