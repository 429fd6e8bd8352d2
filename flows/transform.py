"""The dbt flow: `dbt build` of transformations/ on the warehouse pipeline.yaml selects.

`dbt_invocation` (no Prefect) turns a configuration into dbt arguments and environment; `run_dbt` runs them
in-process with dbt's programmatic runner. The `dbt_build` flow runs them the same way and reports every
node itself (a log line per node, a progress event, a table artifact of all nodes, the failures in the
flow's error): prefect-dbt's one Prefect task per node cost ~0.2 s of API calls per node, a minute per
build once the project had ~280 nodes, for the same information.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import stat
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dbt.cli.main import dbtRunner, dbtRunnerResult
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

from connectors.registry import available_types, connector_class
from flows.dbt_channels import link_plugin_packages, project_vars
from flows.dbt_custom import write_custom_package
from flows.marts_watermark import latest_load, record_build, unbuilt_since
from flows.progress import ProgressEvent, emit
from mdp.config import BigQueryWarehouseConfig, DuckDBWarehouseConfig, PipelineConfig, load_config
from mdp.errors import MDPError
from mdp.paths import TRANSFORMATIONS_DIR
from mdp.schema import TableSpec
from warehouse import from_config
from warehouse.duckdb import DuckDBWarehouse

logger = logging.getLogger(__name__)


def source_tables() -> dict[str, tuple[TableSpec, ...]]:
    """The raw tables the dbt sources read: every stream of every registered connector type, by dbt source
    name (the connector type). transformations/scripts/generate_sources.py writes the source YAML from them."""
    return {name: tuple(s.table for s in connector_class(name).streams) for name in available_types()}


def all_source_tables() -> list[TableSpec]:
    return [spec for specs in source_tables().values() for spec in specs]


# profiles.yml target per warehouse type.
TARGETS = {"duckdb": "dev", "bigquery": "bigquery"}


@dataclass(frozen=True)
class DbtInvocation:
    """A dbt command line (without the executable) and the environment variables profiles.yml reads."""

    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    project_dir: Path = TRANSFORMATIONS_DIR
    profiles_dir: Path = TRANSFORMATIONS_DIR
    duckdb_path: Path | None = None
    raw_tables: tuple[TableSpec, ...] = ()  # the configuration's: custom streams, passthrough columns

    def cli_args(self) -> list[str]:
        """The arguments with the project and profiles directories, for `dbtRunner` or the `dbt` CLI."""
        return [
            *self.args,
            "--project-dir",
            str(self.project_dir),
            "--profiles-dir",
            str(self.profiles_dir),
        ]


START_DATE_VAR = "incremental_start_date"
START_DATE_ENV = "MDP_DBT_INCREMENTAL_START_DATE"


def dbt_invocation(
    config: PipelineConfig,
    *,
    command: str = "build",
    select: str | None = None,
    exclude: str | None = None,
    full_refresh: bool = False,
    vars: Mapping[str, Any] | None = None,
    target_path: Path | None = None,
    log_path: Path | None = None,
    extra_args: tuple[str, ...] = (),
    project_dir: Path = TRANSFORMATIONS_DIR,
) -> DbtInvocation:
    """The dbt arguments and environment that run `command` against the configured warehouse.

    Args:
        config: the pipeline configuration (warehouse, reporting currency, connectors).
        command: the dbt command, e.g. "build", "seed", "parse".
        select: a dbt selection (space-separated selectors), e.g. "fct_ad_performance_daily+".
        exclude: a dbt exclusion, same syntax.
        full_refresh: rebuild incremental models (and seeds) from scratch.
        vars: dbt vars overriding those the configuration implies; `incremental_start_date` goes to dbt as
            the environment variable MDP_DBT_INCREMENTAL_START_DATE, so that partial parsing stays valid.
        target_path: where dbt writes target/ (default: transformations/target).
        log_path: where dbt writes logs/ (default: transformations/logs).
        extra_args: appended as they are.
        project_dir: the dbt project (default: transformations/; profiles.yml is always read from there).
    """
    warehouse = config.warehouse
    target = TARGETS[warehouse.type]
    env: dict[str, str] = {"MDP_DBT_TARGET": target}
    duckdb_path: Path | None = None
    if isinstance(warehouse, DuckDBWarehouseConfig):
        duckdb_path = config.warehouse_path()
        env["MDP_DUCKDB_PATH"] = str(duckdb_path)
    else:
        env["MDP_BQ_PROJECT"] = warehouse.project
        env["MDP_BQ_LOCATION"] = warehouse.location
        env["MDP_BQ_DATASET"] = f"{warehouse.dataset_prefix}mdp"
    custom = write_custom_package(config, project_dir)  # the custom streams' staging, the passthrough metrics
    env.update(custom.env)
    merged_vars = {**project_vars(config, project_dir), **(vars or {})}
    # The run's first rebuilt day changes every day: as a var it would force a full re-parse of the project on
    # every run (dbt hashes the vars). The macro incremental_start_date() reads it from here at execution.
    start_date = merged_vars.pop(START_DATE_VAR, None)
    env[START_DATE_ENV] = "" if start_date is None else str(start_date)
    args = [command, "--target", target, "--vars", json.dumps(merged_vars, sort_keys=True)]
    if select:
        args += ["--select", *select.split()]
    if exclude:
        args += ["--exclude", *exclude.split()]
    if full_refresh:
        args.append("--full-refresh")
    if target_path is not None:
        args += ["--target-path", str(target_path)]
    if log_path is not None:
        args += ["--log-path", str(log_path)]
    args += extra_args
    return DbtInvocation(
        tuple(args), env, project_dir=project_dir, duckdb_path=duckdb_path, raw_tables=custom.raw_tables
    )


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for a block (dbt's env_var() reads the process environment)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open after an in-process run.

    dbt-duckdb caches its database handle for the life of the process, which keeps the file locked:
    no other process (the next pipeline run, a BI tool, a DuckDB shell) could open it.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = getattr(DuckDBConnectionManager, "_ENV", None)
    DuckDBConnectionManager.close_all_connections()  # type: ignore[no-untyped-call]
    if env is not None:
        env.close()


def prepare_duckdb(invocation: DbtInvocation, lock_timeout: float = 30.0) -> None:
    """Create the raw tables the sources read if they are missing (a fresh warehouse builds empty marts),
    waiting for another process to release the file; the connection is closed before dbt starts."""
    if invocation.duckdb_path is None:
        return
    DuckDBWarehouse(invocation.duckdb_path, lock_timeout=lock_timeout).ensure_tables(
        [*all_source_tables(), *invocation.raw_tables]
    )


def run_dbt(invocation: DbtInvocation, callbacks: Sequence[Callable[[Any], None]] = ()) -> dbtRunnerResult:
    """Run a dbt invocation in-process (`callbacks` receive dbt's events); the DuckDB file is released after.
    The registered plug-ins' dbt packages are linked into the project first (flows/dbt_channels.py)."""
    link_plugin_packages(project_dir=invocation.project_dir)
    with environment(invocation.env):
        try:
            return dbtRunner(callbacks=list(callbacks)).invoke(invocation.cli_args())
        finally:
            release_duckdb()


@contextmanager
def bigquery_credentials(block_name: str | None) -> Iterator[dict[str, str]]:
    """profiles.yml variables for a prefect-gcp GcpCredentials block (service account key), or none for
    Application Default Credentials. A key given inline lives in a private temporary file for the run."""
    if block_name is None:
        yield {}
        return
    from prefect_gcp import GcpCredentials

    credentials = GcpCredentials.load(block_name)
    if credentials.service_account_file is not None:
        yield {"MDP_BQ_METHOD": "service-account", "MDP_BQ_KEYFILE": str(credentials.service_account_file)}
        return
    if credentials.service_account_info is None:
        yield {}
        return
    info = credentials.service_account_info.get_secret_value()
    descriptor, name = tempfile.mkstemp(prefix="mdp-dbt-", suffix=".json")
    try:
        os.fchmod(descriptor, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(dict(info), handle)
        yield {"MDP_BQ_METHOD": "service-account", "MDP_BQ_KEYFILE": name}
    finally:
        Path(name).unlink(missing_ok=True)


def status_counts(result: dbtRunnerResult) -> dict[str, int]:
    """How many dbt nodes ended in each status, e.g. {"success": 12, "pass": 40}."""
    results = getattr(result.result, "results", None) or []
    return dict(Counter(str(getattr(r.status, "value", r.status)) for r in results))


@task
def prepare_warehouse(config: PipelineConfig, invocation: DbtInvocation, lock_timeout: float) -> None:
    """Create the missing raw tables of every registered connector type, so that the staging views of a
    connector with no data yet build (empty) rather than fail."""
    if invocation.duckdb_path is not None:
        prepare_duckdb(invocation, lock_timeout)
        return
    warehouse = from_config(config)
    for spec in [*all_source_tables(), *invocation.raw_tables]:
        warehouse.ensure_table(spec)


def dbt_run_name() -> str:
    """dbt-build-<first rebuilt day> (or -default), and the UTC date: stable, searchable names."""
    given = (flow_run.get_parameters().get("vars") or {}).get("incremental_start_date")
    return f"dbt-build-from-{given or 'default'}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M}"


@flow(name="dbt_build", flow_run_name=dbt_run_name)
def dbt_build(
    select: str | None = None,
    full_refresh: bool = False,
    vars: dict[str, Any] | None = None,
    config_path: str | None = None,
) -> dict[str, int]:
    """`dbt build` of the marts on the configured warehouse; any failed model or test fails the flow.

    Args:
        select: a dbt selection, e.g. "fct_ad_performance_daily+" (default: everything).
        full_refresh: rebuild incremental models from scratch.
        vars: dbt vars, e.g. {"incremental_start_date": "2026-01-01"} for a backfill.
        config_path: pipeline.yaml (default: $MDP_CONFIG, ./pipeline.yaml, the project's sample).

    Returns:
        How many dbt nodes ended in each status.
    """
    run_logger = get_run_logger()
    config = load_config(config_path)
    warehouse = from_config(config)
    raw_tables = [spec.name for spec in all_source_tables()]
    started_at = dt.datetime.now(dt.UTC)
    loads_through = latest_load(warehouse, raw_tables)
    vars = dict(vars or {})
    if select is None and not full_refresh:
        # Catch up: rebuild from the earliest day loaded since the last successful build, if earlier.
        behind = unbuilt_since(warehouse, raw_tables)
        given = vars.get("incremental_start_date")
        if behind is not None and (given is None or behind < dt.date.fromisoformat(str(given))):
            run_logger.info("the marts miss raw loads from %s on: rebuilding from there", behind)
            vars["incremental_start_date"] = behind.isoformat()
    invocation = dbt_invocation(config, select=select, full_refresh=full_refresh, vars=vars)
    lock_timeout = config.warehouse.lock_timeout_seconds if isinstance(config.warehouse, DuckDBWarehouseConfig) else 0.0
    prepare_warehouse(config, invocation, lock_timeout)
    block = config.warehouse.gcp_credentials_block if isinstance(config.warehouse, BigQueryWarehouseConfig) else None
    run_logger.info("dbt %s (target %s)", " ".join(invocation.args), invocation.env["MDP_DBT_TARGET"])
    with bigquery_credentials(block) as credential_env:
        # dbt's console output stays quiet (it would garble live displays): NodeReporter reports each node.
        invocation = replace(
            invocation, args=(*invocation.args, "--log-level", "none"), env={**invocation.env, **credential_env}
        )
        for attempt in range(1, DBT_LOCK_ATTEMPTS + 1):
            reporter = NodeReporter(run_logger)
            result = run_dbt(invocation, callbacks=[reporter])
            conflict = result.exception is not None and is_lock_conflict(result.exception)
            if not conflict or invocation.duckdb_path is None or attempt == DBT_LOCK_ATTEMPTS:
                break
            # dbt-duckdb does not wait for a file another process holds: wait here, then try again.
            run_logger.warning(
                "dbt could not open %s (held by another process); waiting for it, attempt %d of %d",
                invocation.duckdb_path,
                attempt,
                DBT_LOCK_ATTEMPTS,
            )
            prepare_duckdb(invocation, lock_timeout)  # returns once the file is free (or raises busy)
    reporter.publish()
    if not result.success:
        raise DbtBuildFailed(failure_summary(result))
    counts = status_counts(result)
    run_logger.info("dbt build finished: %s", counts)
    if select is None:
        rebuilt_from = vars.get("incremental_start_date")
        record_build(
            warehouse,
            str(flow_run.get_id() or "local"),
            started_at,
            loads_through,
            dt.date.fromisoformat(str(rebuilt_from)) if rebuilt_from and not full_refresh else None,
        )
    return counts


DBT_LOCK_ATTEMPTS = 3
_LOCK_MARKERS = ("could not set lock", "conflicting lock")


def is_lock_conflict(error: BaseException) -> bool:
    """Whether dbt failed because another process held the DuckDB file."""
    return any(marker in str(error).lower() for marker in _LOCK_MARKERS)


class DbtBuildFailed(MDPError):
    """A dbt model or test failed, or dbt could not run; the message names every failing node."""


FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})


