"""The BigQuery warehouse through the official client against a recording fake of the REST API: the
tables it creates, the staged load, the one transaction per replace, schema evolution, errors, timeouts."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
from google.cloud import bigquery

from mdp.config import PipelineConfig
from mdp.errors import ConfigError, SchemaConflictError, ScopeError, WarehouseError
from mdp.schema import QuarantinedRow, TableSpec
from tests.integration.bigquery.conftest import LOCATION, PROJECT
from tests.integration.bigquery.fake_bigquery import FakeBigQuery
from warehouse import from_config
from warehouse.base import LoadContext, Scope
from warehouse.bigquery import BigQueryWarehouse

D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)
SPEC = TableSpec(
    "raw_test.perf",
    pa.schema(
        [
            pa.field("account_id", pa.string(), nullable=False),
            pa.field("date", pa.date32(), nullable=False),
            pa.field("campaign_id", pa.string()),
            pa.field("ad_id", pa.string()),
            pa.field("cost", pa.float64()),
        ]
    ),
    account_column="account_id",
    date_column="date",
    cluster_by=("campaign_id",),
    description="test performance rows",
    column_docs={"cost": "spend in account currency"},
)
DATASET = "mdp_raw_test"
TABLE_PATH = f"/bigquery/v2/projects/{PROJECT}/datasets/{DATASET}/tables"


def rows(account: str, day: dt.date, *costs: float) -> list[dict[str, object]]:
    return [
        {"account_id": account, "date": day, "campaign_id": "c1", "ad_id": f"ad{i}", "cost": c}
        for i, c in enumerate(costs)
    ]


def table_resource(fake: FakeBigQuery, dataset: str, table: str) -> dict[str, Any]:
    return fake.tables[(PROJECT, dataset, table)]


def only_script(fake: FakeBigQuery) -> dict[str, Any]:
    jobs = fake.inserted_jobs("query")
    assert len(jobs) == 1, [j["configuration"]["query"]["query"] for j in jobs]
    return jobs[0]


def parameters(job: dict[str, Any]) -> dict[str, Any]:
    """Query parameters by name, as plain values (structs as dicts)."""

    def value(v: dict[str, Any]) -> Any:
        if "arrayValues" in v:
            return [value(x) for x in v["arrayValues"]]
        if "structValues" in v:
            return {k: value(x) for k, x in v["structValues"].items()}
        return v.get("value")

    return {p["name"]: value(p["parameterValue"]) for p in job["configuration"]["query"]["queryParameters"]}


def test_tables_are_day_partitioned_clustered_and_in_the_configured_location(
    warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery
) -> None:
    warehouse.ensure_table(SPEC)
    warehouse.ensure_ops()
    created = [r.json() for r in fake_bigquery.calls("POST") if r.path.endswith("/datasets")]
    datasets = {d["datasetReference"]["datasetId"]: d for d in created}
    assert set(datasets) == {"mdp_raw_test", "mdp_ops"}
    assert {d["location"] for d in datasets.values()} == {LOCATION}

    perf = table_resource(fake_bigquery, DATASET, "perf")
    assert perf["timePartitioning"] == {"type": "DAY", "field": "date"}
    assert perf["clustering"] == {"fields": ["account_id", "campaign_id"]}
    assert perf["description"] == "test performance rows"
    fields = {f["name"]: f for f in perf["schema"]["fields"]}
    assert [(f["name"], f["type"], f["mode"]) for f in perf["schema"]["fields"]] == [
        ("account_id", "STRING", "REQUIRED"),
        ("date", "DATE", "REQUIRED"),
        ("campaign_id", "STRING", "NULLABLE"),
        ("ad_id", "STRING", "NULLABLE"),
        ("cost", "FLOAT", "NULLABLE"),
        ("_run_id", "STRING", "NULLABLE"),
        ("_extracted_at", "TIMESTAMP", "NULLABLE"),
        ("_loaded_at", "TIMESTAMP", "NULLABLE"),
    ]
    assert fields["cost"]["description"] == "spend in account currency"

    log = table_resource(fake_bigquery, "mdp_ops", "load_log")
    assert log["timePartitioning"] == {"type": "DAY", "field": "day"}
    assert log["clustering"] == {"fields": ["connector", "table_name", "account_id"]}
    assert [f["name"] for f in log["schema"]["fields"]][:5] == [
        "connector",
        "table_name",
        "account_id",
        "day",
        "rows",
    ]

    before = len(fake_bigquery.requests)
    warehouse.ensure_table(SPEC)  # idempotent: the dataset is cached, the table read and left alone
    assert [(r.method, r.path) for r in fake_bigquery.requests[before:]] == [("GET", f"{TABLE_PATH}/perf")]


def test_an_existing_dataset_is_used_as_is_but_must_be_in_the_configured_location(
    bq_client: bigquery.Client, fake_bigquery: FakeBigQuery
) -> None:
    fake_bigquery.add_dataset(PROJECT, "raw_test", "eu")
    BigQueryWarehouse(PROJECT, LOCATION, client=bq_client).ensure_table(SPEC)
    assert [r for r in fake_bigquery.calls("POST") if r.path.endswith("/datasets")] == []  # no create needed

    fake_bigquery.add_dataset(PROJECT, "us_raw_test", "US")
    with pytest.raises(WarehouseError, match=r"dataset mdp-test-project.us_raw_test is in location US, but the "):
        BigQueryWarehouse(PROJECT, LOCATION, dataset_prefix="us_", client=bq_client).ensure_table(SPEC)


def test_check_ready_reads_the_ops_dataset_only_and_names_the_key_it_fails_on(
    bq_client: bigquery.Client, fake_bigquery: FakeBigQuery, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.bigquery.fake_bigquery import ApiError

    wh = BigQueryWarehouse(PROJECT, LOCATION, dataset_prefix="mdp_", client=bq_client)
    wh.check_ready()  # no dataset yet: the first load creates it
    assert [(r.method, r.path) for r in fake_bigquery.requests] == [
        ("GET", f"/bigquery/v2/projects/{PROJECT}/datasets/mdp_ops")
    ]
    assert fake_bigquery.datasets == {}  # nothing created

    fake_bigquery.add_dataset(PROJECT, "mdp_ops", "eu")
    wh.check_ready()
    fake_bigquery.add_dataset(PROJECT, "us_ops", "US")
    with pytest.raises(
        WarehouseError, match=rf"^warehouse.location: dataset {PROJECT}.us_ops is in location US, not EU"
    ):
        BigQueryWarehouse(PROJECT, LOCATION, dataset_prefix="us_", client=bq_client).check_ready()

    def denied(project: str, dataset: str) -> dict[str, Any]:
        raise ApiError(403, "accessDenied", f"Access Denied: Dataset {project}:{dataset}: Permission denied")

    monkeypatch.setattr(fake_bigquery, "_dataset", denied)
    with pytest.raises(WarehouseError) as refused:
        wh.check_ready()
    assert str(refused.value).startswith(
        f"warehouse.project: cannot read dataset {PROJECT}.mdp_ops (403 Access Denied: Dataset {PROJECT}:mdp_ops"
    )
    assert "roles/bigquery.dataEditor" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_replace_stages_the_rows_then_runs_one_transaction_then_drops_the_staging_table(
    warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery
) -> None:
    context = LoadContext("google_ads", "run-42")
    result = warehouse.replace_partitions(
        SPEC, rows("a", D1, 1, 2) + rows("b", D2, 3), Scope.of(["a", "b"], D1, D2), context
    )
    assert result.rows == 3
    assert result.rows_per_unit == {("a", D1): 2, ("a", D2): 0, ("b", D1): 0, ("b", D2): 1}

    # The staging table: unique name, all columns nullable, expires on its own, created before the upload.
    staging_create = next(
        r
        for r in fake_bigquery.calls("POST", f"{TABLE_PATH}")
        if "mdp_staging__" in r.json()["tableReference"]["tableId"]
    )
    staging = staging_create.json()
    staging_id = staging["tableReference"]["tableId"]
    assert staging_id.startswith("mdp_staging__perf__")
    assert {f["mode"] for f in staging["schema"]["fields"]} == {"NULLABLE"}
    expires = dt.datetime.fromtimestamp(int(staging["expirationTime"]) / 1000, dt.UTC)
    assert dt.timedelta(hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=24)
    assert "timePartitioning" not in staging

    # The load job: Parquet into the staging table, in the configured location, with a server-side timeout.
    (load,) = fake_bigquery.inserted_jobs("load")
    config = load["configuration"]["load"]
    assert config["destinationTable"] == {"projectId": PROJECT, "datasetId": DATASET, "tableId": staging_id}
    assert config["sourceFormat"] == "PARQUET"
    assert config["writeDisposition"] == "WRITE_TRUNCATE"
    assert config["createDisposition"] == "CREATE_NEVER"
    assert load["configuration"]["jobTimeoutMs"] == "20000"
    assert load["jobReference"]["location"] == LOCATION
    assert load["jobReference"]["jobId"].startswith("mdp_stage_")
    (upload,) = fake_bigquery.uploads
    assert upload.upload_type == "resumable"  # whatever the size (bqemulator refuses multipart data typed */*)
    staged = upload.table()
    assert staged.column_names == SPEC.full_schema().names
    assert staged.select(["account_id", "date", "cost"]).to_pylist() == [
        {"account_id": "a", "date": D1, "cost": 1.0},
        {"account_id": "a", "date": D1, "cost": 2.0},
        {"account_id": "b", "date": D2, "cost": 3.0},
    ]
    assert set(staged.column("_run_id").to_pylist()) == {"run-42"}
    assert staged.column("_loaded_at").null_count == 0
    assert staged.column("_extracted_at").null_count == 0

    # ONE query job: the transaction script.
    job = only_script(fake_bigquery)
    assert job["jobReference"]["location"] == LOCATION
    assert job["configuration"]["jobTimeoutMs"] == "20000"
    assert job["configuration"]["query"]["useLegacySql"] is False
    assert job["configuration"]["query"]["query"] == "\n".join(
        [
            "BEGIN TRANSACTION;",
            "DELETE FROM `mdp-test-project.mdp_raw_test.perf` AS t",
            "WHERE t.`date` IN (DATE '2026-03-01', DATE '2026-03-02')",
            "  AND EXISTS (SELECT 1 FROM UNNEST(@units) AS u WHERE u.account_id = t.`account_id` "
            "AND u.day = t.`date`);",
            "INSERT INTO `mdp-test-project.mdp_raw_test.perf` (`account_id`, `date`, `campaign_id`, `ad_id`, "
            "`cost`, `_run_id`, `_extracted_at`, `_loaded_at`)",
            "SELECT `account_id`, `date`, `campaign_id`, `ad_id`, `cost`, `_run_id`, `_extracted_at`, "
            f"`_loaded_at` FROM `mdp-test-project.mdp_raw_test.{staging_id}`;",
            "DELETE FROM `mdp-test-project.mdp_raw_test.perf__quarantine` AS t",
            "WHERE t.`day` IN (DATE '2026-03-01', DATE '2026-03-02')",
            "  AND EXISTS (SELECT 1 FROM UNNEST(@units) AS u WHERE u.account_id = t.`account_id` AND u.day = t.`day`);",
            "INSERT INTO `mdp-test-project.mdp_ops.load_log` (`connector`, `table_name`, `account_id`, `day`, "
            "`rows`, `quarantined`, `status`, `run_id`, `started_at`, `finished_at`, `error`)",
            "SELECT @connector, @table_name, u.account_id, u.day, u.n_rows, u.n_quarantined, @status, @run_id, "
            "@started_at, @loaded_at, @error",
            "FROM UNNEST(@units) AS u;",
            "COMMIT TRANSACTION;",
        ]
    )
    params = parameters(job)
    assert params["units"] == [
        {"account_id": "a", "day": "2026-03-01", "n_rows": "2", "n_quarantined": "0"},
        {"account_id": "a", "day": "2026-03-02", "n_rows": "0", "n_quarantined": "0"},
        {"account_id": "b", "day": "2026-03-01", "n_rows": "0", "n_quarantined": "0"},
        {"account_id": "b", "day": "2026-03-02", "n_rows": "1", "n_quarantined": "0"},
    ]
    assert {k: params[k] for k in ("connector", "table_name", "run_id", "status", "error")} == {
        "connector": "google_ads",
        "table_name": "raw_test.perf",
        "run_id": "run-42",
        "status": "success",
        "error": None,
    }
    assert "quarantine" not in params

    # Order: upload (a resumable session: start, data), then the transaction, then the staging table is dropped.
    order = [
        (r.method, r.path.rsplit("/", 1)[-1])
        for r in fake_bigquery.requests
        if r.path.endswith("/jobs") or r.method == "DELETE"
    ]
    assert order == [("POST", "jobs"), ("PUT", "jobs"), ("POST", "jobs"), ("DELETE", staging_id)]
    assert fake_bigquery.requests[-1].method == "DELETE"
    assert (PROJECT, DATASET, staging_id) not in fake_bigquery.tables


def test_units_without_rows_need_no_staging(warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery) -> None:
    result = warehouse.replace_partitions(SPEC, [], Scope.of(["a"], D1, D1), LoadContext("t", "r1"))
    assert result.rows_per_unit == {("a", D1): 0}
    assert fake_bigquery.uploads == []
    assert fake_bigquery.calls("DELETE") == []
    sql = only_script(fake_bigquery)["configuration"]["query"]["query"]
    assert sql.startswith("BEGIN TRANSACTION;\nDELETE FROM `mdp-test-project.mdp_raw_test.perf` AS t")
    assert "INSERT INTO `mdp-test-project.mdp_raw_test.perf` " not in sql
    assert sql.endswith("COMMIT TRANSACTION;")


def test_quarantine_rows_are_replaced_with_their_units_and_counted(
    warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery
) -> None:
    bad = [QuarantinedRow("a", D1, "negative cost", '{"cost": -1}'), QuarantinedRow("a", D1, "missing ad id")]
    warehouse.replace_partitions(SPEC, rows("a", D1, 1), Scope.of(["a"], D1, D2), LoadContext("t", "r1"), bad)
    quarantine = table_resource(fake_bigquery, DATASET, "perf__quarantine")
    assert quarantine["timePartitioning"] == {"type": "DAY", "field": "day"}
    assert quarantine["clustering"] == {"fields": ["account_id"]}
    job = only_script(fake_bigquery)
    sql = job["configuration"]["query"]["query"]
    delete = sql.index("DELETE FROM `mdp-test-project.mdp_raw_test.perf__quarantine`")
    insert = sql.index("INSERT INTO `mdp-test-project.mdp_raw_test.perf__quarantine` (`account_id`, `day`, `reason`")
    assert delete < insert < sql.index("COMMIT TRANSACTION;")
    assert "FROM UNNEST(@quarantine) AS q;" in sql
    params = parameters(job)
    assert params["quarantine"] == [
        {"account_id": "a", "day": "2026-03-01", "reason": "negative cost", "record": '{"cost": -1}'},
        {"account_id": "a", "day": "2026-03-01", "reason": "missing ad id", "record": None},
    ]
    assert [(u["day"], u["n_rows"], u["n_quarantined"]) for u in params["units"]] == [
        ("2026-03-01", "1", "2"),
        ("2026-03-02", "0", "0"),
    ]


def test_rows_outside_the_scope_are_rejected_before_anything_is_sent(
    warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery
) -> None:
    with pytest.raises(
        ScopeError,
        match=r"outside the load scope, e.g. \[\('b', datetime.date\(2026, 3, 1\)\)\]; nothing was changed",
    ):
        warehouse.replace_partitions(
            SPEC, rows("a", D1, 9) + rows("b", D1, 9), Scope.of(["a"], D1, D1), LoadContext("t", "r2")
        )
    with pytest.raises(ScopeError, match="quarantined rows outside the load scope"):
        warehouse.replace_partitions(
            SPEC, [], Scope.of(["a"], D1, D1), LoadContext("t", "r3"), [QuarantinedRow("b", D1, "x")]
        )
    assert fake_bigquery.requests == []


def test_null_keys_bad_types_and_unknown_columns_fail_before_anything_is_sent(
    warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery
) -> None:
    scope, context = Scope.of(["a"], D1, D1), LoadContext("t", "r")
    with pytest.raises(WarehouseError, match=r"column account_id: 1 null value\(s\) in a required column"):
        warehouse.replace_partitions(SPEC, [{"account_id": None, "date": D1, "cost": 1.0}], scope, context)
    with pytest.raises(WarehouseError, match="rows do not match the declared schema"):
        warehouse.replace_partitions(SPEC, [{"account_id": "a", "date": D1, "cost": "12,5"}], scope, context)
    with pytest.raises(WarehouseError, match=r"rows carry columns the table does not declare: \['clicks'\]"):
        warehouse.replace_partitions(SPEC, [{"account_id": "a", "date": D1, "clicks": 3}], scope, context)
    assert fake_bigquery.requests == []


def test_a_batch_iterator_failing_midway_sends_nothing(
    warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery
) -> None:
    def batches() -> Iterator[pa.Table]:
        yield pa.Table.from_pylist(rows("a", D1, 7, 8), schema=SPEC.schema)
        raise ConnectionError("extraction died after the first batch")

    with pytest.raises(ConnectionError):
        warehouse.replace_partitions(SPEC, batches(), Scope.of(["a"], D1, D2), LoadContext("t", "r2"))
    assert fake_bigquery.requests == []


def test_batches_are_streamed_into_one_staged_file(warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery) -> None:
    def batches() -> Iterator[pa.RecordBatch]:
        for day in (D1, D2, D3):
            yield pa.RecordBatch.from_pylist(rows("a", day, 1, 2), schema=SPEC.schema)

    result = warehouse.replace_partitions(SPEC, batches(), Scope.of(["a"], D1, D3), LoadContext("t", "r"))
    assert result.rows_per_unit == {("a", D1): 2, ("a", D2): 2, ("a", D3): 2}
    (upload,) = fake_bigquery.uploads
    assert upload.table().num_rows == 6


def test_a_large_load_goes_through_a_resumable_upload(
    warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery
) -> None:
    n = 120_000
    table = pa.table(
        {
            "account_id": pa.array(["a"] * n),
            "date": pa.array([D1] * n, pa.date32()),
            "ad_id": pa.array([os.urandom(24).hex() for _ in range(n)]),
        }
    )
    warehouse.replace_partitions(SPEC, table, Scope.of(["a"], D1, D1), LoadContext("t", "big"))
    (upload,) = fake_bigquery.uploads
    assert upload.upload_type == "resumable"
    assert len(upload.data) > 5 * 1024 * 1024
    assert upload.table().num_rows == n
    assert fake_bigquery.calls("PUT", "/upload/")  # the session's data chunk(s)


def test_a_new_nullable_column_is_added_by_a_schema_patch(
    warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery
) -> None:
    warehouse.ensure_table(SPEC)
    warehouse.ensure_table(SPEC)
    assert fake_bigquery.calls("PATCH") == []
    wider = TableSpec(
        SPEC.name,
        SPEC.schema.append(pa.field("reach", pa.int64(), nullable=False)),
        "account_id",
        "date",
        column_docs={"reach": "unique people reached"},
    )
    warehouse.replace_partitions(
        wider,
        [{"account_id": "a", "date": D2, "cost": 2.0, "reach": 7}],
        Scope.of(["a"], D2, D2),
        LoadContext("t", "r2"),
    )
    (patch,) = fake_bigquery.calls("PATCH", "/tables/perf")
    assert patch.headers.get("if-match")  # optimistic: a concurrent change is detected, not overwritten
    fields = patch.json()["schema"]["fields"]
    assert fields[-1] == {
        "name": "reach",
        "type": "INTEGER",
        "mode": "NULLABLE",
        "description": "unique people reached",
    }
    assert [f["name"] for f in fields[:-1]] == SPEC.full_schema().names  # existing order kept
    assert "`reach`" in only_script(fake_bigquery)["configuration"]["query"]["query"]


def test_a_relaxed_column_becomes_nullable(warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery) -> None:
    strict = TableSpec(
        SPEC.name, SPEC.schema.set(3, pa.field("ad_id", pa.string(), nullable=False)), "account_id", "date"
    )
    warehouse.ensure_table(strict)
    warehouse.ensure_table(SPEC)
    (patch,) = fake_bigquery.calls("PATCH", "/tables/perf")
    modes = {f["name"]: f["mode"] for f in patch.json()["schema"]["fields"]}
    assert modes["ad_id"] == "NULLABLE"
    assert modes["account_id"] == "REQUIRED"


def test_an_incompatible_type_change_names_table_column_and_types(
    warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery
) -> None:
    warehouse.ensure_table(SPEC)
    changed = TableSpec(
        SPEC.name,
        SPEC.schema.set(SPEC.schema.get_field_index("cost"), pa.field("cost", pa.string())),
        "account_id",
        "date",
    )
    with pytest.raises(SchemaConflictError) as info:
        warehouse.replace_partitions(changed, [], Scope.of(["a"], D1, D1), LoadContext("t", "r"))
    assert str(info.value).startswith(
        "table raw_test.perf, column cost: existing type FLOAT cannot take the declared type STRING "
        "(BigQuery table mdp-test-project.mdp_raw_test.perf)"
    )
    assert fake_bigquery.calls("PATCH") == []
    assert fake_bigquery.inserted_jobs() == []


def test_a_compatible_narrower_type_is_cast_on_insert(
    warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery
) -> None:
    warehouse.ensure_table(SPEC)
    narrower = TableSpec(
        SPEC.name,
        SPEC.schema.set(SPEC.schema.get_field_index("cost"), pa.field("cost", pa.int64())),
        "account_id",
        "date",
    )
    warehouse.replace_partitions(
        narrower, [{"account_id": "a", "date": D1, "cost": 3}], Scope.of(["a"], D1, D1), LoadContext("t", "r")
    )
    assert "CAST(`cost` AS FLOAT64)" in only_script(fake_bigquery)["configuration"]["query"]["query"]
    assert fake_bigquery.calls("PATCH") == []


def test_a_failed_transaction_raises_and_still_drops_the_staging_table(
    warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery
) -> None:
    fake_bigquery.fail_query("BEGIN TRANSACTION", "invalidQuery", "Query error: division by zero at [7:1]")
    with pytest.raises(WarehouseError, match=r"raw_test.perf: load failed, nothing was changed: .*division by zero"):
        warehouse.replace_partitions(SPEC, rows("a", D1, 1), Scope.of(["a"], D1, D1), LoadContext("t", "r"))
    (delete,) = fake_bigquery.calls("DELETE")
    assert "/tables/mdp_staging__perf__" in delete.path
    assert [k for k in fake_bigquery.tables if "staging" in k[2]] == []


def test_a_failed_staging_load_changes_nothing(warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery) -> None:
    fake_bigquery.load_error = {
        "reason": "invalid",
        "message": "Error while reading data, error message: bad file",
    }
    with pytest.raises(WarehouseError, match=r"raw_test.perf: staging load failed, nothing was changed: .*bad file"):
        warehouse.replace_partitions(SPEC, rows("a", D1, 1), Scope.of(["a"], D1, D1), LoadContext("t", "r"))
    assert fake_bigquery.inserted_jobs("query") == []
    (delete,) = fake_bigquery.calls("DELETE")
    assert "/tables/mdp_staging__perf__" in delete.path


def test_a_transaction_aborted_by_a_concurrent_update_is_retried(
    warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("warehouse.bigquery.time.sleep", sleeps.append)
    message = "Transaction is aborted due to concurrent update against table mdp-test-project.mdp_raw_test.perf"
    fake_bigquery.fail_query("BEGIN TRANSACTION", "invalidQuery", message, times=2)
    warehouse.replace_partitions(SPEC, rows("a", D1, 1), Scope.of(["a"], D1, D1), LoadContext("t", "r"))
    scripts = fake_bigquery.query_sql()
    assert len(scripts) == 3
    assert len(set(scripts)) == 1  # the same script against the same staging table
    assert len(sleeps) == 2
    assert len(fake_bigquery.uploads) == 1

    fake_bigquery.fail_query("BEGIN TRANSACTION", "invalidQuery", message, times=None)
    with pytest.raises(WarehouseError, match=r"load failed, nothing was changed: .*concurrent update"):
        warehouse.replace_partitions(SPEC, rows("a", D1, 1), Scope.of(["a"], D1, D1), LoadContext("t", "r"))
    assert len(fake_bigquery.query_sql()) == 3 + warehouse.transaction_attempts


def test_a_job_that_outlives_its_timeout_is_cancelled(bq_client: bigquery.Client, fake_bigquery: FakeBigQuery) -> None:
    warehouse = BigQueryWarehouse(PROJECT, LOCATION, client=bq_client, job_timeout=0.5)
    fake_bigquery.stall_query("BEGIN TRANSACTION")
    with pytest.raises(WarehouseError, match=r"did not finish within 0.5s and was cancelled"):
        warehouse.replace_partitions(SPEC, [], Scope.of(["a"], D1, D1), LoadContext("t", "r"))
    (cancel,) = fake_bigquery.calls("POST", "/cancel")
    assert "/jobs/mdp_replace_" in cancel.path
    assert fake_bigquery.inserted_jobs("query")[0]["configuration"]["jobTimeoutMs"] == "500"


def test_a_job_that_lands_despite_its_cancel_is_reported_as_loaded(
    bq_client: bigquery.Client, fake_bigquery: FakeBigQuery
) -> None:
    """The timeout fires while the COMMIT is under way: the cancel comes too late and the job succeeds.
    The warehouse checks the job's final state and reports the load, not a failure."""
    warehouse = BigQueryWarehouse(PROJECT, LOCATION, client=bq_client, job_timeout=0.5)
    fake_bigquery.stall_query("BEGIN TRANSACTION", lands_on_cancel=True)
    result = warehouse.replace_partitions(SPEC, [], Scope.of(["a"], D1, D1), LoadContext("t", "r"))
    assert result.units == 1
    assert len(fake_bigquery.calls("POST", "/cancel")) == 1


