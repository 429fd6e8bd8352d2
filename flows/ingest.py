"""One ingest subflow per connector: a task per (stream, account, date chunk), each loaded atomically."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import pyarrow as pa
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
from prefect.logging import get_run_logger
from prefect.states import Completed, Failed

from connectors.base import Connector
from connectors.registry import build_connector
from flows.progress import ProgressEvent, emit
from flows.windows import canonical_account, chunks
from mdp.config import load_config
from mdp.errors import RetryableAPIError, WarehouseBusyError, WarehouseError
from mdp.secrets import redact
from warehouse import Warehouse, from_config
from warehouse.base import LoadContext, QuarantinedRow, Scope

logger = logging.getLogger(__name__)
UNIT_BACKOFF_SECONDS = 2.0
T = TypeVar("T")
_PREFECT_PREFIX = "Task run encountered an exception "


@dataclass(frozen=True)
class UnitOutcome:
    """What happened to one (connector, stream, account, date chunk)."""

    connector: str
    account: str
    start: dt.date
    end: dt.date
    status: str
    rows: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    error: str | None = None
    stream: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["start"], row["end"] = self.start.isoformat(), self.end.isoformat()
        row["seconds"] = round(self.seconds, 2)
        return row


BUSY_WAITS_SECONDS = (5.0, 10.0, 20.0, 40.0, 60.0, 120.0, 180.0, 180.0)


def when_free(
    call: Callable[[], T],
    *,
    what: str,
    waits: tuple[float, ...] = BUSY_WAITS_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`call()`, tried again while the warehouse is busy (another process holds the DuckDB file), so
    that rows already extracted are loaded later instead of being thrown away (about 10 minutes in all)."""
    for wait in (*waits, None):
        try:
            return call()
        except WarehouseBusyError as exc:
            if wait is None:
                raise
            logger.warning("%s: %s; loading again in %.0fs (the extracted rows are kept)", what, exc, wait)
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


class RetryWaitTooLong(RetryableAPIError):
    """The API asked to wait longer than the connector's `max_retry_wait_minutes`."""


def unit_retry_delay(attempt: int, retry_after: float | None, jitter: float) -> float:
    """Seconds before retry number `attempt` (1-based) of a unit: exponential backoff with jitter
    (2, 4, 8 s ... times 1 to 1.5), and never sooner than the delay the API asked for."""
    backoff = UNIT_BACKOFF_SECONDS * 2.0 ** (attempt - 1) * (1 + 0.5 * jitter)
    return backoff if retry_after is None else max(backoff, retry_after)


