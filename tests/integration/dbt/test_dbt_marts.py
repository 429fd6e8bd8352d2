"""The marts built from the synthetic input equal the hand-computed values."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dbt_harness import (
    D1,
    DAYS,
    DbtProject,
    Expected,
    fx_convert,
    meta_conversions,
    meta_rows,
)

from flows.transform import status_counts

REL = 1e-9


def test_build_runs_models_tests_and_unit_tests(dbt_project: DbtProject) -> None:
    result = dbt_project.build_result
    assert result is not None
    assert result.success
    counts = status_counts(result)
    assert set(counts) <= {"success", "pass"}, counts
    unit_tests = [r for r in result.result.results if r.node.resource_type == "unit_test"]  # type: ignore[union-attr]
    assert len(unit_tests) >= 4


def test_global_spend_revenue_and_roas(dbt_project: DbtProject, expected: Expected) -> None:
    rows = dbt_project.query(
        "select date_day, spend_reporting, conversion_value_reporting, roas, reporting_currency, channel_count "
        "from marts.mart_global_performance_daily order by date_day"
    )
    assert [r[0] for r in rows] == list(DAYS)
    for day, spend, revenue, roas, currency, channels in rows:
        assert (currency, channels) == ("EUR", 2)
        assert (spend, revenue) == (expected.spend[day], expected.revenue[day])  # exact: decimals, one FX rule
        # ratio of the summed amounts, not an average of ratios and not conversions / spend
        assert roas == pytest.approx(float(expected.revenue[day] / expected.spend[day]), rel=REL)


def test_channel_and_campaign_marts_add_up_to_the_global_mart(dbt_project: DbtProject) -> None:
    totals = {
        table: dbt_project.query(
            f"select date_day, sum(spend_reporting), sum(conversion_value_reporting), sum(clicks) "
            f"from marts.{table} group by date_day order by date_day"
        )
        for table in (
            "mart_global_performance_daily",
            "mart_channel_performance_daily",
            "mart_campaign_performance_daily",
            "fct_ad_performance_daily",
        )
    }
    reference = totals.pop("mart_global_performance_daily")
    for table, rows in totals.items():
        for got, want in zip(rows, reference, strict=True):
            assert got[0] == want[0], table
            assert got[1:] == want[1:], table  # money is decimal: the sums agree exactly


def test_meta_conversions_are_the_connectors_rule(dbt_project: DbtProject) -> None:
    """The marts carry the conversions the connector's rule computed (no second definition in dbt)."""
    rows = dbt_project.query(
        "select date_day, sum(conversions), sum(conversion_value) from marts.fct_ad_performance_daily "
        "where channel = 'meta_ads' group by date_day order by date_day"
    )
    for day, conversions, value in rows:
        raw = meta_rows(day)
        assert conversions == pytest.approx(float(sum(meta_conversions(r, "actions") for r in raw)))
        assert value == sum(meta_conversions(r, "action_values") for r in raw)
    # D1: 3 purchases reported under three overlapping types count once, plus 1 pixel-only purchase
    assert rows[0][1] == pytest.approx(4.0)


def test_performance_max_campaign_level_spend_is_kept(dbt_project: DbtProject) -> None:
    rows = dbt_project.query(
        "select date_day, ad_group_id, ad_id, spend, account_currency, spend_reporting "
        "from marts.fct_ad_performance_daily where campaign_id = '201' order by date_day"
    )
    assert len(rows) == len(DAYS)
    for n, (day, ad_group_id, ad_id, spend, currency, spend_reporting) in enumerate(rows, start=1):
        assert (ad_group_id, ad_id, currency) == ("(campaign level)", "(campaign level)", "USD")
        assert spend == Decimal(40 * n)
        assert spend_reporting == fx_convert(spend, "USD", day)


def test_fact_grain_is_unique_and_complete(dbt_project: DbtProject, expected: Expected) -> None:
    [(rows, keys, grains)] = dbt_project.query(
        "select count(*), count(distinct ad_performance_key), "
        "count(distinct (date_day, channel, account_id, campaign_id, ad_group_id, ad_id)) "
        "from marts.fct_ad_performance_daily"
    )
    assert rows == keys == grains == expected.fct_rows


def test_ratios_are_null_when_the_denominator_is_zero(dbt_project: DbtProject) -> None:
    [(clicks, spend, ctr, cpc, cpa, roas)] = dbt_project.query(
        "select clicks, spend, ctr, cpc, cpa, roas from marts.fct_ad_performance_daily "
        f"where ad_id = '50002' and date_day = '{D1}'"
    )
    assert (clicks, spend) == (0, 0.0)
    assert ctr == 0.0
    assert (cpc, cpa, roas) == (None, None, None)


def test_dimensions(dbt_project: DbtProject) -> None:
    accounts = dbt_project.query(
        "select channel, account_id, account_currency, first_date_day, last_date_day "
        "from marts.dim_accounts order by channel, account_id"
    )
    assert accounts == [
        ("google_ads", "1111111111", "EUR", D1, DAYS[-1]),
        ("google_ads", "2222222222", "USD", D1, DAYS[-1]),
        ("meta_ads", "333", "GBP", D1, DAYS[-1]),
        ("meta_ads", "444", "EUR", D1, DAYS[-1]),
    ]
    campaigns = dbt_project.query("select channel, campaign_id, campaign_name from marts.dim_campaigns order by 2")
    assert [c[1] for c in campaigns] == ["101", "201", "c31", "c41"]


def test_marts_are_in_their_schemas(dbt_project: DbtProject) -> None:
    tables = dbt_project.query(
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_schema in ('staging', 'intermediate', 'marts', 'reference') order by 1, 2"
    )
    by_schema: dict[str, set[str]] = {}
    for schema, name, _ in tables:
        by_schema.setdefault(schema, set()).add(name)
    assert by_schema["marts"] == {
        "fct_ad_performance_daily",
        "metricflow_time_spine",
        "mart_channel_performance_daily",
        "mart_campaign_performance_daily",
        "mart_global_performance_daily",
        "dim_accounts",
        "dim_campaigns",
        "dim_campaign_history",
        "dim_ad_group_history",
        "dim_ad_history",
        "reconciliation_daily",
        "excluded_account_days",
        *(
            f"{report}_report"
            for report in (
                "account",
                "campaign",
                "ad_group",
                "ad",
                "keyword",
                "search_term",
                "url",
                "country",
                "region",
                "device",
                "platform",
                "age_gender",
                "conversions_by_action",
            )
        ),
    }
    assert "stg_meta_ads__ad_insights" in by_schema["staging"]
    assert {"int_account_days", "int_accounts"} <= by_schema["intermediate"]
    assert by_schema["reference"] == {"fx_rates_daily"}