def test_log_failure_appends_failed_units(warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery) -> None:
    warehouse.log_failure(SPEC, Scope.of(["b"], D1, D2), LoadContext("google_ads", "run-43"), "PERMISSION_DENIED")
    job = only_script(fake_bigquery)
    sql = job["configuration"]["query"]["query"]
    assert sql.startswith("INSERT INTO `mdp-test-project.mdp_ops.load_log` (`connector`")
    assert "TRANSACTION" not in sql
    params = parameters(job)
    assert (params["status"], params["error"], params["run_id"]) == ("failed", "PERMISSION_DENIED", "run-43")
    assert [(u["account_id"], u["day"], u["n_rows"]) for u in params["units"]] == [
        ("b", "2026-03-01", "0"),
        ("b", "2026-03-02", "0"),
    ]
    assert ("mdp-test-project", "mdp_raw_test", "perf") not in fake_bigquery.tables  # data untouched


def test_row_counts_filter_with_parameters(warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery) -> None:
    assert warehouse.row_counts(SPEC) == {}  # no table yet: no query job
    assert fake_bigquery.inserted_jobs() == []
    warehouse.ensure_table(SPEC)
    fake_bigquery.on_query(
        r"COUNT\(\*\)",
        [("account_id", "STRING"), ("date", "DATE"), ("n", "INTEGER")],
        [("a", D1, 3), ("b", D2, 1)],
    )
    counts = warehouse.row_counts(SPEC, start=D1, end=D2, accounts=["a", "b"])
    assert counts == {("a", D1): 3, ("b", D2): 1}
    job = only_script(fake_bigquery)
    assert job["configuration"]["query"]["query"] == (
        "SELECT `account_id`, `date`, COUNT(*) FROM `mdp-test-project.mdp_raw_test.perf` "
        "WHERE TRUE AND `date` >= @start AND `date` <= @end AND `account_id` IN UNNEST(@accounts) GROUP BY 1, 2"
    )
    assert parameters(job) == {"start": "2026-03-01", "end": "2026-03-02", "accounts": ["a", "b"]}


