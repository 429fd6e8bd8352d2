"""Custom streams and passthrough metrics, the parts every connector shares: column names, raw tables, the
`metrics:` configuration, and what flows/dbt_custom.py writes into the dbt project (no dbt run here)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pytest
import yaml
from pydantic import Field

from connectors import registry
from connectors.base import Account, Connector, ConnectorSettings, Extracted, Stream
from connectors.kit.custom import CustomColumn, column_name, custom_stream, passthrough_column
from connectors.kit.schema import MONEY, table_spec
from flows import dbt_custom
from mdp.config import load_config
from mdp.errors import ConfigError

PRIMARY = table_spec(
    "raw_toy.ad_performance",
    {"account_id": (pa.string(), False, "account"), "date": (pa.date32(), False, "day")},
)


class ToySettings(ConnectorSettings):
    custom: list[dict[str, Any]] = Field(default_factory=list)


class ToyConnector(Connector):
    """A connector whose custom streams are `{name, dimensions, metrics}` and whose passthrough fields are any
    `toy.<name>` (money when it ends in _cost)."""

    type_name = "toy"
    settings_model = ToySettings
    settings: ToySettings
    streams = (Stream("ad_performance", PRIMARY),)
    supports_passthrough: ClassVar[bool] = True

    def custom_streams(self) -> tuple[Stream, ...]:
        result = []
        for index, entry in enumerate(self.settings.custom):
            columns = [CustomColumn(d, pa.string(), "dimension") for d in entry.get("dimensions", [])]
            columns += [CustomColumn(m, MONEY, "metric", money=True) for m in entry.get("metrics", [])]
            where = f"connectors.{self.name}.custom[{index}]"
            result.append(custom_stream("toy", entry["name"], columns, description="toy", where=where))
        return tuple(result)

    def passthrough_columns(self) -> tuple[CustomColumn, ...]:
        for field in self.settings.passthrough_fields:
            if not field.startswith("toy."):
                raise ConfigError(f"invalid configuration: metrics: {field!r} is not a toy field")
        return tuple(
            passthrough_column(f, MONEY if f.endswith("_cost") else pa.int64(), money=f.endswith("_cost"))
            for f in self.settings.passthrough_fields
        )

    def list_accounts(self) -> list[Account]:
        return [Account(a) for a in self.settings.accounts]

    def extract(self, stream: str, account: str, start: dt.date, end: dt.date) -> Iterator[Extracted]:
        yield Extracted(pa.table({"account_id": [account], "date": [start]}))


@pytest.fixture(autouse=True)
def toy_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.BUILT_IN, "toy", f"{__name__}:ToyConnector")


METRICS = """
metrics:
  - {name: video_views, kind: integer, sources: {toy: toy.video_views}}
  - {name: extra_cost, kind: money, sources: {toy: [toy.a_cost, toy.b_cost]}}
  - {name: reach, kind: integer, additive: false, sources: {toy: toy.reach}}
