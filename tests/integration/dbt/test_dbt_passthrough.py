"""Passthrough metrics through the real dbt project on DuckDB: raw `pt_` columns carried into
fct_ad_performance_daily and the marts built on it (enforced contracts listing them), null for the channels that
lack them, money converted, non-additive metrics only at their own grain; and a metric added to a warehouse
whose incremental marts already exist."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dbt_harness import DbtProject, failures

from flows.dbt_custom import PACKAGE, PROPERTIES_ENV
from flows.transform import dbt_invocation, run_dbt
from mdp.config import PipelineConfig, config_from_mapping
from mdp.paths import TRANSFORMATIONS_DIR

METRICS = [
    # Google's field and Meta's list field both count video views: one column, summed per channel
    {
        "name": "video_views",
        "kind": "integer",
        "sources": {"google_ads": "metrics.video_views", "meta_ads": "video_p100_watched_actions"},
    },
    # a money field on Google: the account currency, and converted
    {"name": "other_value", "kind": "money", "sources": {"google_ads": ["metrics.a_value", "metrics.b_value"]}},
    # reach does not add up over ads or days
    {"name": "reach", "kind": "integer", "additive": False, "sources": {"meta_ads": "reach"}},
]


def config(project: DbtProject) -> PipelineConfig:
    return config_from_mapping(
        {"warehouse": {"type": "duckdb", "path": str(project.warehouse_path)}, "metrics": METRICS}
    )


def build(project: DbtProject, cfg: PipelineConfig, **options: Any) -> None:
    invocation = dbt_invocation(
        cfg,
        command="build",
        exclude="resource_type:seed",
        target_path=project.work_dir / "target",
        log_path=project.work_dir / "logs",
        extra_args=("--log-level-file", "none"),
        **options,
    )
    assert invocation.env[PROPERTIES_ENV] == "generated/mart_properties"
    result = run_dbt(invocation)
    assert result.success, failures(result)


def add_raw_fields(project: DbtProject) -> None:
    """What the connectors land for these fields: deterministic values derived from each row."""
    project.query(
        "alter table raw_google_ads.ad_performance add column pt_metrics_video_views bigint;"
        "alter table raw_google_ads.ad_performance add column pt_metrics_a_value decimal(18, 6);"
        "alter table raw_google_ads.ad_performance add column pt_metrics_b_value decimal(18, 6);"
        "update raw_google_ads.ad_performance set pt_metrics_video_views = impressions // 7,"
        " pt_metrics_a_value = cost_micros / 3000000, pt_metrics_b_value = case when clicks > 3 then 1.5 end;"
        "alter table raw_meta_ads.ad_insights add column pt_video_p100_watched_actions bigint;"
        "alter table raw_meta_ads.ad_insights add column pt_reach bigint;"
        "update raw_meta_ads.ad_insights set pt_video_p100_watched_actions = impressions // 11,"
        " pt_reach = impressions // 2;"
    )


def columns(project: DbtProject, relation: str) -> list[str]:
    schema, table = relation.split(".")
    rows = project.query(
        "select column_name from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
    )
    return [name for (name,) in rows]


def test_passthrough_metrics_reach_the_fact_and_the_marts_their_grain_allows(scratch_project: DbtProject) -> None:
    project = scratch_project
    add_raw_fields(project)
    cfg = config(project)
    try:
        build(project, cfg)  # the marts exist: the incremental ones gain the columns
        assert "video_views" in columns(project, "marts.fct_ad_performance_daily")
        build(project, cfg, full_refresh=True)

        fact = project.query(
            "select channel, sum(video_views), sum(other_value), sum(reach), count(reach) "
            "from marts.fct_ad_performance_daily group by 1 order by 1"
        )
        raw_google = project.query(
            "select sum(pt_metrics_video_views), sum(coalesce(pt_metrics_a_value, 0) + coalesce(pt_metrics_b_value, 0))"
            " from raw_google_ads.ad_performance"
        )[0]
        raw_meta = project.query(
            "select sum(pt_video_p100_watched_actions), sum(pt_reach) from raw_meta_ads.ad_insights"
        )[0]
        assert fact == [
            ("google_ads", raw_google[0], raw_google[1], None, 0),  # reach: null for Google
            (
                "meta_ads",
                raw_meta[0],
                None,
                raw_meta[1],
                project.query("select count(*) from raw_meta_ads.ad_insights")[0][0],
            ),
        ]
        # money: the account currency and the reporting currency, converted like spend
        [(converted_ok,)] = project.query(
            "select bool_and(other_value_reporting = other_value or account_currency <> 'EUR') "
            "from marts.fct_ad_performance_daily where channel = 'google_ads' and other_value is not null"
        )
        assert converted_ok
        [(reporting,)] = project.query("select sum(other_value_reporting) from marts.fct_ad_performance_daily")
        assert isinstance(reporting, Decimal)
        assert reporting > 0

        # summed marts: the additive metrics add up; reach is left out; mixed-account marts keep reporting money
        [(campaign_views,)] = project.query("select sum(video_views) from marts.mart_campaign_performance_daily")
        assert campaign_views == raw_google[0] + raw_meta[0]
        assert "reach" not in columns(project, "marts.mart_campaign_performance_daily")
        assert "reach" in columns(project, "marts.ad_report")
        global_columns = columns(project, "marts.mart_global_performance_daily")
        assert "other_value_reporting" in global_columns
        assert "other_value" not in global_columns
        [(global_reporting,)] = project.query(
            "select sum(other_value_reporting) from marts.mart_global_performance_daily"
        )
        assert global_reporting == reporting
        for report in ("account_report", "campaign_report", "ad_group_report"):
            [(views,)] = project.query(f"select sum(video_views) from marts.{report}")
            assert views == raw_google[0] + raw_meta[0], report
    finally:
        bare = config_from_mapping({"warehouse": {"type": "duckdb", "path": str(project.warehouse_path)}})
        dbt_invocation(bare)  # removes the generated package for the tests that follow
    assert not (TRANSFORMATIONS_DIR / "dbt_packages" / PACKAGE).exists()
