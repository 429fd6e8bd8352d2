"""The production warehouse: BigQuery, a dataset per schema, a staged load and one transaction per replace."""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import logging
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq
from google.api_core import exceptions as google_exceptions
from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError
from google.cloud import bigquery

from mdp.errors import ConfigError, SchemaConflictError, ScopeError, WarehouseError
from mdp.schema import QuarantinedRow, TableSpec
from warehouse.base import (
    LOAD_LOG,
    LOAD_LOG_SCHEMA,
    QUARANTINE_SCHEMA,
    LoadContext,
    ReplaceResult,
    RowsInput,
    Scope,
    Unit,
    Warehouse,
)
from warehouse.rows import check_quarantine_scope, conformed_batches

logger = logging.getLogger(__name__)

QueryParameter = bigquery.ScalarQueryParameter | bigquery.ArrayQueryParameter | bigquery.StructQueryParameter

# BigQuery's legacy and standard spellings of the same column type.
_ALIASES = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN", "BIGDECIMAL": "BIGNUMERIC"}
# Existing column type -> declared types whose values it holds without loss (inserted with a CAST).
_COMPATIBLE = {"FLOAT": {"INTEGER"}, "NUMERIC": {"INTEGER"}, "BIGNUMERIC": {"INTEGER", "NUMERIC"}}
_SQL_TYPES = {"FLOAT": "FLOAT64", "INTEGER": "INT64", "BOOLEAN": "BOOL"}
_MAX_CLUSTERING_FIELDS = 4
_CONCURRENT_UPDATE = "concurrent update"
# After a timeout and a cancel, how long to wait for the job's final state.
CANCEL_GRACE_SECONDS = 120.0


def bigquery_type(arrow_type: pa.DataType) -> str:
    """The BigQuery column type (API spelling) for an Arrow type (the subset raw tables use)."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "STRING"
    if pa.types.is_integer(arrow_type) and not pa.types.is_uint64(arrow_type):
        return "INTEGER"
    if pa.types.is_floating(arrow_type):
        return "FLOAT"
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_date32(arrow_type):
        return "DATE"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP" if arrow_type.tz else "DATETIME"
    if pa.types.is_decimal(arrow_type):
        fits_numeric = arrow_type.scale <= 9 and arrow_type.precision - arrow_type.scale <= 29
        return "NUMERIC" if fits_numeric else "BIGNUMERIC"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "BYTES"
    raise WarehouseError(f"no BigQuery column type for Arrow type {arrow_type}")


def quote(name: str) -> str:
    """A backquoted identifier or path: `project.dataset.table` or `column`."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _normal(field_type: str) -> str:
    return _ALIASES.get(field_type.upper(), field_type.upper())


def _field(name: str, field_type: str, mode: str, description: str | None = None) -> bigquery.SchemaField:
    if description is None:
        return bigquery.SchemaField(name, field_type, mode=mode)
    return bigquery.SchemaField(name, field_type, mode=mode, description=description)


def _date_literals(days: Sequence[dt.date]) -> str:
    return ", ".join(f"DATE '{day.isoformat()}'" for day in days)