def failure_summary(result: dbtRunnerResult) -> str:
    """'dbt build failed: node: message; ...' (or dbt's own exception when it could not run)."""
    if result.exception is not None:
        return f"dbt could not run: {result.exception}"
    failed = [
        f"{r.node.unique_id}: {' '.join(str(r.message or r.status).split())}"
        for r in (getattr(result.result, "results", None) or [])
        if str(getattr(r.status, "value", r.status)) in FAILED_STATUSES
    ]
    return f"dbt build failed ({len(failed)} node(s)): " + "; ".join(failed)


class NodeReporter:
    """dbt's events -> one log line per finished node (warnings and failures louder), a progress event
    for live displays, and at the end one table artifact of every node with its status and time."""

    def __init__(self, log: Any) -> None:
        self.log = log
        self.nodes: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        node = event.data.node_info
        if node.materialized == "ephemeral":  # inlined in the models that read it: nothing ran
            return
        status = str(node.node_status)
        seconds = round(float(getattr(event.data.run_result, "execution_time", 0.0) or 0.0), 2)
        message = " ".join(str(getattr(event.data.run_result, "message", "") or "").split())
        row = {"node": node.unique_id, "status": status, "seconds": seconds, "message": message}
        with self._lock:
            self.nodes.append(row)
        failed = status in FAILED_STATUSES
        emit(ProgressEvent("dbt_node", "dbt", units=1, failed=failed))
        level = logging.ERROR if failed else logging.WARNING if status == "warn" else logging.INFO
        self.log.log(level, "dbt %s %s in %.2fs%s", node.unique_id, status, seconds, f": {message}" if failed else "")

    def publish(self) -> None:
        if not self.nodes:
            return
        counts = Counter(row["status"] for row in self.nodes)
        create_table_artifact(
            key="dbt-nodes",
            table=sorted(self.nodes, key=lambda r: (r["status"] not in FAILED_STATUSES, r["node"])),
            description="dbt build: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())),
        )
