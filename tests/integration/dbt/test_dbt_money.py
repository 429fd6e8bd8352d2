"""Money is exact from raw to the marts: decimal columns in every mart, sums equal to the exact sums of the
raw amounts, and every reporting-currency amount converted by the one documented FX rule."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from dbt_harness import D3, DbtProject, failures, fx_convert, google_rows, load_raw, meta_rows

from connectors.google_ads.schema import AD_PERFORMANCE
from connectors.meta_ads.schema import AD_INSIGHTS
from warehouse.duckdb import DuckDBWarehouse

MONEY = "DECIMAL(38,6)"
MONEY_COLUMNS = {
    "spend",
    "conversion_value",
    "spend_reporting",
    "conversion_value_reporting",
    "budget_amount",
    "cpc_bid",
}
FLOAT_COLUMNS = {
    "conversions",
    "all_conversions",
    "fx_rate",
    "ctr",
    "cpc",
    "cpa",
    "roas",
    "cpm",
    "conversion_rate",
    "value_per_conversion",
}
LOAD_DAYS = tuple(D3 + dt.timedelta(days=n) for n in range(1, 6))
ADS_PER_ACCOUNT = 400


def mart_column_types(project: DbtProject) -> dict[tuple[str, str], str]:
    return {
        (table, column): data_type
        for table, column, data_type in project.query(
            "select table_name, column_name, data_type from information_schema.columns where table_schema = 'marts'"
        )
    }


def test_every_money_column_of_every_mart_is_decimal(dbt_project: DbtProject) -> None:
    types = mart_column_types(dbt_project)
    money = {key: t for key, t in types.items() if key[1] in MONEY_COLUMNS}
    tables_with_money = {table for table, _ in money}
    assert {"fct_ad_performance_daily", "mart_global_performance_daily", "account_report", "keyword_report"} <= (
        tables_with_money
    )
    assert {"dim_campaign_history", "dim_ad_group_history", "conversions_by_action_report"} <= tables_with_money
    assert set(money.values()) == {MONEY}, {key: t for key, t in money.items() if t != MONEY}
    # a count that can be fractional and the ratios stay float (DECISIONLOG.md); nothing else is DOUBLE
    doubles = {column for (_, column), t in types.items() if t == "DOUBLE"}
    assert doubles <= FLOAT_COLUMNS, doubles - FLOAT_COLUMNS
    [(rate_type,)] = dbt_project.query(
        "select data_type from information_schema.columns "
        "where table_name = 'stg_fx__rates_daily' and column_name = 'units_per_eur'"
    )
    assert rate_type == "DECIMAL(18,6)"


def realistic_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Five days of 400 ads in each of the four accounts, amounts a float cannot hold exactly."""
    rng = random.Random(26)
    google: list[dict[str, Any]] = []
    meta: list[dict[str, Any]] = []
    for day in LOAD_DAYS:
        for template in (google_rows(day)[0], {**google_rows(day)[2], "ad_group_id": "2001", "row_level": "ad"}):
            for ad in range(ADS_PER_ACCOUNT):
                google.append(
                    {
                        **template,
                        "ad_id": f"9{ad:05d}",
                        "ad_group_name": "Bulk",
                        "cost_micros": rng.randint(1, 80_000_000_000),
                        "conversions_value": rng.randint(0, 5_000_000) / 100,
                    }
                )
        for template in (meta_rows(day)[0], meta_rows(day)[2]):
            for ad in range(ADS_PER_ACCOUNT):
                cents = rng.random() < 0.5  # Meta serves cents; other amounts carry micros
                spend = Decimal(rng.randint(1, 10**7)) / 100 if cents else Decimal(rng.randint(1, 10**11)) / 10**6
                meta.append({**template, "ad_id": f"b{ad:05d}", "spend": spend, "actions": None, "action_values": None})
    return google, meta


def test_a_realistic_load_sums_to_the_exact_raw_amounts(scratch_project: DbtProject) -> None:
    google, meta = realistic_rows()
    load_raw(DuckDBWarehouse(scratch_project.warehouse_path), google, meta, run="run-money")
    result = scratch_project.invoke("run", select="fct_ad_performance_daily", full_refresh=True)
    assert result.success, failures(result)

    raw: dict[tuple[str, str], list[Decimal]] = {}
    for account, cost_micros in scratch_project.query(f"select customer_id, cost_micros from {AD_PERFORMANCE.name}"):
        raw.setdefault(("google_ads", account), []).append(Decimal(cost_micros) / 1_000_000)
    for account, spend in scratch_project.query(f"select account_id, spend from {AD_INSIGHTS.name}"):
        raw.setdefault(("meta_ads", account), []).append(spend)
    exact = {key: sum(amounts, Decimal(0)) for key, amounts in raw.items()}
    assert len(exact) == 4
    assert sum(len(a) for a in raw.values()) > 8000
    # the amounts are float-hostile: adding them as floats drifts from the exact sum
    assert any(Decimal(sum(float(a) for a in amounts)) != exact[key] for key, amounts in raw.items())

    fact = {
        (channel, account): (spend, spend_reporting)
        for channel, account, spend, spend_reporting in scratch_project.query(
            "select channel, account_id, sum(spend), sum(spend_reporting) from marts.fct_ad_performance_daily "
            "group by channel, account_id"
        )
    }
    assert {key: spend for key, (spend, _) in fact.items()} == exact

    # GBP into EUR, row by row: amount x rate(EUR) / rate(GBP), rounded half away from zero to 6 places
    gbp = scratch_project.query(
        "select date_day, spend from marts.fct_ad_performance_daily where account_id = '333' order by all"
    )
    assert len(gbp) > 2000
    assert fact[("meta_ads", "333")][1] == sum((fx_convert(spend, "GBP", day) for day, spend in gbp), Decimal(0))