def test_query_and_query_arrow_with_positional_parameters_and_paging(
    warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery
) -> None:
    data = [(f"acc{i}", D1, i * 1.5) for i in range(25)]
    fake_bigquery.on_query("FROM mart", [("account_id", "STRING"), ("day", "DATE"), ("spend", "FLOAT")], data)
    sql = "SELECT account_id, day, spend FROM mart WHERE day = ? AND spend >= ? AND account_id IN UNNEST(?)"
    assert warehouse.query(sql, [D1, 0.0, ["acc1"]]) == data
    job = fake_bigquery.inserted_jobs("query")[0]
    assert job["configuration"]["query"]["parameterMode"] == "POSITIONAL"
    assert [p["parameterType"] for p in job["configuration"]["query"]["queryParameters"]] == [
        {"type": "DATE"},
        {"type": "FLOAT64"},
        {"type": "ARRAY", "arrayType": {"type": "STRING"}},
    ]
    table = warehouse.query_arrow("SELECT account_id, day, spend FROM mart")
    assert table.schema.types == [pa.string(), pa.date32(), pa.float64()]
    assert table.num_rows == 25


def test_query_errors_are_warehouse_errors(warehouse: BigQueryWarehouse, fake_bigquery: FakeBigQuery) -> None:
    fake_bigquery.fail_query("nope", "invalidQuery", "Syntax error: Unexpected identifier")
    with pytest.raises(WarehouseError, match=r"query failed: .*Syntax error"):
        warehouse.query("SELECT nope")


