"""A plug-in connector's channel reaches the marts with no edit of a core file and no generated var: the
connector is a package outside the repository, registered only through a real `mdp.connectors` entry point
(a dist-info on sys.path), and ships its staging and `int_<channel>__<union>` models as a dbt package inside
it (`dbt_package`); the flow's dbt invocation links that package into an unchanged copy of the dbt project
and builds the whole project on the session's warehouse."""

from __future__ import annotations

import json
import shutil
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import DAYS, DbtProject, failures, fx_convert

from connectors.registry import BUILT_IN, available_types, connector_class
from flows.transform import dbt_invocation, prepare_duckdb, project_vars, run_dbt
from mdp.paths import TRANSFORMATIONS_DIR
from warehouse.base import LoadContext, Scope
from warehouse.duckdb import DuckDBWarehouse

PLUGIN = "plug_ads"
PLUGIN_MODULE = '''
"""A test-only plug-in source: ad stats (loaded by the test) and device stats (never loaded)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from connectors.base import Account, Connector, Extracted, Stream
from mdp.schema import TableSpec


def _spec(table: str, *extra: pa.Field) -> TableSpec:
    fields = [
        pa.field("account_id", pa.string(), False),
        pa.field("date", pa.date32(), False),
        pa.field("account_currency", pa.string()),
        pa.field("campaign_id", pa.string()),
        pa.field("campaign_title", pa.string()),
        *extra,
        pa.field("impressions", pa.int64()),
        pa.field("clicks", pa.int64()),
        pa.field("spend", pa.float64()),
        pa.field("conversions", pa.float64()),
        pa.field("revenue", pa.float64()),
    ]
    return TableSpec(f"raw_plug_ads.{table}", pa.schema(fields), "account_id", "date")


class PlugAdsConnector(Connector):
    type_name = "plug_ads"
    streams = (
        Stream("ad_stats", _spec("ad_stats", pa.field("ad_group_id", pa.string()), pa.field("ad_id", pa.string()))),
        Stream("device_stats", _spec("device_stats", pa.field("device", pa.string()))),
    )
    dbt_models = {"ad_performance": "int_plug_ads__ad_performance", "device": "int_plug_ads__device"}
    dbt_package = Path(__file__).parent / "dbt"

    def list_accounts(self) -> list[Account]:
        return [Account(a) for a in self.settings.accounts]

    def extract(self, stream: str, account: str, start: dt.date, end: dt.date) -> Iterator[Extracted]:
        yield from ()
'''
PACKAGE_PROJECT = """
name: plug_ads
version: "0.1.0"
config-version: 2
model-paths: [models]
models:
  plug_ads:
    +schema: staging
"""
SOURCES_YML = """
version: 2
sources:
  - name: plug_ads
    schema: "{{ var('dataset_prefix', '') }}raw_plug_ads"
    tables: [{name: ad_stats}, {name: device_stats}]
"""
AD_STATS_SQL = """
select
    cast(date as date) as date_day,
    'plug_ads' as channel,
    account_id,
    account_id as account_name,
    upper(account_currency) as account_currency,
    campaign_id,
    campaign_title,
    ad_group_id,
    ad_group_id as ad_group_name,
    ad_id,
    impressions,
    clicks,
    spend,
    conversions,
    revenue as conversion_value
from {{ source('plug_ads', 'ad_stats') }}
"""
DEVICE_STATS_SQL = """
select
    cast(date as date) as date_day,
    'plug_ads' as channel,
    account_id,
    campaign_id,
    campaign_title,
    lower(device) as device,
    impressions,
    clicks,
    spend,
    conversions,
    revenue as conversion_value
from {{ source('plug_ads', 'device_stats') }}
"""
INT_AD_PERFORMANCE_SQL = """
{{ config(materialized='ephemeral') }}
select
    date_day, channel, account_id, account_name, account_currency, 'UTC' as account_timezone, campaign_id,
    campaign_title as campaign_name, ad_group_id, ad_group_name, ad_id, impressions, clicks, spend, conversions,
    conversion_value
from {{ ref('stg_plug_ads__ad_stats') }}
"""
INT_DEVICE_SQL = """
select
    date_day, channel, account_id, campaign_id, campaign_title as campaign_name, device, device as device_detail,
    impressions, clicks, spend, conversions, conversion_value, null as account_currency
from {{ ref('stg_plug_ads__device_stats') }}
"""