def with_unit_retries(
    call: Callable[[], T],
    *,
    retries: int,
    max_wait_seconds: float,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> T:
    """`call()`, retried on RetryableAPIError up to `retries` times, each wait honouring the API's delay.

    Raises:
        RetryWaitTooLong: the API asked for a longer wait than `max_wait_seconds` (not waited for).
        RetryableAPIError: still failing after the retries.
    """
    attempt = 0
    while True:
        try:
            return call()
        except RetryableAPIError as exc:
            if attempt >= retries:
                raise
            attempt += 1
            wait = unit_retry_delay(attempt, exc.retry_after, jitter())
            if wait > max_wait_seconds:
                raise RetryWaitTooLong(
                    redact(
                        f"{exc} [the API asks to wait {wait:.0f}s, over max_retry_wait_minutes "
                        f"({max_wait_seconds / 60:g} min): not retried]"
                    ),
                    retry_after=exc.retry_after,
                ) from None
            logger.warning(
                "%s: %s; retry %d of %d in %.1fs%s",
                what,
                redact(str(exc)),
                attempt,
                retries,
                wait,
                " (as the API asked)" if exc.retry_after is not None and wait == exc.retry_after else "",
            )
            sleep(wait)


@task(
    name="extract-and-load",
    task_run_name="{connector_name} {stream} {account} {start}..{end}",
    cache_policy=NO_CACHE,
)
def extract_and_load(
    connector: Connector,
    warehouse: Warehouse,
    connector_name: str,
    stream: str,
    account: str,
    start: dt.date,
    end: dt.date,
    run_id: str,
) -> UnitOutcome:
    """Extract every day of one account chunk in full, then replace those days in one transaction.

    Extraction finishes before the warehouse is touched, so a failed extraction never erases the
    last good data; chunking keeps memory flat on long backfills. A retryable API error retries the
    extraction after the delay the API asked for (bounded by `max_retry_wait_minutes`).
    """
    settings = connector.settings
    what = f"{connector_name} {stream} account {account} {start}..{end}"
    began, rows, quarantine = with_unit_retries(
        lambda: _extract(connector, stream, account, start, end),
        retries=settings.unit_retries,
        max_wait_seconds=settings.max_retry_wait_minutes * 60,
        what=what,
    )
    context = LoadContext(connector_name, run_id)
    result = when_free(
        lambda: warehouse.replace_partitions(
            connector.stream(stream).table, rows, Scope.of([account], start, end), context, quarantine
        ),
        what=what,
    )
    outcome = UnitOutcome(
        connector_name,
        account,
        start,
        end,
        "success",
        result.rows,
        result.quarantined,
        time.monotonic() - began,
        stream=stream,
    )
    get_run_logger().info(
        "run %s: %s %s %s %s..%s loaded %d row(s), %d quarantined",
        run_id,
        connector_name,
        stream,
        account,
        start,
        end,
        result.rows,
        result.quarantined,
    )
    return outcome


@task(name="list-accounts", task_run_name="{connector_name} accounts", cache_policy=NO_CACHE)
def list_accounts(connector: Connector, connector_name: str) -> list[str]:
    """The accounts to extract: configured, or discovered (for example under a manager account)."""
    settings = connector.settings
    accounts = with_unit_retries(
        connector.list_accounts,
        retries=settings.unit_retries,
        max_wait_seconds=settings.max_retry_wait_minutes * 60,
        what=f"{connector_name} account discovery",
    )
    return [account.id for account in accounts]


def _extract(
    connector: Connector, stream: str, account: str, start: dt.date, end: dt.date
) -> tuple[float, pa.Table | list[dict[str, Any]], list[QuarantinedRow]]:
    """Every row of the chunk (one table) and its quarantine, with when this attempt began."""
    began = time.monotonic()
    tables: list[pa.Table] = []
    quarantine: list[QuarantinedRow] = []
    for batch in connector.extract(stream, account, start, end):
        tables.append(batch.rows)
        quarantine.extend(batch.quarantine)
    rows: pa.Table | list[dict[str, Any]] = pa.concat_tables(tables, promote_options="default") if tables else []
    return began, rows, quarantine


Unit = tuple[str, str, dt.date, dt.date]  # (stream, account, start, end)


def _failure(future: PrefectFuture[UnitOutcome], unit: Unit, name: str) -> UnitOutcome:
    message = str(future.state.message or future.state.name)
    stream, account, start, end = unit
    error = redact(message.removeprefix(_PREFECT_PREFIX))
    return UnitOutcome(name, account, start, end, "failed", error=error, stream=stream)


def given_units(
    connector: Connector, units: list[dict[str, str]], snapshot_day: dt.date | None
) -> tuple[list[Unit], list[str]]:
    """Units given as {stream, account, start, end}; a snapshot unit only for the snapshot day (the API
    returns entities as they are now), the others reported as skipped."""
    planned: list[Unit] = []
    skipped: list[str] = []
    for unit in units:
        stream = connector.stream(unit["stream"])
        start, end = dt.date.fromisoformat(unit["start"]), dt.date.fromisoformat(unit["end"])
        if stream.kind == "snapshot" and (start, end) != (snapshot_day, snapshot_day):
            skipped.append(f"{stream.name} {unit['account']} {start}")
            continue
        planned.append((stream.name, unit["account"], start, end))
    return planned, skipped


def plan_units(
    connector: Connector, accounts: list[str], start: dt.date, end: dt.date, snapshot_day: dt.date | None
) -> tuple[list[Unit], list[str]]:
    """The units of a connector's selected streams, and the snapshot streams left out (with why).

    Report streams: every account x date chunk. Snapshot streams: one unit per account on
    `snapshot_day`, when the run covers the latest complete day (the state is the API's current one).
    """
    units: list[Unit] = []
    skipped: list[str] = []
    for stream in connector.selected_streams:
        if stream.kind == "snapshot":
            if snapshot_day is None:
                skipped.append(stream.name)
                continue
            units += [(stream.name, a, snapshot_day, snapshot_day) for a in accounts]
        else:
            pieces = list(chunks(start, end, connector.settings.chunk_days))
            units += [(stream.name, a, s, e) for a in accounts for s, e in pieces]
    return units, skipped


@flow(name="ingest", flow_run_name="ingest-{connector_name}-{start}-{end}")
async def ingest_connector(
    connector_name: str,
    start: dt.date,
    end: dt.date,
    run_id: str,
    accounts: list[str] | None = None,
    config_path: str | None = None,
    snapshot_day: dt.date | None = None,
    units: list[dict[str, str]] | None = None,
) -> list[UnitOutcome] | State[Any]:
    """Extract and load one connector's streams and accounts for [start, end], chunk by chunk.

    Args:
        connector_name: the connector section's name in pipeline.yaml.
        start: first day to load.
        end: last day to load.
        run_id: written to every row and to ops.load_log (the parent flow run id).
        accounts: only these accounts (default: all the connector covers).
        config_path: pipeline.yaml to use (default: $MDP_CONFIG or ./pipeline.yaml).
        snapshot_day: take the entity snapshot streams, dated this day (default: not taken).
        units: exactly these units ({stream, account, start, end}), e.g. a run's failed ones, instead of
            every selected stream x account x chunk of [start, end].
    """
    log = get_run_logger()
    config = load_config(config_path)
    connector = build_connector(config, config.connector(connector_name))
    warehouse = from_config(config)
    try:
        if units is not None:
            planned, skipped = given_units(connector, units, snapshot_day)
            selected = sorted({account for _, account, _, _ in planned})
        else:
            discovery = list_accounts.submit(connector, connector_name)
            covered = await asyncio.to_thread(discovery.result)
            wanted = None if accounts is None else {canonical_account(a) for a in accounts}
            selected = [a for a in covered if wanted is None or canonical_account(a) in wanted]
            planned, skipped = plan_units(connector, selected, start, end, snapshot_day)
        log.info(
            "run %s: %s has %d account(s), %d stream(s), %d unit(s) from %s to %s",
            run_id,
            connector_name,
            len(selected),
            len(connector.selected_streams),
            len(planned),
            start,
            end,
        )
        if skipped:
            log.info(
                "run %s: %s snapshot stream(s) %s not taken: the window does not end on the latest complete "
                "day, and the API only returns entities as they are now",
                run_id,
                connector_name,
                ", ".join(skipped),
            )
        emit(ProgressEvent("planned", connector_name, units=len(planned)))
        futures = [
            extract_and_load.submit(connector, warehouse, connector_name, stream, account, s, e, run_id)
            for stream, account, s, e in planned
        ]
        outcomes = await asyncio.to_thread(_collect, futures, planned, connector_name)
    finally:
        connector.close()
    failed = [o for o in outcomes if o.status == "failed"]
    unrecorded = []
    for outcome in failed:
        try:
            await asyncio.to_thread(
                warehouse.log_failure,
                connector.stream(outcome.stream).table,
                Scope.of([outcome.account], outcome.start, outcome.end),
                LoadContext(connector_name, run_id),
                outcome.error or "failed",
            )
        except WarehouseError as exc:  # e.g. a full disk: keep every unit's outcome and say so
            log.error("%s", exc)
            unrecorded.append(str(exc))
    if failed:
        summary = "; ".join(f"{o.stream} {o.account} {o.start}..{o.end}: {o.error}" for o in failed)
        if unrecorded:
            summary += f" (not recorded in ops.load_log: {unrecorded[0]})"
        return Failed(
            message=f"{connector_name}: {len(failed)} of {len(outcomes)} unit(s) failed: {summary}",
            data=outcomes,
        )
    return Completed(message=f"{connector_name}: {len(outcomes)} unit(s) loaded", data=outcomes)


def _collect(futures: list[PrefectFuture[UnitOutcome]], units: list[Unit], name: str) -> list[UnitOutcome]:
    """Wait for every unit; a failed one becomes a 'failed' outcome instead of stopping the others."""
    outcomes = []
    for future, unit in zip(futures, units, strict=True):
        future.wait()
        outcome = future.result() if future.state.is_completed() else _failure(future, unit, name)
        emit(ProgressEvent("unit", name, units=1, rows=outcome.rows, failed=outcome.status == "failed"))
        outcomes.append(outcome)
    return outcomes