def test_from_config_builds_a_lazy_warehouse(monkeypatch: pytest.MonkeyPatch, bq_client: bigquery.Client) -> None:
    config = PipelineConfig(
        warehouse={
            "type": "bigquery",
            "project": "acme-marketing",
            "location": "europe-west1",
            "dataset_prefix": "dev_",
            "gcp_credentials_block": "gcp-prod",
        }
    )
    wh = from_config(config)
    assert isinstance(wh, BigQueryWarehouse)
    assert (wh.project, wh.location, wh.dataset_prefix, wh.credentials_block) == (
        "acme-marketing",
        "europe-west1",
        "dev_",
        "gcp-prod",
    )
    assert wh._client is None  # nothing resolved, nothing called yet
    assert repr(wh) == "BigQueryWarehouse(project='acme-marketing', location='europe-west1', dataset_prefix='dev_')"
    assert wh.table_id("raw_google_ads.ad_performance") == "acme-marketing.dev_raw_google_ads.ad_performance"

    loaded: list[tuple[str, dict[str, str]]] = []

    class Block:
        def get_bigquery_client(self, **kwargs: str) -> bigquery.Client:
            loaded.append(("client", kwargs))
            return bq_client

    def load(name: str, _sync: bool | None = None) -> Block:
        loaded.append(("load", {"name": name, "sync": str(_sync)}))  # sync even in an async flow's thread
        return Block()

    monkeypatch.setitem(sys.modules, "prefect_gcp", SimpleNamespace(GcpCredentials=SimpleNamespace(load=load)))
    assert wh.client is bq_client
    assert wh.client is bq_client  # built once
    assert loaded == [
        ("load", {"name": "gcp-prod", "sync": "True"}),
        ("client", {"project": "acme-marketing", "location": "europe-west1"}),
    ]


def test_credential_errors_name_the_setting_without_leaking_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(name: str, _sync: bool | None = None) -> None:
        marker = "-----BEGIN " + "PRIVATE KEY-----SECRET"  # built, so no scanner mistakes it for a real key
        raise ValueError(f"service_account_info: input_value={{'private_key': '{marker}'}}")

    monkeypatch.setitem(sys.modules, "prefect_gcp", SimpleNamespace(GcpCredentials=SimpleNamespace(load=load)))
    with pytest.raises(ConfigError, match=r"gcp_credentials_block: .*'gcp-prod' \(ValueError\)") as info:
        _ = BigQueryWarehouse("acme-marketing", "EU", credentials_block="gcp-prod").client
    assert "SECRET" not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/adc.json")
    with pytest.raises(ConfigError, match="no Google credentials found"):
        _ = BigQueryWarehouse("acme-marketing", "EU").client
