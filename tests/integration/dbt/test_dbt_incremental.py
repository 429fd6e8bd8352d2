"""Restatements, missing FX rates and the BigQuery target, each on its own copy of the built warehouse."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from dbt_harness import (
    D1,
    D2,
    D3,
    DbtProject,
    failures,
    google_rows,
    load_raw,
    meta_rows,
)

from connectors.google_ads.schema import CAMPAIGN_SNAPSHOT
from flows.transform import dbt_invocation, run_dbt
from mdp.config import config_from_mapping
from warehouse.base import LoadContext, Scope
from warehouse.duckdb import DuckDBWarehouse

FACT = "marts.fct_ad_performance_daily"


def fact_by_day(project: DbtProject) -> dict[object, tuple[int, float]]:
    return {
        day: (rows, spend)
        for day, rows, spend in project.query(
            f"select date_day, count(*), sum(spend) from {FACT} where channel = 'google_ads' "
            "or account_id = '333' group by date_day"
        )
    }


def test_incremental_run_replaces_the_window_after_a_restatement(scratch_project: DbtProject) -> None:
    before = fact_by_day(scratch_project)
    [(total_before,)] = scratch_project.query(f"select count(*) from {FACT}")
    # Restate D3 (Google spend doubled; one Meta ad disappears) and D1, which lies outside a 1-day window.
    restated_meta = [r for r in meta_rows(D3) if r["ad_id"] != "a3112"]
    load_raw(DuckDBWarehouse(scratch_project.warehouse_path), google_rows(D3, scale=2), restated_meta, "run-2")
    load_raw(DuckDBWarehouse(scratch_project.warehouse_path), google_rows(D1, scale=3), [], "run-2")

    result = scratch_project.invoke("build", select="fct_ad_performance_daily+", vars={"incremental_lookback_days": 1})
    assert result.success, failures(result)
    after = fact_by_day(scratch_project)
    [(total_after, keys_after)] = scratch_project.query(
        f"select count(*), count(distinct ad_performance_key) from {FACT}"
    )
    assert total_after == keys_after == total_before - 1  # replaced, no duplicates, the vanished ad gone
    google_d3 = Decimal(sum(r["cost_micros"] for r in google_rows(D3, scale=2))) / 1_000_000
    assert after[D3][1] == google_d3 + Decimal("30.25")
    assert after[D2] == before[D2]
    assert after[D1] == before[D1]  # outside the window: the incremental run leaves it as it was

    result = scratch_project.invoke("build", select="fct_ad_performance_daily+", full_refresh=True)
    assert result.success, failures(result)
    google_d1 = Decimal(sum(r["cost_micros"] for r in google_rows(D1, scale=3))) / 1_000_000
    assert fact_by_day(scratch_project)[D1][1] == google_d1 + Decimal("34.25")


def every_mart(project: DbtProject) -> dict[str, list[tuple[Any, ...]]]:
    """Each table of the marts schema, its rows sorted, floats rounded (sums may add up in another order)."""
    tables = [
        t for (t,) in project.query("select table_name from information_schema.tables where table_schema = 'marts'")
    ]
    return {
        table: sorted(
            tuple(round(v, 9) if isinstance(v, float) else v for v in row)
            for row in project.query(f"select * from marts.{table}")
        )
        for table in sorted(tables)
    }


def test_an_incremental_build_leaves_every_mart_as_a_full_build_would(scratch_project: DbtProject) -> None:
    warehouse = DuckDBWarehouse(scratch_project.warehouse_path)
    # D3 restated (Google spend doubled, a Meta ad gone) and a campaign snapshotted for the first time on D3,
    # inside a 1-day window (D2-D3): its D1 rows, outside the window, take its first version now.
    load_raw(warehouse, google_rows(D3, scale=2), [r for r in meta_rows(D3) if r["ad_id"] != "a3112"], "run-2")
    snapshot = {column: None for column in CAMPAIGN_SNAPSHOT.schema.names}
    snapshot |= {"snapshot_date": D3, "customer_id": "1111111111", "campaign_id": "101", "campaign_name": "Search FR"}
    snapshot |= {"campaign_status": "ENABLED", "advertising_channel_type": "SEARCH", "budget_period": "DAILY"}
    warehouse.replace_partitions(
        CAMPAIGN_SNAPSHOT, [snapshot], Scope.from_units({("1111111111", D3)}), LoadContext("raw_google_ads", "run-2")
    )

    result = scratch_project.invoke("build", exclude="resource_type:seed", vars={"incremental_lookback_days": 1})
    assert result.success, failures(result)
    incremental = every_mart(scratch_project)
    assert scratch_project.query(
        f"select campaign_status from marts.campaign_report where campaign_id = '101' and date_day = '{D1}'"
    ) == [("ENABLED",)]

    result = scratch_project.invoke("build", exclude="resource_type:seed", full_refresh=True)
    assert result.success, failures(result)
    full = every_mart(scratch_project)
    assert {"fct_ad_performance_daily", "dim_accounts", "mart_campaign_performance_daily", "url_report"} <= set(full)
    for table, rows in full.items():
        assert incremental[table] == rows, table


def test_incremental_runs_test_the_rebuilt_days_and_full_builds_every_day(scratch_project: DbtProject) -> None:
    reconciliation = "ad_group_report,test_name:reconciles_with"
    scratch_project.query(f"update marts.ad_group_report set spend = spend + 1 where date_day = '{D1}'")
    from_d2 = {"incremental_start_date": D2.isoformat()}
    result = scratch_project.invoke("test", select=reconciliation, vars=from_d2)
    assert result.success, failures(result)  # D1 lies outside the rebuilt days
    result = scratch_project.invoke("build", select=f"{reconciliation},resource_type:test", full_refresh=True)
    assert not result.success  # a full build tests every day
    assert any("reconciles_with" in f for f in failures(result))

    scratch_project.query(f"update marts.ad_group_report set spend = spend + 1 where date_day = '{D3}'")
    result = scratch_project.invoke("test", select=reconciliation, vars=from_d2)
    assert not result.success  # inside the rebuilt days


def test_incremental_start_date_rebuilds_from_that_day(scratch_project: DbtProject) -> None:
    load_raw(DuckDBWarehouse(scratch_project.warehouse_path), google_rows(D1, scale=3), [], "run-2")
    result = scratch_project.invoke(
        "build",
        select="fct_ad_performance_daily",
        vars={"incremental_lookback_days": 0, "incremental_start_date": D1.isoformat()},
    )
    assert result.success, failures(result)
    google_d1 = Decimal(sum(r["cost_micros"] for r in google_rows(D1, scale=3))) / 1_000_000
    assert fact_by_day(scratch_project)[D1][1] == google_d1 + Decimal("34.25")


def test_a_missing_fx_rate_leaves_that_account_day_out_and_names_it(scratch_project: DbtProject) -> None:
    """D5 of issue #27: an account-day that cannot be converted never fails the build for the others."""
    norwegian = [
        {**row, "customer_id": "9999999999", "customer_name": "Shop NO", "currency_code": "NOK"}
        for row in google_rows(D2)[:1]
    ]
    [(before,)] = scratch_project.query(f"select count(*) from {FACT}")
    load_raw(DuckDBWarehouse(scratch_project.warehouse_path), norwegian, [], "run-2")
    result = scratch_project.invoke("build", select="fct_ad_performance_daily+ excluded_account_days")
    assert result.success, failures(result)
    [(after,)] = scratch_project.query(f"select count(*) from {FACT}")
    assert after == before  # every other account's rows, none of the unconvertible one
    assert scratch_project.query(f"select count(*) from {FACT} where account_id = '9999999999'") == [(0,)]
    excluded = scratch_project.query(
        "select date_day, channel, account_id, report, account_currency, reason from marts.excluded_account_days"
    )
    assert [row[:5] for row in excluded] == [(D2, "google_ads", "9999999999", "ad_performance", "NOK")]
    assert "no FX rate for NOK that day in seeds/fx_rates_daily.csv" in excluded[0][5]
    from flows.status import excluded_account_days

    [line] = [e.line() for e in excluded_account_days(DuckDBWarehouse(scratch_project.warehouse_path, read_only=True))]
    assert line.startswith(f"google_ads account 9999999999 {D2} (ad_performance): no FX rate for NOK")
    warned = [r for r in result.result.results if r.status == "warn"]
    assert any("excluded_account_days" in r.node.unique_id for r in warned), [r.node.unique_id for r in warned]


