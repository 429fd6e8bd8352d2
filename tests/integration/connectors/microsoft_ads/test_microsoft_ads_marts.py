"""Every Microsoft Advertising stream from the sandbox, loaded into DuckDB the way the ingest flow loads it, then
the dbt project built with the channel in its unions (`dbt seed` + `dbt build`, data tests included): the staged
breakdowns add up to the staged ads, and the marts hold exactly the sandbox's truth for the channel. The unions
learn of the channel as every run's do: from its `int_microsoft_ads__<union>` models (macros/channels.sql)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from connectors.microsoft_ads.connector import MicrosoftAdsConnector
from flows.transform import all_source_tables, dbt_invocation, run_dbt
from mdp.config import config_from_mapping
from sandbox import MICROSOFT, MicrosoftAdsSandbox
from warehouse.base import LoadContext, Scope
from warehouse.duckdb import DuckDBWarehouse

pytestmark = pytest.mark.slow
START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 12)
BREAKDOWNS = ("keyword_performance", "geographic_performance", "device_performance")


def invoke(path: Path, work: Path, command: str, **options: Any) -> None:
    config = config_from_mapping({"reporting_currency": "EUR", "warehouse": {"type": "duckdb", "path": str(path)}})
    invocation = dbt_invocation(
        config,
        command=command,
        target_path=work / "target",
        log_path=work / "logs",
        extra_args=("--log-level-file", "none"),
        **options,
    )
    result = run_dbt(invocation)
    failed = [
        f"{r.node.unique_id}: {r.status} {r.message}"
        for r in result.result or []
        if r.status != "success" and str(r.status) != "pass"
    ]
    assert result.success, failed or repr(result.exception)


@pytest.fixture(scope="module")
def built(
    _microsoft_server: MicrosoftAdsSandbox, tmp_path_factory: pytest.TempPathFactory, connector_factory: Any
) -> tuple[Path, MicrosoftAdsSandbox]:
    """The channel's every stream of every account loaded, the project seeded and built."""
    sandbox = _microsoft_server
    work = tmp_path_factory.mktemp("msads-dbt")
    path = work / "warehouse.duckdb"
    warehouse = DuckDBWarehouse(path)
    warehouse.ensure_tables(all_source_tables())  # the other channels' tables exist, empty
    connector = connector_factory(sandbox)
    days = [START + dt.timedelta(days=n) for n in range((END - START).days + 1)]
    for account in sandbox.account_ids:
        for stream in connector.streams:
            tables = [b.rows for b in connector.extract(stream.name, account, START, END)]
            rows = pa.concat_tables(tables) if tables else stream.table.schema.empty_table()
            scope = Scope.from_units({(account, day) for day in days})
            warehouse.replace_partitions(stream.table, rows, scope, LoadContext(stream.table.schema_name, "run-1"))
    invoke(path, work, "seed")
    invoke(path, work, "build", exclude="resource_type:seed")
    return path, sandbox


@pytest.fixture(scope="module")
def connector_factory() -> Any:
    """A connector factory for module-scoped fixtures (credentials in the environment for the module)."""
    mp = pytest.MonkeyPatch()
    secrets = {
        "MDP_MS_MARTS_REFRESH": "refresh-" + "7" * 24,
        "MDP_MS_MARTS_CLIENT": "client-1234",
        "MDP_MS_MARTS_DEV": "dev-5678",
    }
    for name, value in secrets.items():
        mp.setenv(name, value)

    def make(sandbox: MicrosoftAdsSandbox) -> MicrosoftAdsConnector:
        from connectors.microsoft_ads.settings import MicrosoftAdsSettings

        settings = {
            "name": "microsoft_ads",
            "type": "microsoft_ads",
            "endpoint": sandbox.base_url,
            "token_url": sandbox.token_url,
            "customer_id": sandbox.customer_id,
            "accounts": sandbox.account_ids,
            "poll_initial_seconds": 0.001,
            "credentials": {
                "refresh_token": "env:MDP_MS_MARTS_REFRESH",
                "client_id": "env:MDP_MS_MARTS_CLIENT",
                "developer_token": "env:MDP_MS_MARTS_DEV",
            },
        }
        return MicrosoftAdsConnector(MicrosoftAdsSettings.model_validate(settings))

    yield make
    mp.undo()


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def schema_of(path: Path, table: str) -> str:
    return str(query(path, f"select table_schema from information_schema.tables where table_name = '{table}'")[0][0])


def test_staged_breakdowns_add_up_to_the_ads(built: tuple[Path, MicrosoftAdsSandbox]) -> None:
    path, _ = built
    staging = schema_of(path, "stg_microsoft_ads__ad_performance")

    def totals(model: str) -> list[tuple[Any, ...]]:
        return query(
            path,
            f"select date_day, account_id, campaign_id, round(sum(spend), 2), round(sum(conversions), 2), "
            f"round(sum(conversion_value), 2) from {staging}.{model} group by all order by all",
        )

    ads = totals("stg_microsoft_ads__ad_performance")
    assert ads
    for name in BREAKDOWNS:
        assert totals(f"stg_microsoft_ads__{name}") == ads, name


def test_the_fact_holds_the_truth_per_account_and_day(built: tuple[Path, MicrosoftAdsSandbox]) -> None:
    path, sandbox = built
    marts = schema_of(path, "fct_ad_performance_daily")
    got = {
        (account, day): (Decimal(str(round(spend, 2))), Decimal(str(round(value, 2))))
        for account, day, spend, value in query(
            path,
            f"select account_id, date_day, sum(spend), sum(conversion_value) from {marts}.fct_ad_performance_daily "
            "where channel = 'microsoft_ads' group by all",
        )
    }
    for account in sandbox.account_ids:
        for n in range((END - START).days + 1):
            day = START + dt.timedelta(days=n)
            truth = sandbox.truth.day_totals(MICROSOFT, account, day)
            assert got[(account, day)] == (truth.cost, truth.conversion_value), (account, day)


@pytest.mark.parametrize(
    "report", ["keyword_report", "search_term_report", "country_report", "region_report", "device_report"]
)
def test_the_reports_carry_the_channel(built: tuple[Path, MicrosoftAdsSandbox], report: str) -> None:
    path, _ = built
    marts = schema_of(path, report)
    found = query(path, f"select count(*), sum(spend) from {marts}.{report} where channel = 'microsoft_ads'")
    assert found[0][0] > 0
    assert found[0][1] > 0