@pytest.fixture
def plugin_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The plug-in as pip would leave it, outside the repository: a package with its dbt package inside, and
    a dist-info whose entry_points.txt registers it. Returns its dbt package."""
    site = tmp_path / "site"
    info = site / "plug_ads_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    module = site / "plug_ads_plugin"
    dbt = module / "dbt"
    (dbt / "models").mkdir(parents=True)
    (module / "__init__.py").write_text(textwrap.dedent(PLUGIN_MODULE), encoding="utf-8")
    (dbt / "dbt_project.yml").write_text(PACKAGE_PROJECT, encoding="utf-8")
    files = {
        f"_{PLUGIN}__sources.yml": SOURCES_YML,
        "stg_plug_ads__ad_stats.sql": AD_STATS_SQL,
        "stg_plug_ads__device_stats.sql": DEVICE_STATS_SQL,
        "int_plug_ads__ad_performance.sql": INT_AD_PERFORMANCE_SQL,
        "int_plug_ads__device.sql": INT_DEVICE_SQL,
    }
    for name, text in files.items():
        (dbt / "models" / name).write_text(text, encoding="utf-8")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plug-ads-plugin\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        f"[mdp.connectors]\n{PLUGIN} = plug_ads_plugin:PlugAdsConnector\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(site))
    return dbt


@pytest.fixture
def plugin_project(tmp_path: Path) -> Path:
    """The core dbt project, unchanged (a copy, so the test's links stay out of the repository)."""
    project = tmp_path / "transformations"
    shutil.copytree(TRANSFORMATIONS_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    return project


def plugin_rows() -> list[dict[str, Any]]:
    """One USD account, two ads a day; day n spends 10n and 5, earns 30n."""
    rows = []
    for n, day in enumerate(DAYS, start=1):
        for ad, spend, revenue in (("p1", 10.0 * n, 30.0 * n), ("p2", 5.0, 0.0)):
            rows.append(
                {
                    "account_id": "pa-1",
                    "date": day,
                    "account_currency": "usd",
                    "campaign_id": "pc-1",
                    "campaign_title": "Plug campaign",
                    "ad_group_id": "pg-1",
                    "ad_id": ad,
                    "impressions": 100 * n,
                    "clicks": 10 * n,
                    "spend": spend,
                    "conversions": 1.0 * n,
                    "revenue": revenue,
                }
            )
    return rows


def test_a_plugin_channel_reaches_the_marts(
    plugin_installed: Path, plugin_project: Path, scratch_project: DbtProject
) -> None:
    assert PLUGIN in available_types()
    assert PLUGIN not in BUILT_IN  # registered by its entry point only
    config = scratch_project.config()
    assert PLUGIN not in json.dumps(project_vars(config, plugin_project))  # no var names the channel

    spec = next(s for s in connector_class(PLUGIN).streams if s.name == "ad_stats").table
    rows = plugin_rows()
    invocation = dbt_invocation(
        config,
        exclude="resource_type:seed",
        target_path=scratch_project.work_dir / "target",
        log_path=scratch_project.work_dir / "logs",
        extra_args=("--log-level-file", "none"),
        project_dir=plugin_project,
    )
    prepare_duckdb(invocation)  # as the flow does: every registered type's raw tables exist, device_stats empty
    DuckDBWarehouse(scratch_project.warehouse_path).replace_partitions(
        spec, rows, Scope.from_units({(r["account_id"], r["date"]) for r in rows}), LoadContext(spec.schema_name, "p")
    )
    result = run_dbt(invocation)
    assert result.success, failures(result)
    assert (plugin_project / "dbt_packages" / PLUGIN).resolve() == plugin_installed  # linked, not copied
    built = {r.node.unique_id for r in result.result.results}  # type: ignore[union-attr]
    assert "model.plug_ads.stg_plug_ads__device_stats" in built

    fact = scratch_project.query(
        "select date_day, count(*), sum(spend), sum(spend_reporting), sum(conversion_value_reporting), "
        "max(campaign_name), max(account_timezone) "
        f"from marts.fct_ad_performance_daily where channel = '{PLUGIN}' group by date_day order by date_day"
    )
    assert [r[0] for r in fact] == list(DAYS)
    for n, (day, count, spend, spend_eur, revenue_eur, campaign, timezone) in enumerate(fact, start=1):
        assert (count, campaign, timezone) == (2, "Plug campaign", "UTC")  # the plug-in's int model mapped them
        # the plug-in's float money becomes decimal in the union; each row converted by the one FX rule
        assert spend == Decimal(10 * n + 5)
        assert spend_eur == fx_convert(Decimal(10 * n), "USD", day) + fx_convert(Decimal(5), "USD", day)
        assert revenue_eur == fx_convert(Decimal(30 * n), "USD", day)

    channel_mart = dict(
        scratch_project.query(
            "select channel, sum(spend_reporting) from marts.mart_channel_performance_daily group by channel"
        )
    )
    assert set(channel_mart) == {"google_ads", "meta_ads", PLUGIN}
    assert channel_mart[PLUGIN] == sum(r[3] for r in fact)
    [(global_spend,)] = scratch_project.query("select sum(spend_reporting) from marts.mart_global_performance_daily")
    assert global_spend == sum(channel_mart.values())
    assert scratch_project.query(f"select count(*) from marts.device_report where channel = '{PLUGIN}'") == [(0,)]
