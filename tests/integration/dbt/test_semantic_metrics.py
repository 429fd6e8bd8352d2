"""The semantic layer gets the marts' numbers: Meta sandbox data extracted by the connector and loaded as the
ingest flow loads it, the project built by dbt (with its semantic models and time spine), then MetricFlow's own
engine (dbt-metricflow's configuration, the DuckDB adapter) queries every ratio metric by day and channel, and
each equals the ratio column of mart_channel_performance_daily."""

from __future__ import annotations

import datetime as dt
import math
import secrets
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from dbt_harness import failures

from connectors.meta_ads.connector import MetaAdsConnector
from connectors.meta_ads.settings import MetaAdsSettings
from flows.transform import all_source_tables, dbt_invocation, run_dbt
from mdp.config import config_from_mapping
from mdp.paths import TRANSFORMATIONS_DIR
from sandbox import MetaSandbox
from warehouse.base import LoadContext, Scope
from warehouse.duckdb import DuckDBWarehouse

START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 13)
RATIOS = ("ctr", "cpc", "cpm", "cpa", "roas", "conversion_rate", "value_per_conversion")
TOKEN_ENV = "MDP_TEST_META_ACCESS_TOKEN"


@pytest.fixture
def built(meta_sandbox: MetaSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Every sandbox Meta account's ad-level rows and totals loaded, the marts and the time spine built; the
    warehouse file and the dbt target folder (with semantic_manifest.json)."""
    monkeypatch.setenv(TOKEN_ENV, "EAAB" + secrets.token_hex(24))
    settings = MetaAdsSettings.model_validate(
        {
            "name": "meta_ads",
            "type": "meta_ads",
            "graph_url": meta_sandbox.base_url,
            "accounts": list(meta_sandbox.account_ids),
            "credentials": {"access_token": f"env:{TOKEN_ENV}"},
            "poll_initial_seconds": 0.001,
            "poll_max_seconds": 0.004,
        }
    )
    path = tmp_path / "warehouse.duckdb"
    warehouse = DuckDBWarehouse(path)
    for spec in all_source_tables():
        warehouse.ensure_table(spec)
    connector = MetaAdsConnector(settings)
    try:
        for account in connector.list_accounts():
            for stream in ("ad_insights", "account_totals"):
                table = connector.stream(stream).table
                batches = [b.rows for b in connector.extract(stream, account.id, START, END)]
                rows = pa.concat_tables(batches) if batches else table.schema.empty_table()
                scope = Scope.of([account.id], START, END)
                warehouse.replace_partitions(table, rows, scope, LoadContext("meta_ads", "run-1"))
    finally:
        connector.close()
    config = config_from_mapping({"warehouse": {"type": "duckdb", "path": str(path)}})
    target = tmp_path / "target"
    invocation = dbt_invocation(
        config,
        command="build",
        select="+mart_channel_performance_daily metricflow_time_spine",
        target_path=target,
        log_path=tmp_path / "logs",
        extra_args=("--log-level-file", "none"),
    )
    result = run_dbt(invocation)
    assert result.success, failures(result)
    assert (target / "semantic_manifest.json").is_file()
    return path, target


def metricflow_rows(warehouse: Path, target: Path, work: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """MetricFlow's answer to `mf query --metrics <ratios> --group-by metric_time__day,ad_performance__channel`,
    through its Python API (the CLI would also check PyPI for a newer version)."""
    from dbt_metricflow.cli.cli_configuration import CLIConfiguration
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    # MetricFlow reads <project>/target/semantic_manifest.json: a project folder with the built manifest
    project = work / "mf_project"
    (project / "target").mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(TRANSFORMATIONS_DIR / name, project / name)
    shutil.copy(target / "semantic_manifest.json", project / "target" / "semantic_manifest.json")
    monkeypatch.setenv("MDP_DBT_TARGET", "dev")
    monkeypatch.setenv("MDP_DUCKDB_PATH", str(warehouse))
    cfg = CLIConfiguration()
    cfg.setup(dbt_profiles_path=project, dbt_project_path=project, configure_file_logging=False)
    request = MetricFlowQueryRequest.create(
        metric_names=list(RATIOS), group_by_names=["metric_time__day", "ad_performance__channel"]
    )
    table = cfg.mf.query(mf_request=request).result_df
    assert table is not None
    names = list(table.column_names)
    return [dict(zip(names, row, strict=True)) for row in table.rows]


def _day(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _same(got: Any, want: Any) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return math.isclose(float(got), float(want), rel_tol=1e-9)


def test_metricflow_ratios_equal_the_marts(
    built: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse, target = built
    con = DuckDBWarehouse(warehouse)
    mart = {
        (row[0], row[1]): row[2:]
        for row in con.query(f"select date_day, channel, {', '.join(RATIOS)} from marts.mart_channel_performance_daily")
    }
    assert len(mart) == (END - START).days + 1  # one channel (meta_ads), every day
    rows = metricflow_rows(warehouse, target, tmp_path, monkeypatch)
    got = {(_day(r["metric_time__day"]), r["ad_performance__channel"]): r for r in rows}
    assert set(got) == set(mart)
    for key, values in mart.items():
        for name, want in zip(RATIOS, values, strict=True):
            assert _same(got[key][name], want), (key, name, got[key][name], want)
    assert all(values[RATIOS.index("roas")] for values in mart.values())  # the sandbox has revenue
