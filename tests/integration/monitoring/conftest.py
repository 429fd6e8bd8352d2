"""Raw tables filled by the real connectors from the session's sandboxes: 60 checked days plus 8 weeks of
history, loaded once per session into a DuckDB file that each test copies before changing it."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from connectors.registry import build_connectors
from mdp.config import PipelineConfig, load_config
from sandbox import GoogleAdsSandbox, MetaSandbox
from tests.integration.conftest import AS_OF
from warehouse import from_config
from warehouse.base import LoadContext, Scope

END = AS_OF - dt.timedelta(days=1)
START = END - dt.timedelta(days=59)  # the 60 checked days
HISTORY_START = START - dt.timedelta(weeks=8)
TOKENS = {
    "MDP_TEST_GADS_DEV": "dev-token-mon",
    "MDP_TEST_GADS_ACCESS": "access-mon",
    "MDP_TEST_META": "meta-mon",
}


@dataclass
class Site:
    """A pipeline.yaml and its warehouse, aimed at the session's sandboxes."""

    config_path: Path
    google: GoogleAdsSandbox
    meta: MetaSandbox

    @property
    def config(self) -> PipelineConfig:
        return load_config(self.config_path)

    @property
    def warehouse_path(self) -> Path:
        return self.config_path.parent / "wh.duckdb"

    def windows(self, start: dt.date = START, end: dt.date = END) -> dict[str, tuple[dt.date, dt.date]]:
        return {"google_ads": (start, end), "meta_ads": (start, end)}

    def load(self, start: dt.date, end: dt.date, accounts: Sequence[str] | None = None) -> None:
        """Extract and load [start, end] like the ingest flow does, without Prefect."""
        load(self.config, start, end, accounts)

    def copy(self, directory: Path, alerts: str | None = None) -> Site:
        directory.mkdir(parents=True, exist_ok=True)
        for suffix in ("", ".wal"):
            source = Path(f"{self.warehouse_path}{suffix}")
            if source.exists():
                shutil.copy(source, directory / source.name)
        return Site(write_config(directory, self.google, self.meta, alerts), self.google, self.meta)


def write_config(directory: Path, google: GoogleAdsSandbox, meta: MetaSandbox, alerts: str | None = None) -> Path:
    data: dict[str, Any] = {
        "timezone": "Europe/Paris",
        "warehouse": {"type": "duckdb", "path": "wh.duckdb"},
        "connectors": [
            {
                "name": "google_ads",
                "type": "google_ads",
                "endpoint": google.endpoint,
                "login_customer_id": google.manager_id,
                "accounts": list(google.account_ids),
                "credentials": {
                    "developer_token": "env:MDP_TEST_GADS_DEV",
                    "access_token": "env:MDP_TEST_GADS_ACCESS",
                },
            },
            {
                "name": "meta_ads",
                "type": "meta_ads",
                "graph_url": meta.base_url,
                "accounts": list(meta.account_ids),
                "credentials": {"access_token": "env:MDP_TEST_META"},
                "poll_initial_seconds": 0.001,
                "poll_max_seconds": 0.004,
            },
        ],
    }
    if alerts:
        data["alerts"] = {"slack_webhook_block": alerts}
    path = directory / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def load(config: PipelineConfig, start: dt.date, end: dt.date, accounts: Sequence[str] | None = None) -> None:
    warehouse = from_config(config)
    for connector in build_connectors(config):
        try:
            for account in [a.id for a in connector.list_accounts()]:
                if accounts is not None and account not in accounts:
                    continue
                batches = list(connector.extract(connector.streams[0].name, account, start, end))
                rows = pa.concat_tables([b.rows for b in batches], promote_options="default")
                quarantine = [q for b in batches for q in b.quarantine]
                warehouse.replace_partitions(
                    connector.table,
                    rows,
                    Scope.of([account], start, end),
                    LoadContext(connector.name, "test-load"),
                    quarantine,
                )
        finally:
            connector.close()


@pytest.fixture(scope="session")
def _tokens() -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    for name, value in TOKENS.items():
        mp.setenv(name, value)
    yield
    mp.undo()


@pytest.fixture(scope="session")
def _loaded_site(
    tmp_path_factory: pytest.TempPathFactory,
    _google_server: GoogleAdsSandbox,
    _meta_server: MetaSandbox,
    _tokens: None,
) -> Site:
    for server in (_google_server, _meta_server):
        server.faults.clear()
        server.truth.as_of = AS_OF
    directory = tmp_path_factory.mktemp("monitoring")
    site = Site(write_config(directory, _google_server, _meta_server), _google_server, _meta_server)
    with flat(_google_server, _meta_server):
        site.load(HISTORY_START, END)
    return site


@contextlib.contextmanager
def flat(*servers: GoogleAdsSandbox | MetaSandbox) -> Iterator[None]:
    """The servers' world without its dynamics (sandbox.dynamics: promotions, a mid-month start, a pause are
    real events the monitor rightly flags): these tests check it finds the faults they inject, and only those."""
    for server in servers:
        server.truth.data.dynamics = False
    try:
        yield
    finally:
        for server in servers:
            server.truth.data.dynamics = True


@pytest.fixture
def site(
    _loaded_site: Site, google_sandbox: GoogleAdsSandbox, meta_sandbox: MetaSandbox, tmp_path: Path
) -> Iterator[Site]:
    """A copy of the loaded warehouse for one test, on clean, flat sandboxes (no faults, no dynamics, clock at
    AS_OF)."""
    with flat(google_sandbox, meta_sandbox):
        yield _loaded_site.copy(tmp_path / "site")
