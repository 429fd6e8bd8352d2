"""Every Meta Ads stream from the sandbox, loaded into DuckDB the way the ingest flow loads it, then the Meta
staging models built with their tests (`dbt build --select staging.meta_ads`): the staged breakdowns add up to
the staged ad-level spend and conversions, and the default attribution window equals them too."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from connectors.meta_ads.connector import MetaAdsConnector
from flows.transform import dbt_invocation, run_dbt
from mdp.config import config_from_mapping
from sandbox import MetaSandbox
from warehouse.base import LoadContext, Scope
from warehouse.duckdb import DuckDBWarehouse

START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 12)
BREAKDOWN_MODELS = ("country", "region", "platform", "device", "age_gender")


@pytest.fixture
def staged(meta_sandbox: MetaSandbox, make_connector: Callable[..., MetaAdsConnector], tmp_path: Path) -> Path:
    """Two accounts' streams loaded and the Meta staging models built (with their tests) in a DuckDB file."""
    path = tmp_path / "warehouse.duckdb"
    warehouse = DuckDBWarehouse(path)
    connector = make_connector(page_limit=1000)
    for account in meta_sandbox.account_ids[:2]:
        for stream in connector.streams:
            start = END if stream.kind == "snapshot" else START
            tables = [b.rows for b in connector.extract(stream.name, account, start, END)]
            rows = pa.concat_tables(tables) if tables else stream.table.schema.empty_table()
            digits = account.removeprefix("act_")
            days = [start + dt.timedelta(days=n) for n in range((END - start).days + 1)]
            scope = Scope.from_units({(digits, day) for day in days})
            warehouse.replace_partitions(stream.table, rows, scope, LoadContext(stream.table.schema_name, "run-1"))
    config = config_from_mapping({"warehouse": {"type": "duckdb", "path": str(path)}})
    invocation = dbt_invocation(
        config,
        command="build",
        select="staging.meta_ads",
        target_path=tmp_path / "target",
        log_path=tmp_path / "logs",
        extra_args=("--log-level-file", "none"),
    )
    result = run_dbt(invocation)
    failed = [
        f"{r.node.unique_id}: {r.status} {r.message}"
        for r in result.result or []
        if r.status != "success" and str(r.status) != "pass"
    ]
    assert result.success, failed or repr(result.exception)
    return path


def test_staging_models_build_and_add_up(staged: Path) -> None:
    con = duckdb.connect(str(staged), read_only=True)
    try:
        schema = con.execute(
            "select table_schema from information_schema.tables where table_name = 'stg_meta_ads__ad_insights'"
        ).fetchone()[0]

        def totals(model: str, where: str = "true") -> list[tuple[object, ...]]:
            return con.execute(
                f"select date_day, account_id, campaign_id, round(sum(spend), 6), round(sum(conversions), 6), "
                f"round(sum(conversion_value), 4) from {schema}.{model} where {where} group by all order by all"
            ).fetchall()

        ads = totals("stg_meta_ads__ad_insights")
        assert ads
        for name in BREAKDOWN_MODELS:
            assert totals(f"stg_meta_ads__{name}_insights") == ads, name
        actions = con.execute(
            f"select date_day, account_id, campaign_id, action_type, sum(conversions) from {schema}."
            "stg_meta_ads__action_insights where attribution_window = 'default' and action_type = 'omni_purchase' "
            "group by all order by all"
        ).fetchall()
        purchases = con.execute(
            f"select date_day, account_id, campaign_id, 'omni_purchase', sum(conversions) from {schema}."
            "stg_meta_ads__ad_insights group by all having sum(conversions) > 0 order by all"
        ).fetchall()
        assert actions == purchases  # the dbt default counts omni_purchase first
        devices = {
            r[0] for r in con.execute(f"select distinct device from {schema}.stg_meta_ads__device_insights").fetchall()
        }
        assert devices == {"mobile", "desktop"}
        snapshot = con.execute(
            f"select count(*), count(distinct ad_group_id), min(snapshot_date), max(daily_budget) "
            f"from {schema}.stg_meta_ads__adset_snapshot"
        ).fetchone()
        assert snapshot[0] == snapshot[1] > 0
        assert snapshot[2] == END
        assert 10 <= snapshot[3] < 1000  # currency units, not minor units
        linked = con.execute(
            f"select count(*) from {schema}.stg_meta_ads__ad_snapshot a join {schema}.stg_meta_ads__creative_snapshot c "
            "using (account_id, creative_id, snapshot_date)"
        ).fetchone()[0]
        assert linked == con.execute(f"select count(*) from {schema}.stg_meta_ads__ad_snapshot").fetchone()[0]
    finally:
        con.close()
