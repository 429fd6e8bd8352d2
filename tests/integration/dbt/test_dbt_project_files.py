"""The dbt project's generated files agree with their sources of truth, and the flow's dbt arguments."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from flows.transform import dbt_invocation, project_vars, source_tables
from mdp.config import KNOWN_CURRENCIES, config_from_mapping
from mdp.paths import TRANSFORMATIONS_DIR
from mdp.schema import EXTRACTED_AT, LOADED_AT, RUN_ID, TableSpec


def load_script(name: str) -> ModuleType:
    path = TRANSFORMATIONS_DIR / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"mdp_dbt_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("source_name", sorted(source_tables()))
def test_source_yaml_columns_are_the_declared_raw_schema(source_name: str) -> None:
    specs = source_tables()[source_name]
    path = TRANSFORMATIONS_DIR / "models" / "staging" / source_name / f"_{source_name}__sources.yml"
    [source] = yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]
    assert source["name"] == source_name
    assert source["config"]["loaded_at_field"] == LOADED_AT
    tables = {t["name"]: t for t in source["tables"]}
    assert list(tables) == [spec.table_name for spec in specs]
    for spec in specs:
        assert source["schema"].endswith(spec.schema_name)
        columns = {c["name"]: c["description"] for c in tables[spec.table_name]["columns"]}
        assert list(columns) == spec.full_schema().names
        for name, doc in spec.column_docs.items():
            assert columns[name] == doc, name
        assert {RUN_ID, EXTRACTED_AT, LOADED_AT} <= set(columns)


def test_generated_source_files_are_up_to_date() -> None:
    generator = load_script("generate_sources")
    assert generator.main(["--check"]) == 0, "run transformations/scripts/generate_sources.py"


def test_dbt_project_has_no_channel_vars() -> None:
    """The channels reach the unions through models (macros/channels.sql), not vars a script generates."""
    defaults = yaml.safe_load((TRANSFORMATIONS_DIR / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
    assert not {"ad_performance_channels", "report_channels", "channel_field_overrides"} & set(defaults)


def test_fx_seed_is_the_scripts_output_and_covers_every_day() -> None:
    maker = load_script("make_fx_seed")
    seed: Path = maker.SEED
    with seed.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["date", "currency", "rate"]
    assert [tuple(r) for r in rows[1:]] == maker.rows(), "run transformations/scripts/make_fx_seed.py"
    days = {r[0] for r in rows[1:]}
    currencies = {r[1] for r in rows[1:]}
    assert len(days) == (dt.date(2027, 12, 31) - dt.date(2020, 1, 1)).days + 1
    assert {"EUR", "USD", "GBP"} <= currencies <= KNOWN_CURRENCIES
    assert len(rows) - 1 == len(days) * len(currencies)
    assert all(float(r[2]) == 1.0 for r in rows[1:] if r[1] == "EUR")
    assert all(float(r[2]) > 0 for r in rows[1:])


TOLERANCES = {"spend": "0.01", "conversion_value": "0.01", "impressions": "0", "clicks": "0", "conversions": "0.01"}


def test_duckdb_invocation(tmp_path: Path) -> None:
    config = config_from_mapping(
        {"reporting_currency": "GBP", "warehouse": {"type": "duckdb", "path": str(tmp_path / "w.duckdb")}}
    )
    invocation = dbt_invocation(
        config,
        select="fct_ad_performance_daily+ dim_accounts",
        full_refresh=True,
        vars={"x": 1, "incremental_start_date": "2026-01-05"},
    )
    args = list(invocation.args)
    assert args[:3] == ["build", "--target", "dev"]
    assert json.loads(args[args.index("--vars") + 1]) == {
        "reporting_currency": "GBP",
        "reconciliation_tolerances": TOLERANCES,
        "x": 1,
    }
    assert args[args.index("--select") + 1 : args.index("--select") + 3] == [
        "fct_ad_performance_daily+",
        "dim_accounts",
    ]
    assert "--full-refresh" in args
    assert invocation.env == {
        "MDP_DBT_TARGET": "dev",
        "MDP_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
        "MDP_MART_PROPERTIES": "mart_properties",  # no passthrough metrics: the committed properties
        # the first rebuilt day, new every day: an environment variable, never a var (it would re-parse dbt)
        "MDP_DBT_INCREMENTAL_START_DATE": "2026-01-05",
    }
    assert invocation.duckdb_path == tmp_path / "w.duckdb"
    assert invocation.cli_args()[-4:] == [
        "--project-dir",
        str(TRANSFORMATIONS_DIR),
        "--profiles-dir",
        str(TRANSFORMATIONS_DIR),
    ]


def test_bigquery_invocation() -> None:
    meta = {"type": "meta_ads", "conversion_action_types": ["purchase"]}
    config = config_from_mapping(
        {
            "warehouse": {
                "type": "bigquery",
                "project": "my-project",
                "location": "US",
                "dataset_prefix": "acme_",
            },
            "connectors": [{"name": "meta_eu", **meta}, {"name": "meta_us", **meta}],
        }
    )
    invocation = dbt_invocation(config, vars={"reporting_currency": "USD"})
    assert invocation.env == {
        "MDP_DBT_TARGET": "bigquery",
        "MDP_BQ_PROJECT": "my-project",
        "MDP_BQ_LOCATION": "US",
        "MDP_BQ_DATASET": "acme_mdp",
        "MDP_MART_PROPERTIES": "mart_properties",
        "MDP_DBT_INCREMENTAL_START_DATE": "",  # none given: each model's latest day minus the lookback
    }
    assert invocation.duckdb_path is None
    args = list(invocation.args)
    assert json.loads(args[args.index("--vars") + 1]) == {
        "reporting_currency": "USD",
        "reconciliation_tolerances": TOLERANCES,
        "dataset_prefix": "acme_",
    }


def test_meta_connectors_may_count_conversions_differently() -> None:
    """The conversion rule is each connector instance's (applied as it lands rows), never a global dbt var."""
    config = config_from_mapping(
        {
            "connectors": [
                {"name": "a", "type": "meta_ads", "conversion_action_types": ["purchase"]},
                {"name": "b", "type": "meta_ads", "conversion_action_types": ["lead"]},
            ]
        }
    )
    assert not any(name.startswith("meta_conversion") for name in project_vars(config))


def test_bigquery_raw_tables_of_every_registered_type_exist_before_dbt(monkeypatch: pytest.MonkeyPatch) -> None:
    """A connector with no data yet still gets its raw tables, so its staging views build (empty)."""
    import flows.transform as transform

    ensured: list[str] = []

    class Recorder:
        def ensure_table(self, spec: TableSpec) -> None:
            ensured.append(spec.name)

    monkeypatch.setattr(transform, "from_config", lambda config: Recorder())
    config = config_from_mapping({"warehouse": {"type": "bigquery", "project": "my-project", "location": "EU"}})
    transform.prepare_warehouse.fn(config, dbt_invocation(config), 0.0)
    assert ensured == [spec.name for specs in source_tables().values() for spec in specs]
    assert {name.split(".")[0] for name in ensured} >= {"raw_google_ads", "raw_meta_ads"}
