"""The dbt project's BigQuery SQL for real: a full `dbt build` of the bigquery target (profiles.yml's
`bigquery_emulator`, the same models, macros, tests and unit tests) on crucible-emulator, from the raw rows of
the session's DuckDB build, and every mart equal to the DuckDB target's. The incremental path cannot run
there (insert_overwrite needs DECLARE and partitioned tables): docs/bigquery.md says what covers it."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import REPORTING_CURRENCY, DbtProject, failures
from google.cloud import bigquery

from flows.transform import DbtInvocation, all_source_tables, dbt_invocation, run_dbt
from mdp.config import config_from_mapping
from tests.emulators import EMULATOR_PROJECT, Emulator, crucible, emulator_client
from warehouse.bigquery import bigquery_type, quote

EMULATOR_TARGET = "bigquery_emulator"
MART_TABLES = "information_schema.tables where table_schema = 'marts'"
MART_COLUMNS = "information_schema.columns where table_schema = 'marts' and table_name = '{}'"
LOCATION = "EU"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with crucible(tmp_path_factory.mktemp("crucible-home")) as running:
        yield running


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> Iterator[bigquery.Client]:
    with emulator_client(emulator, LOCATION) as running:
        yield running


def literal(value: Any, field_type: str) -> str:
    """A BigQuery SQL literal of a raw value (the few raw types), for an INSERT the emulator runs."""
    sql_type = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}.get(field_type, field_type)
    if value is None:
        return f"CAST(NULL AS {sql_type})"
    text = str(value).lower() if isinstance(value, bool) else str(value)
    quoted = "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"
    return quoted if field_type == "STRING" else f"CAST({quoted} AS {sql_type})"


def duck_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def copy_raw_tables(source: DbtProject, client: bigquery.Client) -> int:
    """Every raw table of the DuckDB warehouse, rows included, into the emulator (unpartitioned: the
    emulator has no partitioned tables); the number of rows copied."""
    copied = 0
    for spec in all_source_tables():
        dataset = bigquery.Dataset(f"{EMULATOR_PROJECT}.{spec.schema_name}")
        dataset.location = LOCATION
        client.create_dataset(dataset, exists_ok=True)
        fields = [(f.name, bigquery_type(f.type)) for f in spec.full_schema()]
        table_id = f"{EMULATOR_PROJECT}.{spec.name}"
        client.create_table(bigquery.Table(table_id, [bigquery.SchemaField(n, t) for n, t in fields]))
        rows = source.query(f"select {', '.join(duck_quote(n) for n, _ in fields)} from {spec.name}")
        if not rows:
            continue
        values = ",\n".join(
            "(" + ", ".join(literal(v, t) for v, (_, t) in zip(row, fields, strict=True)) + ")" for row in rows
        )
        columns = ", ".join(quote(n) for n, _ in fields)
        client.query(f"INSERT INTO {quote(table_id)} ({columns}) VALUES\n{values}").result()
        copied += len(rows)
    return copied


def emulator_invocation(emulator: Emulator, work_dir: Path) -> DbtInvocation:
    """The flow's BigQuery invocation of `dbt build`, aimed at the emulator target."""
    config = config_from_mapping(
        {
            "reporting_currency": REPORTING_CURRENCY,
            "warehouse": {"type": "bigquery", "project": EMULATOR_PROJECT, "location": LOCATION},
        }
    )
    invocation = dbt_invocation(
        config,
        command="build",
        target_path=work_dir / "target",
        log_path=work_dir / "logs",
        extra_args=("--log-level-file", "none"),
    )
    args = list(invocation.args)
    args[args.index("--target") + 1] = EMULATOR_TARGET
    env = {**invocation.env, "MDP_DBT_TARGET": EMULATOR_TARGET, "MDP_BQ_EMULATOR_URL": emulator.url}
    return replace(invocation, args=tuple(args), env=env)


MICRO = Decimal("0.000001")
MONEY_COLUMNS = {
    "spend",
    "conversion_value",
    "spend_reporting",
    "conversion_value_reporting",
    "budget_amount",
    "cpc_bid",
}


def normal(value: Any) -> Any:
    """Values as both warehouses' clients return them, made comparable: money exactly (DuckDB's DECIMAL(38, 6)
    and BigQuery's NUMERIC hold the same amounts; only their printed scale differs), floats to 9 significant
    digits."""
    if isinstance(value, Decimal):
        return value.quantize(MICRO)
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.9g}")
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def test_full_bigquery_build_on_the_emulator_equals_the_duckdb_marts(
    dbt_project: DbtProject, emulator: Emulator, client: bigquery.Client, tmp_path: Path
) -> None:
    assert copy_raw_tables(dbt_project, client) > 0
    result = run_dbt(emulator_invocation(emulator, tmp_path))
    assert result.success, failures(result)
    statuses = [str(r.status) for r in result.result or []]
    assert len(statuses) > 200  # models, seeds, data tests and unit tests: the whole project

    marts = [name for (name,) in dbt_project.query(f"select table_name from {MART_TABLES} order by 1")]
    assert "fct_ad_performance_daily" in marts
    money_types = {
        (mart, field.name): field.field_type
        for mart in marts
        for field in client.get_table(f"{EMULATOR_PROJECT}.marts.{mart}").schema
        if field.name in MONEY_COLUMNS
    }
    assert ("fct_ad_performance_daily", "spend") in money_types
    assert ("dim_ad_group_history", "cpc_bid") in money_types
    assert set(money_types.values()) == {"NUMERIC"}, money_types
    differences = {}
    for mart in marts:
        columns = [
            c
            for (c,) in dbt_project.query(
                f"select column_name from {MART_COLUMNS.format(mart)} order by ordinal_position"
            )
        ]
        duck_sql = f"select {', '.join(duck_quote(c) for c in columns)} from marts.{mart}"
        bq_sql = f"SELECT {', '.join(quote(c) for c in columns)} FROM `{EMULATOR_PROJECT}.marts.{mart}`"
        duck = sorted((tuple(map(normal, row)) for row in dbt_project.query(duck_sql)), key=repr)
        bq = sorted((tuple(map(normal, row.values())) for row in client.query(bq_sql).result()), key=repr)
        if duck != bq:
            only_duck, only_bq = [r for r in duck if r not in bq], [r for r in bq if r not in duck]
            differences[mart] = f"{len(duck)} vs {len(bq)} rows, e.g. DuckDB {only_duck[:2]}, emulator {only_bq[:2]}"
    assert not differences, differences