"""
CUSTOM = "custom: [{name: by_network, dimensions: [segments.ad_network_type], metrics: [metrics.cost]}]"


def config(tmp_path: Path, extra: str = "", top: str = "") -> Any:
    path = tmp_path / "pipeline.yaml"
    path.write_text(f"connectors: [{{name: t, type: toy, accounts: [a]{extra}}}]\n{top}", encoding="utf-8")
    return load_config(path)


def test_column_names_are_sanitised_deterministically_and_never_shortened() -> None:
    assert column_name("metrics.cost_micros") == "metrics_cost_micros"
    assert column_name("actions:video_view") == "actions_video_view"
    assert column_name("CampaignId") == "campaignid"
    assert column_name("1st.field") == "f_1st_field"
    for hostile in ("", "...", ";--"):
        with pytest.raises(ValueError, match="no column name"):
            column_name(hostile)
    with pytest.raises(ValueError, match="over 63"):
        column_name("x" * 64)


def test_a_custom_stream_lands_in_its_own_raw_table_keyed_by_account_day_and_dimensions(tmp_path: Path) -> None:
    (connector,) = registry.build_connectors(config(tmp_path, ", " + CUSTOM))
    stream = connector.stream("custom_by_network")
    assert stream.table.name == "raw_toy.custom_by_network"
    assert stream.table.schema.names == [
        "account_id",
        "date",
        "account_currency",
        "segments_ad_network_type",
        "metrics_cost",
    ]
    assert stream.key == ("account_id", "date", "segments_ad_network_type")  # type: ignore[attr-defined]
    assert [s.name for s in connector.selected_streams] == ["ad_performance", "custom_by_network"]


@pytest.mark.parametrize(
    ("custom", "message"),
    [
        ("[{name: x, dimensions: [a.b, a_b]}]", "fields 'a.b' and 'a_b' would both be column 'a_b'"),
        ("[{name: x, dimensions: [date]}]", "would be column 'date', which every custom table already has"),
        ("[{name: x, metrics: [Account.Currency]}]", "which every custom table already has"),
        ("[{name: 'X; drop table y', dimensions: [a]}]", "must be lower_snake_case"),
        ("[{name: ad_performance2, dimensions: [a]}, {name: ad_performance2, dimensions: [b]}]", "declared twice"),
    ],
)
def test_a_colliding_or_hostile_custom_stream_is_refused_in_one_line(tmp_path: Path, custom: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        registry.build_connectors(config(tmp_path, f", custom: {custom}"))
    assert "\n" not in str(caught.value)


def test_metrics_set_the_connectors_passthrough_fields_once_each(tmp_path: Path) -> None:
    cfg = config(tmp_path, top=METRICS + "  - {name: views_again, sources: {toy: toy.video_views}}\n")
    (connector,) = registry.build_connectors(cfg)
    assert connector.settings.passthrough_fields == ["toy.video_views", "toy.a_cost", "toy.b_cost", "toy.reach"]
    assert connector.table.schema.names[2:] == ["pt_toy_video_views", "pt_toy_a_cost", "pt_toy_b_cost", "pt_toy_reach"]
    assert connector.table.schema.field("pt_toy_a_cost").type == MONEY


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ("[{name: spend, sources: {toy: toy.x}}]", "a column the marts already have"),
        ("[{name: x_reporting, sources: {toy: toy.x}}]", "a column the marts already have"),
        ("[{name: 'x; drop', sources: {toy: toy.x}}]", "metrics[0].name"),
        ('[{name: x, sources: {toy: "toy.x; DROP TABLE y"}}]', "is not a field name"),
        ("[{name: x, sources: {toy: \"a' OR '1\"}}]", "is not a field name"),
        ('[{name: x, sources: {toy: "toy.\uff58"}}]', "is not a field name"),
        ("[{name: x, sources: {toy: [toy.x, toy.x]}}]", "listed twice"),
        ("[{name: x, sources: {}}]", "metrics[0].sources"),
        ("[{name: x, kind: float, sources: {toy: toy.x}}]", "metrics[0].kind"),
        ("[{name: x, sources: {toy: toy.x}}, {name: x, sources: {toy: toy.y}}]", "names must be unique"),
        ("[{name: x, sources: {toi: toy.x}}]", "metrics[0].sources.toi: unknown connector type (did you mean 'toy'?)"),
        ("[{name: x, sources: {toy: other.x}}]", "'other.x' is not a toy field"),
        ("[{name: x, sources: {tiktok_ads: stat.x}}]", "cannot extract passthrough fields"),
    ],
)
def test_a_bad_metric_is_refused_in_one_line_naming_it(tmp_path: Path, metrics: str, message: str) -> None:
    extra = ""
    if "tiktok_ads" in metrics:
        extra = "\n  - {name: tt, type: tiktok_ads, accounts: ['6830337241993179143'], app_id: '1',"
        extra += " credentials: {access_token: 'env:X'}}"
    path = tmp_path / "pipeline.yaml"
    path.write_text(f"connectors:\n  - {{name: t, type: toy, accounts: [a]}}{extra}\nmetrics: {metrics}\n")
    with pytest.raises(ConfigError, match=re.escape(message)) as c:
        registry.build_connectors(load_config(path))
    assert "\n" not in str(c.value)


def test_a_sections_own_passthrough_fields_come_first_and_the_metrics_add_theirs(tmp_path: Path) -> None:
    (connector,) = registry.build_connectors(config(tmp_path, ", passthrough_fields: [toy.reach, toy.own]", METRICS))
    assert connector.settings.passthrough_fields == [
        "toy.reach",
        "toy.own",
        "toy.video_views",
        "toy.a_cost",
        "toy.b_cost",
    ]


def test_the_package_holds_a_documented_tested_staging_view_per_custom_stream(tmp_path: Path) -> None:
    cfg = config(tmp_path, ", " + CUSTOM, METRICS)
    custom = dbt_custom.custom_dbt(cfg)
    (model,) = custom.models
    assert model.model == "stg_toy__custom_by_network"
    files = dbt_custom.package_files(custom, "pipeline.yaml")
    sql = files[Path("models/toy/stg_toy__custom_by_network.sql")]
    assert "source('toy_custom', 'custom_by_network')" in sql
    assert "adapter.quote('segments_ad_network_type')" in sql
    assert "'money'" in sql
    properties = yaml.safe_load(files[Path("models/toy/stg_toy__custom_by_network.yml")])["models"][0]
    key = properties["data_tests"][0]["unique_combination_of_columns"]["arguments"]["combination_of_columns"]
    assert key == ["date_day", "account_id", "segments_ad_network_type"]
    assert all(column["description"] for column in properties["columns"])
    macro = files[Path("macros/passthrough_metrics.sql")]
    assert '"sources": {"toy": ["pt_toy_a_cost", "pt_toy_b_cost"]}' in macro
    assert {table.name for table in custom.raw_tables} == {"raw_toy.ad_performance", "raw_toy.custom_by_network"}


def test_the_marts_contracts_list_the_metrics_their_grain_allows(tmp_path: Path) -> None:
    cfg = config(tmp_path, top=METRICS)
    files = dbt_custom.mart_properties(cfg.metrics, dbt_custom.TRANSFORMATIONS_DIR, "pipeline.yaml")

    def columns(path: str) -> list[str]:
        document = yaml.safe_load(files[Path(path)])
        return [c["name"] for c in document["models"][0]["columns"]]

    fact = columns("marts/fct_ad_performance_daily.yml")
    assert fact[-4:] == ["video_views", "extra_cost", "extra_cost_reporting", "reach"]
    assert columns("marts/reports/ad_report.yml")[-4:] == fact[-4:]
    campaign = columns("marts/mart_campaign_performance_daily.yml")
    assert campaign[-3:] == ["video_views", "extra_cost", "extra_cost_reporting"]  # reach is not additive
    assert columns("marts/mart_global_performance_daily.yml")[-2:] == ["video_views", "extra_cost_reporting"]


def test_the_package_is_rewritten_only_when_the_configuration_changes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "mart_properties" / "marts").mkdir(parents=True)
    source = dbt_custom.TRANSFORMATIONS_DIR / "mart_properties" / "marts" / "fct_ad_performance_daily.yml"
    (project / "mart_properties" / "marts" / "fct_ad_performance_daily.yml").write_text(source.read_text())
    cfg = config(tmp_path, ", " + CUSTOM, METRICS)
    custom = dbt_custom.write_custom_package(cfg, project)
    assert custom.env == {"MDP_MART_PROPERTIES": "generated/mart_properties"}
    written = sorted(p for p in project.rglob("*") if p.is_file())
    stamps = {p: p.stat().st_mtime_ns for p in written}
    dbt_custom.write_custom_package(cfg, project)
    assert {p: p.stat().st_mtime_ns for p in written} == stamps
    bare = config(tmp_path / "bare" if (tmp_path / "bare").mkdir() is None else tmp_path)
    assert dbt_custom.write_custom_package(bare, project).env == {"MDP_MART_PROPERTIES": "mart_properties"}
    assert not (project / "dbt_packages" / "mdp_custom").exists()
    assert not (project / "generated" / "mart_properties").exists()