def test_a_reporting_currency_without_rates_leaves_every_foreign_account_day_out(scratch_project: DbtProject) -> None:
    result = scratch_project.invoke(
        "build",
        select="int_ad_performance_converted+ excluded_account_days",
        full_refresh=True,
        vars={"reporting_currency": "NOK"},
    )
    assert result.success, failures(result)
    assert scratch_project.query(f"select count(*) from {FACT}") == [(0,)]
    reasons = {row[0] for row in scratch_project.query("select reason from marts.excluded_account_days")}
    assert reasons == {"no FX rate for NOK (the reporting currency) that day in seeds/fx_rates_daily.csv"}


def test_changing_the_reporting_currency_needs_a_full_refresh(scratch_project: DbtProject) -> None:
    selection = "int_ad_performance_converted+"
    result = scratch_project.invoke(
        "build", select=selection, vars={"reporting_currency": "USD", "incremental_lookback_days": 1}
    )
    assert not result.success  # the incremental fact now mixes EUR (D1) and USD rows
    assert any("reporting_currency" in f for f in failures(result))
    result = scratch_project.invoke("build", select=selection, full_refresh=True, vars={"reporting_currency": "USD"})
    assert result.success, failures(result)
    assert scratch_project.query(f"select distinct reporting_currency from {FACT}") == [("USD",)]


def test_bigquery_target_parses_without_credentials(tmp_path: Path) -> None:
    config = config_from_mapping(
        {
            "reporting_currency": "USD",
            "warehouse": {"type": "bigquery", "project": "mdp-ci-check", "dataset_prefix": "ci_"},
        }
    )
    invocation = dbt_invocation(
        config,
        command="parse",
        target_path=tmp_path / "target",
        log_path=tmp_path / "logs",
        extra_args=("--log-level-file", "none"),
    )
    result = run_dbt(invocation)
    assert result.success, failures(result)
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text(encoding="utf-8"))
    fact = manifest["nodes"]["model.marketing_data_platform.fct_ad_performance_daily"]
    assert fact["config"]["incremental_strategy"] == "insert_overwrite"
    assert fact["config"]["partition_by"]["field"] == "date_day"
    assert fact["config"]["cluster_by"] == ["channel", "account_id"]
    assert fact["schema"] == "ci_marts"
    assert fact["columns"]["spend_reporting"]["data_type"] == "numeric"  # money is NUMERIC on BigQuery
    assert fact["columns"]["roas"]["data_type"] == "float64"
    source = manifest["sources"]["source.marketing_data_platform.google_ads.ad_performance"]
    assert (source["database"], source["schema"]) == ("mdp-ci-check", "ci_raw_google_ads")