class BigQueryWarehouse(Warehouse):
    """BigQuery. TableSpec `raw_x.t` lives in dataset `<dataset_prefix>raw_x`, table `t`.

    A replace stages the rows client-side (validated, Parquet), loads them into a staging table that
    expires on its own, then runs one multi-statement transaction (delete the scope's units, insert the
    staged rows, replace the quarantine rows, log each unit) and drops the staging table. Nothing calls
    Google before the first operation: the client is built on first use.
    """

    def __init__(
        self,
        project: str,
        location: str,
        dataset_prefix: str = "",
        credentials: Any = None,
        client: bigquery.Client | None = None,
        *,
        credentials_block: str | None = None,
        api_timeout: float = 60.0,
        job_timeout: float = 900.0,
        staging_expiration: dt.timedelta = dt.timedelta(hours=24),
        transaction_attempts: int = 5,
    ) -> None:
        self.project = project
        self.location = location
        self.dataset_prefix = dataset_prefix
        self.credentials_block = credentials_block
        self.api_timeout = api_timeout
        self.job_timeout = job_timeout
        self.staging_expiration = staging_expiration
        self.transaction_attempts = transaction_attempts
        self._credentials = credentials
        self._client = client
        self._lock = threading.Lock()
        self._datasets: set[str] = set()

    def __repr__(self) -> str:
        return (
            f"BigQueryWarehouse(project={self.project!r}, location={self.location!r}, "
            f"dataset_prefix={self.dataset_prefix!r})"
        )

    @property
    def client(self) -> bigquery.Client:
        """The BigQuery client, built (and credentials resolved) on first use."""
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self) -> bigquery.Client:
        if self.credentials_block:
            from prefect_gcp import GcpCredentials

            try:
                block = GcpCredentials.load(self.credentials_block, _sync=True)  # sync in an async flow too
                client: bigquery.Client = block.get_bigquery_client(project=self.project, location=self.location)
            except Exception as exc:
                # Only the type: a block validation error would echo the key material it was given.
                raise ConfigError(
                    f"warehouse.gcp_credentials_block: cannot build a BigQuery client from GcpCredentials "
                    f"block {self.credentials_block!r} ({type(exc).__name__})"
                ) from None
            return client
        try:
            return bigquery.Client(project=self.project, location=self.location, credentials=self._credentials)
        except DefaultCredentialsError as exc:
            raise ConfigError(
                "warehouse: no Google credentials found. Set warehouse.gcp_credentials_block to a "
                "prefect-gcp GcpCredentials block, or provide Application Default Credentials (gcloud auth "
                f"application-default login, GOOGLE_APPLICATION_CREDENTIALS) ({type(exc).__name__})"
            ) from None

    def dataset_id(self, schema_name: str) -> str:
        """`project.<prefix><schema>` for a TableSpec schema name such as `raw_google_ads`."""
        return f"{self.project}.{self.dataset_prefix}{schema_name}"

    def table_id(self, name: str) -> str:
        """`project.<prefix>schema.table` for a `schema.table` name."""
        schema_name, table_name = name.split(".")
        return f"{self.dataset_id(schema_name)}.{table_name}"

    def check_ready(self) -> None:
        """One cheap read: the client is built (credentials resolved) and the `<prefix>ops` dataset is read.
        A missing dataset passes (the first load creates it, which needs `bigquery.datasets.create`); a
        dataset the identity may not read, an unknown project, refused credentials, or a dataset in another
        location fail, as docs/bigquery.md ("Before a run") describes."""
        dataset_id = self.dataset_id(LOAD_LOG.split(".")[0])
        try:
            dataset = self.client.get_dataset(dataset_id, timeout=self.api_timeout)
        except google_exceptions.NotFound:
            return
        except google_exceptions.GoogleAPICallError as exc:
            detail = exc.errors[0].get("message") if exc.errors and isinstance(exc.errors[0], dict) else None
            message = str(detail or exc.message or type(exc).__name__).splitlines()[0]
            raise WarehouseError(
                f"warehouse.project: cannot read dataset {dataset_id} ({exc.code} {message}); the pipeline's "
                "identity needs roles/bigquery.dataEditor and roles/bigquery.jobUser (docs/bigquery.md, IAM)"
            ) from None
        except GoogleAuthError as exc:
            raise ConfigError(
                f"warehouse: Google refused the credentials ({type(exc).__name__}); check "
                "warehouse.gcp_credentials_block or the Application Default Credentials"
            ) from None
        if dataset.location and dataset.location.lower() != self.location.lower():
            raise WarehouseError(
                f"warehouse.location: dataset {dataset_id} is in location {dataset.location}, not "
                f"{self.location}: jobs cannot span locations"
            )

    def ensure_table(self, spec: TableSpec) -> None:
        self._ensure_spec(spec)

    def ensure_ops(self) -> None:
        self._ensure_load_log()

    def _ensure_spec(self, spec: TableSpec) -> dict[str, str]:
        return self._ensure(
            spec.name,
            spec.full_schema(),
            partition_by=spec.date_column,
            cluster_by=(spec.account_column, *spec.cluster_by),
            description=spec.description,
            docs=spec.column_docs,
        )

    def _ensure_quarantine(self, spec: TableSpec) -> None:
        self._ensure(
            spec.quarantine_name(),
            QUARANTINE_SCHEMA,
            partition_by="day",
            cluster_by=("account_id",),
            description=f"Rows rejected from {spec.name}, with the reason; replaced with their unit.",
        )

    def _ensure_load_log(self) -> None:
        self._ensure(
            LOAD_LOG,
            LOAD_LOG_SCHEMA,
            partition_by="day",
            cluster_by=("connector", "table_name", "account_id"),
            description="One row per (connector, table, account, day) load attempt.",
        )

    def _ensure_dataset(self, schema_name: str) -> None:
        dataset_id = self.dataset_id(schema_name)
        with self._lock:
            if dataset_id in self._datasets:
                return
        try:
            dataset = self.client.get_dataset(dataset_id, timeout=self.api_timeout)
        except google_exceptions.NotFound:
            wanted = bigquery.Dataset(dataset_id)
            wanted.location = self.location
            wanted.labels = {"managed_by": "mdp"}
            logger.info("creating dataset %s in %s", dataset_id, self.location)
            dataset = self._call(
                f"create dataset {dataset_id}",
                lambda: self.client.create_dataset(wanted, exists_ok=True, timeout=self.api_timeout),
            )
        except google_exceptions.GoogleAPICallError as exc:
            raise WarehouseError(f"cannot read dataset {dataset_id}: {exc.message}") from exc
        if dataset.location and dataset.location.lower() != self.location.lower():
            raise WarehouseError(
                f"dataset {dataset_id} is in location {dataset.location}, but the warehouse is configured "
                f"for {self.location} (warehouse.location): jobs cannot span locations"
            )
        with self._lock:
            self._datasets.add(dataset_id)

    def _ensure(
        self,
        name: str,
        schema: pa.Schema,
        *,
        partition_by: str,
        cluster_by: Sequence[str],
        description: str = "",
        docs: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Create the table (day-partitioned, clustered) or add its new nullable columns; its column types."""
        docs = docs or {}
        self._ensure_dataset(name.split(".")[0])
        table_id = self.table_id(name)
        for attempt in (1, 2):
            try:
                table = self.client.get_table(table_id, timeout=self.api_timeout)
            except google_exceptions.NotFound:
                return self._create(table_id, schema, partition_by, cluster_by, description, docs)
            except google_exceptions.GoogleAPICallError as exc:
                raise WarehouseError(f"cannot read table {table_id}: {exc.message}") from exc
            fields = self._evolved(name, table_id, list(table.schema), schema, docs)
            if fields is None:
                return {f.name: _normal(f.field_type) for f in table.schema}
            table.schema = fields
            try:
                self.client.update_table(table, ["schema"], timeout=self.api_timeout)
            except google_exceptions.PreconditionFailed:
                if attempt == 2:
                    raise WarehouseError(f"table {table_id} keeps changing under a schema update") from None
                continue  # another process changed the table first: look again
            except google_exceptions.GoogleAPICallError as exc:
                raise WarehouseError(f"cannot update the schema of {table_id}: {exc.message}") from exc
            return {f.name: _normal(f.field_type) for f in fields}
        raise AssertionError("unreachable")

    def _create(
        self,
        table_id: str,
        schema: pa.Schema,
        partition_by: str,
        cluster_by: Sequence[str],
        description: str,
        docs: Mapping[str, str],
    ) -> dict[str, str]:
        table = bigquery.Table(
            table_id,
            schema=[
                _field(f.name, bigquery_type(f.type), "NULLABLE" if f.nullable else "REQUIRED", docs.get(f.name))
                for f in schema
            ],
        )
        table.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY, field=partition_by)
        table.clustering_fields = list(dict.fromkeys(cluster_by))[:_MAX_CLUSTERING_FIELDS]
        if description:
            table.description = description
        logger.info("creating table %s (partitioned by %s)", table_id, partition_by)
        created = self._call(
            f"create table {table_id}",
            lambda: self.client.create_table(table, exists_ok=True, timeout=self.api_timeout),
        )
        return {f.name: _normal(f.field_type) for f in created.schema}

    @staticmethod
    def _evolved(
        name: str,
        table_id: str,
        fields: list[bigquery.SchemaField],
        schema: pa.Schema,
        docs: Mapping[str, str],
    ) -> list[bigquery.SchemaField] | None:
        """The table's fields with the declared new columns added and relaxed ones made nullable, or None
        when nothing changes. Raises SchemaConflictError on a type the existing column cannot hold."""
        existing = {f.name: i for i, f in enumerate(fields)}
        changed = False
        for declared in schema:
            wanted = bigquery_type(declared.type)
            index = existing.get(declared.name)
            if index is None:
                logger.info("adding column %s.%s %s", table_id, declared.name, wanted)
                fields.append(_field(declared.name, wanted, "NULLABLE", docs.get(declared.name)))
                changed = True
                continue
            have = fields[index]
            have_type = _normal(have.field_type)
            if have_type != wanted and wanted not in _COMPATIBLE.get(have_type, set()):
                raise SchemaConflictError(
                    f"table {name}, column {declared.name}: existing type {have_type} cannot take the "
                    f"declared type {wanted} (BigQuery table {table_id}). Migrate the column (or rename the "
                    "new field) instead of changing its type."
                )
            if have.mode == "REQUIRED" and declared.nullable:
                logger.info("relaxing column %s.%s to NULLABLE", table_id, declared.name)
                resource = have.to_api_repr()
                resource["mode"] = "NULLABLE"
                fields[index] = bigquery.SchemaField.from_api_repr(resource)
                changed = True
        return fields if changed else None

    def replace_partitions(
        self,
        spec: TableSpec,
        rows: RowsInput,
        scope: Scope,
        context: LoadContext,
        quarantine: Sequence[QuarantinedRow] = (),
    ) -> ReplaceResult:
        check_quarantine_scope(spec, quarantine, scope)
        loaded_at = dt.datetime.now(dt.UTC)
        counts: dict[Unit, int] = dict.fromkeys(scope.units, 0)
        with tempfile.TemporaryFile() as staged:
            total = _stage_locally(spec, rows, context, loaded_at, counts, staged)
            types = self._ensure_spec(spec)
            self._ensure_quarantine(spec)
            self._ensure_load_log()
            if scope.units:
                staging_id = self._load_staging(spec, staged, total) if total else None
                try:
                    sql, parameters = self._replace_script(
                        spec, scope, context, counts, quarantine, loaded_at, types, staging_id
                    )
                    self._run_transaction(spec, sql, parameters)
                finally:
                    if staging_id is not None:
                        self._drop_staging(staging_id)
        logger.info(
            "replaced %d unit(s) of %s with %d row(s) (%d quarantined)",
            len(scope),
            spec.name,
            total,
            len(quarantine),
        )
        return ReplaceResult(spec.name, len(scope), total, len(quarantine), counts)

    def _load_staging(self, spec: TableSpec, staged: IO[bytes], total: int) -> str:
        """Load the staged Parquet into a fresh staging table that expires on its own; its table id."""
        staging_id = f"{self.dataset_id(spec.schema_name)}.mdp_staging__{spec.table_name}__{uuid.uuid4().hex[:16]}"
        table = bigquery.Table(
            staging_id,
            schema=[bigquery.SchemaField(f.name, bigquery_type(f.type)) for f in spec.full_schema()],
        )
        table.expires = dt.datetime.now(dt.UTC) + self.staging_expiration
        table.labels = {"managed_by": "mdp", "mdp_role": "staging"}
        self._call(
            f"create staging table {staging_id}",
            lambda: self.client.create_table(table, timeout=self.api_timeout),
        )
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET,
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
            create_disposition=bigquery.CreateDisposition.CREATE_NEVER,
        )
        config.job_timeout_ms = int(self.job_timeout * 1000)
        try:
            job = self._call(
                f"upload to {staging_id}",
                lambda: self.client.load_table_from_file(
                    staged,
                    staging_id,
                    rewind=True,
                    job_id_prefix="mdp_stage_",
                    location=self.location,
                    job_config=config,
                    timeout=self.job_timeout,
                ),
            )
            try:
                self._wait(job, f"{spec.name}: staging load")
            except google_exceptions.GoogleAPICallError as exc:
                raise WarehouseError(f"{spec.name}: staging load failed, nothing was changed: {exc.message}") from exc
            if job.output_rows is not None and job.output_rows != total:
                raise WarehouseError(
                    f"{spec.name}: staging load {job.job_id} wrote {job.output_rows} row(s), expected "
                    f"{total}; nothing was changed"
                )
        except BaseException:
            self._drop_staging(staging_id)
            raise
        logger.debug("staged %d row(s) of %s in %s (job %s)", total, spec.name, staging_id, job.job_id)
        return staging_id

    def _drop_staging(self, staging_id: str) -> None:
        try:
            self.client.delete_table(staging_id, not_found_ok=True, timeout=self.api_timeout)
        except google_exceptions.GoogleAPICallError as exc:
            logger.warning("could not drop staging table %s (it expires on its own): %s", staging_id, exc.message)

    def _replace_script(
        self,
        spec: TableSpec,
        scope: Scope,
        context: LoadContext,
        counts: Mapping[Unit, int],
        quarantine: Sequence[QuarantinedRow],
        loaded_at: dt.datetime,
        types: Mapping[str, str],
        staging_id: str | None,
    ) -> tuple[str, list[QueryParameter]]:
        """The transaction that replaces the scope's units, and its query parameters."""
        target = quote(self.table_id(spec.name))
        quarantine_table = quote(self.table_id(spec.quarantine_name()))
        days = _date_literals(scope.days())
        statements = [
            "BEGIN TRANSACTION;",
            _delete_units(target, spec.account_column, spec.date_column, days),
        ]
        if staging_id is not None:
            names, values = [], []
            for f in spec.full_schema():
                names.append(quote(f.name))
                declared, existing = bigquery_type(f.type), types.get(f.name, bigquery_type(f.type))
                cast = existing != declared
                values.append(
                    f"CAST({quote(f.name)} AS {_SQL_TYPES.get(existing, existing)})" if cast else quote(f.name)
                )
            statements.append(
                f"INSERT INTO {target} ({', '.join(names)})\nSELECT {', '.join(values)} FROM {quote(staging_id)};"
            )
        statements.append(_delete_units(quarantine_table, "account_id", "day", days))
        parameters: list[QueryParameter] = [
            _units_parameter(scope, counts, quarantine),
            bigquery.ScalarQueryParameter("connector", "STRING", context.connector),
            bigquery.ScalarQueryParameter("table_name", "STRING", spec.name),
            bigquery.ScalarQueryParameter("run_id", "STRING", context.run_id),
            bigquery.ScalarQueryParameter("started_at", "TIMESTAMP", context.started_at),
            bigquery.ScalarQueryParameter("loaded_at", "TIMESTAMP", loaded_at),
            bigquery.ScalarQueryParameter("status", "STRING", "success"),
            bigquery.ScalarQueryParameter("error", "STRING", None),
        ]
        if quarantine:
            statements.append(
                f"INSERT INTO {quarantine_table} "
                "(`account_id`, `day`, `reason`, `record`, `_run_id`, `_loaded_at`)\n"
                "SELECT q.account_id, q.day, q.reason, q.record, @run_id, @loaded_at\n"
                "FROM UNNEST(@quarantine) AS q;"
            )
            parameters.append(_quarantine_parameter(quarantine))
        statements += [self._log_insert(), "COMMIT TRANSACTION;"]
        return "\n".join(statements), parameters

    def _log_insert(self) -> str:
        columns = ", ".join(quote(name) for name in LOAD_LOG_SCHEMA.names)
        return (
            f"INSERT INTO {quote(self.table_id(LOAD_LOG))} ({columns})\n"
            "SELECT @connector, @table_name, u.account_id, u.day, u.n_rows, u.n_quarantined, @status, "
            "@run_id, @started_at, @loaded_at, @error\nFROM UNNEST(@units) AS u;"
        )

    def _run_transaction(self, spec: TableSpec, sql: str, parameters: list[QueryParameter]) -> None:
        """Run the script; retry it (bounded, with jitter) when BigQuery aborted it for a concurrent update
        of the same table, which means it was rolled back as a whole."""
        for attempt in range(1, self.transaction_attempts + 1):
            try:
                self._execute(sql, parameters, label="replace")
                return
            except google_exceptions.GoogleAPICallError as exc:
                if _CONCURRENT_UPDATE in exc.message.lower() and attempt < self.transaction_attempts:
                    delay = min(2.0**attempt, 30.0) * (0.5 + random.random())  # noqa: S311
                    logger.warning(
                        "%s: transaction aborted by a concurrent update (attempt %d/%d), retrying in %.1fs",
                        spec.name,
                        attempt,
                        self.transaction_attempts,
                        delay,
                    )
                    time.sleep(delay)
                    continue
                raise WarehouseError(f"{spec.name}: load failed, nothing was changed: {exc.message}") from exc

    def log_failure(self, spec: TableSpec, scope: Scope, context: LoadContext, error: str) -> None:
        self._ensure_load_log()
        if not scope.units:
            return
        now = dt.datetime.now(dt.UTC)
        parameters: list[QueryParameter] = [
            _units_parameter(scope, {}, ()),
            bigquery.ScalarQueryParameter("connector", "STRING", context.connector),
            bigquery.ScalarQueryParameter("table_name", "STRING", spec.name),
            bigquery.ScalarQueryParameter("run_id", "STRING", context.run_id),
            bigquery.ScalarQueryParameter("started_at", "TIMESTAMP", context.started_at),
            bigquery.ScalarQueryParameter("loaded_at", "TIMESTAMP", now),
            bigquery.ScalarQueryParameter("status", "STRING", "failed"),
            bigquery.ScalarQueryParameter("error", "STRING", error),
        ]
        try:
            self._execute(self._log_insert(), parameters, label="log")
        except google_exceptions.GoogleAPICallError as exc:
            raise WarehouseError(f"{spec.name}: cannot record the failure in {LOAD_LOG}: {exc.message}") from exc

    def row_counts(
        self,
        spec: TableSpec,
        start: dt.date | None = None,
        end: dt.date | None = None,
        accounts: Sequence[str] | None = None,
    ) -> dict[Unit, int]:
        if not self.table_exists(spec.name):
            return {}
        account, day = quote(spec.account_column), quote(spec.date_column)
        where = ["TRUE"]
        parameters: list[QueryParameter] = []
        if start is not None:
            where.append(f"{day} >= @start")
            parameters.append(bigquery.ScalarQueryParameter("start", "DATE", start))
        if end is not None:
            where.append(f"{day} <= @end")
            parameters.append(bigquery.ScalarQueryParameter("end", "DATE", end))
        if accounts is not None:
            where.append(f"{account} IN UNNEST(@accounts)")
            parameters.append(bigquery.ArrayQueryParameter("accounts", "STRING", list(accounts)))
        sql = (
            f"SELECT {account}, {day}, COUNT(*) FROM {quote(self.table_id(spec.name))} "
            f"WHERE {' AND '.join(where)} GROUP BY 1, 2"
        )
        try:
            result = self._execute(sql, parameters, label="counts")
        except google_exceptions.GoogleAPICallError as exc:
            raise WarehouseError(f"{spec.name}: row count failed: {exc.message}") from exc
        return {(a, d): n for a, d, n in (tuple(row.values()) for row in result)}

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            result = self._execute(sql, [_positional(value) for value in parameters], label="query")
        except google_exceptions.GoogleAPICallError as exc:
            raise WarehouseError(f"query failed: {exc.message}") from exc
        return [tuple(row.values()) for row in result]

    def query_arrow(self, sql: str, parameters: Sequence[Any] = ()) -> pa.Table:
        try:
            result = self._execute(sql, [_positional(value) for value in parameters], label="query")
            return result.to_arrow(create_bqstorage_client=False)
        except google_exceptions.GoogleAPICallError as exc:
            raise WarehouseError(f"query failed: {exc.message}") from exc

    def table_exists(self, name: str) -> bool:
        try:
            self.client.get_table(self.table_id(name), timeout=self.api_timeout)
        except google_exceptions.NotFound:
            return False
        except google_exceptions.GoogleAPICallError as exc:
            raise WarehouseError(f"cannot read table {self.table_id(name)}: {exc.message}") from exc
        return True

    def _execute(self, sql: str, parameters: Sequence[QueryParameter], *, label: str) -> Any:
        """Run a query job (in the configured location, with a server-side timeout) and wait for it."""
        config = bigquery.QueryJobConfig(query_parameters=list(parameters))
        config.job_timeout_ms = int(self.job_timeout * 1000)
        job = self.client.query(
            sql,
            job_config=config,
            location=self.location,
            job_id_prefix=f"mdp_{label}_",
            timeout=self.api_timeout,
        )
        return self._wait(job, f"{label} job")

    def _wait(self, job: bigquery.QueryJob | bigquery.LoadJob, what: str) -> Any:
        try:
            return job.result(timeout=self.job_timeout)
        except concurrent.futures.TimeoutError:
            with contextlib.suppress(google_exceptions.GoogleAPICallError):
                job.cancel(timeout=self.api_timeout)
            # A cancel can come too late (a COMMIT under way): report what the job finally did.
            deadline = time.monotonic() + CANCEL_GRACE_SECONDS
            while job.state != "DONE" and time.monotonic() < deadline:
                time.sleep(1.0)
                with contextlib.suppress(google_exceptions.GoogleAPICallError):
                    job.reload(timeout=self.api_timeout)
            if job.state == "DONE" and job.error_result is None:
                logger.warning(
                    "%s %s finished despite its cancel after %gs: it applied", what, job.job_id, self.job_timeout
                )
                return job.result(timeout=self.api_timeout)
            if job.state == "DONE":
                raise WarehouseError(
                    f"{what} {job.job_id} did not finish within {self.job_timeout:g}s and was cancelled; nothing "
                    "of it applied"
                ) from None
            raise WarehouseError(
                f"{what} {job.job_id} did not finish within {self.job_timeout:g}s and did not stop within "
                f"{CANCEL_GRACE_SECONDS:g}s of its cancel: its outcome is unknown; check the job in BigQuery "
                "before rerunning (a transaction applies as a whole or not at all)"
            ) from None

    @staticmethod
    def _call(what: str, call: Any) -> Any:
        try:
            return call()
        except google_exceptions.GoogleAPICallError as exc:
            raise WarehouseError(f"cannot {what}: {exc.message}") from exc


def _stage_locally(
    spec: TableSpec,
    rows: RowsInput,
    context: LoadContext,
    loaded_at: dt.datetime,
    counts: dict[Unit, int],
    sink: IO[bytes],
) -> int:
    """Conform every batch, check it stays inside the scope (the keys of `counts`, which it fills in) and
    write it to `sink` as Parquet. Runs before anything is sent, so a bad row or a failing iterator
    leaves the warehouse untouched. Returns the number of rows written."""
    writer: pq.ParquetWriter | None = None
    total = 0
    try:
        for batch in conformed_batches(spec, rows, context, loaded_at):
            if not batch.num_rows:
                continue
            per_unit = (
                batch.select([spec.account_column, spec.date_column])
                .group_by([spec.account_column, spec.date_column])
                .aggregate([([], "count_all")])
                .to_pylist()
            )
            units = [((u[spec.account_column], u[spec.date_column]), u["count_all"]) for u in per_unit]
            stray = sorted((unit for unit, _ in units if unit not in counts), key=lambda u: (str(u[0]), str(u[1])))
            if stray:
                raise ScopeError(
                    f"{spec.name}: {len(stray)} (account, day) unit(s) in the rows are outside the "
                    f"load scope, e.g. {stray[:5]}; nothing was changed"
                )
            for unit, n in units:
                counts[unit] += n
            if writer is None:
                writer = pq.ParquetWriter(sink, batch.schema)
            writer.write_table(batch)
            total += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    return total


def _delete_units(table: str, account: str, day: str, days: str) -> str:
    """Delete the rows of the `@units` (account, day) pairs; the literal day list prunes partitions."""
    return (
        f"DELETE FROM {table} AS t\nWHERE t.{quote(day)} IN ({days})\n"
        f"  AND EXISTS (SELECT 1 FROM UNNEST(@units) AS u WHERE u.account_id = t.{quote(account)} "
        f"AND u.day = t.{quote(day)});"
    )


def _units_parameter(
    scope: Scope, counts: Mapping[Unit, int], quarantine: Sequence[QuarantinedRow]
) -> bigquery.ArrayQueryParameter:
    quarantined: dict[Unit, int] = {}
    for q in quarantine:
        quarantined[(q.account_id, q.day)] = quarantined.get((q.account_id, q.day), 0) + 1
    return bigquery.ArrayQueryParameter(
        "units",
        "STRUCT",
        [
            bigquery.StructQueryParameter(
                None,
                bigquery.ScalarQueryParameter("account_id", "STRING", account),
                bigquery.ScalarQueryParameter("day", "DATE", day),
                bigquery.ScalarQueryParameter("n_rows", "INT64", counts.get((account, day), 0)),
                bigquery.ScalarQueryParameter("n_quarantined", "INT64", quarantined.get((account, day), 0)),
            )
            for account, day in sorted(scope.units)
        ],
    )


def _quarantine_parameter(quarantine: Sequence[QuarantinedRow]) -> bigquery.ArrayQueryParameter:
    return bigquery.ArrayQueryParameter(
        "quarantine",
        "STRUCT",
        [
            bigquery.StructQueryParameter(
                None,
                bigquery.ScalarQueryParameter("account_id", "STRING", q.account_id),
                bigquery.ScalarQueryParameter("day", "DATE", q.day),
                bigquery.ScalarQueryParameter("reason", "STRING", q.reason),
                bigquery.ScalarQueryParameter("record", "STRING", q.record),
            )
            for q in quarantine
        ],
    )


def _scalar_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, Decimal):
        return "NUMERIC"
    if isinstance(value, dt.datetime):
        return "TIMESTAMP" if value.tzinfo else "DATETIME"
    if isinstance(value, dt.date):
        return "DATE"
    if isinstance(value, bytes):
        return "BYTES"
    return "STRING"


def _positional(value: Any) -> QueryParameter:
    """A positional (`?`) query parameter for a Python value; a list or tuple becomes an ARRAY."""
    if isinstance(value, list | tuple):
        element = _scalar_type(value[0]) if value else "STRING"
        return bigquery.ArrayQueryParameter(None, element, list(value))
    return bigquery.ScalarQueryParameter(None, _scalar_type(value), value)
