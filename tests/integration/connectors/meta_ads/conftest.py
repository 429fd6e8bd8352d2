"""The Meta Ads connector against the session's Meta Graph sandbox, with retry and poll delays shrunk so
faults cost milliseconds. A wait the API asks for (throttling headers: minutes) is recorded in
`connector.slept` and honoured in full, but slept for at most 10 ms."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pytest

from connectors.meta_ads.connector import MetaAdsConnector
from connectors.meta_ads.settings import MetaAdsSettings
from mdp.schema import QuarantinedRow
from sandbox import MetaSandbox

TOKEN_ENV = "MDP_TEST_META_ACCESS_TOKEN"
SECRET_ENV = "MDP_TEST_META_APP_SECRET"  # pragma: allowlist secret
FAST: dict[str, Any] = {
    "retry_base_delay_seconds": 0.001,
    "retry_max_delay_seconds": 600,
    "throttle_pause_seconds": 0.002,
    "poll_initial_seconds": 0.001,
    "poll_max_seconds": 0.004,
    "connect_timeout_seconds": 2,
    "read_timeout_seconds": 5,
}


@pytest.fixture(scope="session")
def access_token() -> str:
    return "EAAB" + secrets.token_hex(24)


@pytest.fixture(scope="session")
def app_secret() -> str:
    return "appsecret" + secrets.token_hex(16)


@pytest.fixture
def make_connector(
    meta_sandbox: MetaSandbox, access_token: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., MetaAdsConnector]]:
    """Build a connector aimed at the sandbox; keyword arguments override settings."""
    monkeypatch.setenv(TOKEN_ENV, access_token)
    built: list[MetaAdsConnector] = []

    def make(**overrides: Any) -> MetaAdsConnector:
        values: dict[str, Any] = {
            "name": "meta_ads",
            "type": "meta_ads",
            "graph_url": meta_sandbox.base_url,
            "accounts": list(meta_sandbox.account_ids),
            "credentials": {"access_token": f"env:{TOKEN_ENV}"},
            **FAST,
        }
        values.update(overrides)
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            time.sleep(min(seconds, 0.01))

        connector = MetaAdsConnector(MetaAdsSettings.model_validate(values), sleep=sleep)
        connector.slept = slept  # type: ignore[attr-defined]
        built.append(connector)
        return connector

    yield make
    for connector in built:
        connector.close()


def collect(
    connector: MetaAdsConnector, account: str, start: dt.date, end: dt.date
) -> tuple[pa.Table, list[QuarantinedRow]]:
    """Everything one extraction yields, as one table and one quarantine list."""
    tables, quarantine = [], []
    for batch in connector.extract("ad_insights", account, start, end):
        assert batch.rows.schema == connector.table.schema
        tables.append(batch.rows)
        quarantine.extend(batch.quarantine)
    table = pa.concat_tables(tables) if tables else connector.table.schema.empty_table()
    return table, quarantine


@pytest.fixture
def extract_all() -> Callable[..., tuple[pa.Table, list[QuarantinedRow]]]:
    return collect
