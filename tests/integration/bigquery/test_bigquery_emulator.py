"""The BigQuery warehouse on a local emulator (bqemulator, see tests/emulators.py): real SQL, real tables.
The replace property of test_bigquery_live.py, the tables' partitioning and clustering as the emulator
reports them, the quarantine and load-log rows, failures logged, queries with parameters."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pyarrow as pa
import pytest
from google.cloud import bigquery
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdp.errors import WarehouseError
from mdp.schema import QuarantinedRow
from tests.emulators import EMULATOR_PROJECT, Emulator, bqemulator, emulator_client
from tests.integration.bigquery.test_bigquery_live import check_replace_sequence
from tests.integration.bigquery.test_bigquery_warehouse import D1, D2, D3, SPEC, rows
from tests.integration.test_replace_properties import operations
from warehouse.base import LOAD_LOG, LoadContext, Scope
from warehouse.bigquery import BigQueryWarehouse

LOCATION = "EU"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with bqemulator(tmp_path_factory.mktemp("bqemulator-home")) as running:
        yield running


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> Iterator[bigquery.Client]:
    with emulator_client(emulator, LOCATION) as running:
        yield running


def new_warehouse(client: bigquery.Client) -> BigQueryWarehouse:
    """A warehouse with datasets of its own (a random prefix) on the module's emulator."""
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    return BigQueryWarehouse(EMULATOR_PROJECT, LOCATION, dataset_prefix=prefix, client=client, job_timeout=60)


@pytest.fixture
def warehouse(client: bigquery.Client) -> BigQueryWarehouse:
    return new_warehouse(client)


def test_tables_are_created_day_partitioned_and_clustered(
    warehouse: BigQueryWarehouse, client: bigquery.Client
) -> None:
    warehouse.ensure_table(SPEC)
    warehouse.ensure_ops()
    warehouse.ensure_table(SPEC)  # a second call finds the table and leaves it alone
    table = client.get_table(warehouse.table_id(SPEC.name))
    assert table.time_partitioning.type_ == "DAY"
    assert table.time_partitioning.field == "date"
    assert table.clustering_fields == ["account_id", "campaign_id"]
    assert [(f.name, f.field_type, f.mode) for f in table.schema][:3] == [
        ("account_id", "STRING", "REQUIRED"),
        ("date", "DATE", "REQUIRED"),
        ("campaign_id", "STRING", "NULLABLE"),
    ]
    log = client.get_table(warehouse.table_id(LOAD_LOG))
    assert (log.time_partitioning.field, log.clustering_fields) == ("day", ["connector", "table_name", "account_id"])
    assert client.get_dataset(warehouse.dataset_id(SPEC.schema_name)).location == LOCATION


def test_replace_writes_rows_quarantine_and_load_log_in_one_transaction(warehouse: BigQueryWarehouse) -> None:
    context = LoadContext("google_ads", "run-1")
    warehouse.replace_partitions(SPEC, rows("a", D1, 1, 2) + rows("b", D1, 3), Scope.of(["a", "b"], D1, D2), context)
    bad = QuarantinedRow("a", D2, "cost is not a number", '{"cost": "x\'\\\\"}')
    result = warehouse.replace_partitions(
        SPEC, rows("a", D1, 5), Scope.of(["a"], D1, D2), LoadContext("google_ads", "run-2"), quarantine=[bad]
    )
    assert result.rows_per_unit == {("a", D1): 1, ("a", D2): 0}
    table = f"`{warehouse.table_id(SPEC.name)}`"
    assert warehouse.query(f"SELECT account_id, date, cost FROM {table} ORDER BY 1, 2, 3") == [
        ("a", D1, 5.0),
        ("b", D1, 3.0),
    ]
    assert warehouse.row_counts(SPEC) == {("a", D1): 1, ("b", D1): 1}
    assert warehouse.row_counts(SPEC, start=D1, end=D1, accounts=["b"]) == {("b", D1): 1}
    quarantine = f"`{warehouse.table_id(SPEC.quarantine_name())}`"
    assert warehouse.query(f"SELECT account_id, day, reason, record, _run_id FROM {quarantine}") == [
        ("a", D2, bad.reason, bad.record, "run-2")
    ]
    log = warehouse.query(
        f"SELECT run_id, account_id, day, `rows`, quarantined, status FROM `{warehouse.table_id(LOAD_LOG)}` "
        "ORDER BY 1, 2, 3"
    )
    assert log == [
        ("run-1", "a", D1, 2, 0, "success"),
        ("run-1", "a", D2, 0, 0, "success"),
        ("run-1", "b", D1, 1, 0, "success"),
        ("run-1", "b", D2, 0, 0, "success"),
        ("run-2", "a", D1, 1, 0, "success"),
        ("run-2", "a", D2, 0, 1, "success"),
    ]


def test_a_failed_load_is_logged_and_leaves_the_table_alone(warehouse: BigQueryWarehouse) -> None:
    warehouse.replace_partitions(SPEC, rows("a", D3, 7), Scope.of(["a"], D3, D3), LoadContext("g", "ok"))
    warehouse.log_failure(SPEC, Scope.of(["a"], D3, D3), LoadContext("g", "bad"), "API said no")
    assert warehouse.row_counts(SPEC) == {("a", D3): 1}
    assert warehouse.query(f"SELECT status, error FROM `{warehouse.table_id(LOAD_LOG)}` WHERE run_id = ?", ["bad"]) == [
        ("failed", "API said no")
    ]


def test_queries_take_positional_parameters_and_return_arrow(warehouse: BigQueryWarehouse) -> None:
    warehouse.replace_partitions(
        SPEC, rows("a", D1, 1.5) + rows("b", D1, 2), Scope.of(["a", "b"], D1, D1), LoadContext("g", "r")
    )
    sql = f"SELECT account_id, cost FROM `{warehouse.table_id(SPEC.name)}` WHERE account_id IN UNNEST(?) AND date = ?"
    assert warehouse.query(sql, [["a", "c"], D1]) == [("a", 1.5)]
    arrow = warehouse.query_arrow(sql + " ORDER BY 1", [("a", "b"), D1])
    assert isinstance(arrow, pa.Table)
    assert arrow.to_pylist() == [{"account_id": "a", "cost": 1.5}, {"account_id": "b", "cost": 2.0}]


def test_a_dataset_in_another_location_is_refused(client: bigquery.Client) -> None:
    wh = new_warehouse(client)
    dataset = bigquery.Dataset(wh.dataset_id(SPEC.schema_name))
    dataset.location = "US"
    client.create_dataset(dataset)
    with pytest.raises(WarehouseError, match=r"is in location US, but the warehouse is configured for EU"):
        wh.ensure_table(SPEC)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.lists(operations(), min_size=1, max_size=4))
def test_replace_sequence_matches_in_memory_model_on_the_emulator(
    warehouse: BigQueryWarehouse, ops: list[dict[str, object]]
) -> None:
    check_replace_sequence(warehouse, ops)
