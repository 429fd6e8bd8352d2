"""One ingest subflow per connector: units of (stream, account, date chunk), run in a few batched tasks per
connector; each unit replaces exactly its own rows."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import math
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
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from connectors.base import Connector
from connectors.kit.retry import GiveUp, Retry, RetryPolicy, call_with_retries
from connectors.registry import build_connector
from flows.progress import ProgressEvent, emit
from flows.retry import landed_days
from flows.windows import canonical_account, chunks
from mdp.config import load_config
from mdp.errors import MDPError, RetryableAPIError, WarehouseBusyError, WarehouseError
from mdp.schema import TableSpec
from mdp.secrets import redact
from warehouse import Warehouse, from_config
from warehouse.base import LoadContext, LoadPart, QuarantinedRow, ReplaceResult, Scope

logger = logging.getLogger(__name__)
UNIT_BACKOFF_SECONDS = 2.0
T = TypeVar("T")
_PREFECT_PREFIX = "Task run encountered an exception "
Unit = tuple[str, str, dt.date, dt.date]  # (stream, account, start, end)


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


def unit_retry_policy(retries: int, max_wait_seconds: float) -> RetryPolicy:
    """Exponential backoff (2 to 3 s, then 4 to 6 s, 8 to 12 s ...), never sooner than the API asked, and
    no wait over `max_wait_seconds`."""
    return RetryPolicy(
        max_attempts=retries + 1,
        initial_delay=UNIT_BACKOFF_SECONDS * 1.5,
        max_delay=math.inf,
        jitter=1 / 3,
        max_wait=max_wait_seconds,
    )


def with_unit_retries(
    call: Callable[[], T],
    *,
    retries: int,
    max_wait_seconds: float,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    draw: Callable[[], float] = random.random,
) -> T:
    """`call()`, retried on RetryableAPIError up to `retries` times, each wait honouring the API's delay.

    Raises:
        RetryWaitTooLong: the API asked for a longer wait than `max_wait_seconds` (not waited for).
        RetryableAPIError: still failing after the retries.
    """

    def give_up(exc: Exception, stop: GiveUp) -> BaseException:
        if stop.exhausted:
            return exc
        return RetryWaitTooLong(
            redact(
                f"{exc} [the API asks to wait {stop.wait:.0f}s, over max_retry_wait_minutes "
                f"({max_wait_seconds / 60:g} min): not retried]"
            ),
            retry_after=stop.asked,
        )

    return call_with_retries(
        call,
        classify=_unit_verdict,
        policy=unit_retry_policy(retries, max_wait_seconds),
        what=what,
        give_up=give_up,
        sleep=sleep,
        draw=draw,
    )


def _unit_verdict(exc: Exception) -> Retry | BaseException:
    return Retry(exc.retry_after) if isinstance(exc, RetryableAPIError) else exc


UNITS_PER_GROUP = 25  # units whose API work starts together (connector.prepare), extracted one by one
# Extracted rows are loaded once a task holds this many (and at its end), in one transaction per table: each
# load call has a fixed cost (open, schema checks, commit, DuckDB's checkpoint of partly replaced row groups)
# that small calls pay per few units. A task buffers at most this many rows plus one group's before loading.
ROWS_PER_LOAD = 500_000


@task(
    name="extract-and-load",
    task_run_name="{connector_name} {label}",
    cache_policy=NO_CACHE,
)
def extract_and_load(
    connector: Connector,
    warehouse: Warehouse,
    connector_name: str,
    units: list[Unit],
    run_id: str,
    label: str = "",
) -> list[UnitOutcome]:
    """Extract and load a batch of units. `UNITS_PER_GROUP` at a time the connector may start their API work
    together (Meta: every report run submitted, then polled together); each unit is extracted in full with
    its own retries; once `ROWS_PER_LOAD` rows are extracted (and at the end) they are loaded in one
    transaction per table, each unit replacing exactly its own (account, day) rows.

    Extraction finishes before the warehouse is touched, so a failed extraction never erases the last good
    data; a unit that fails (extraction or load) becomes a "failed" outcome and the others carry on. A
    retryable API error retries the unit's extraction after the delay the API asked for (bounded by
    `max_retry_wait_minutes`).
    """
    del label  # in the task run's name only
    outcomes: list[UnitOutcome] = []
    extracted: list[_Extraction] = []
    for start in range(0, len(units), UNITS_PER_GROUP):
        group = units[start : start + UNITS_PER_GROUP]
        connector.prepare(group)
        for unit in group:
            try:
                extracted.append(_extract_unit(connector, connector_name, unit))
            except Exception as exc:  # the unit fails, with its error, and the batch goes on
                outcomes.append(_failed(connector_name, unit, exc))
        if sum(item.row_count for item in extracted) >= ROWS_PER_LOAD:
            outcomes += _load_group(connector, warehouse, connector_name, extracted, run_id)
            extracted = []
    if extracted:
        outcomes += _load_group(connector, warehouse, connector_name, extracted, run_id)
    return outcomes


@dataclass(frozen=True)
class _Extraction:
    unit: Unit
    began: float
    rows: pa.Table | list[dict[str, Any]]
    quarantine: list[QuarantinedRow]

    @property
    def row_count(self) -> int:
        return self.rows.num_rows if isinstance(self.rows, pa.Table) else len(self.rows)


def _extract_unit(connector: Connector, connector_name: str, unit: Unit) -> _Extraction:
    stream, account, start, end = unit
    began, rows, quarantine = with_unit_retries(
        lambda: _extract(connector, stream, account, start, end),
        retries=connector.settings.unit_retries,
        max_wait_seconds=connector.settings.max_retry_wait_minutes * 60,
        what=f"{connector_name} {stream} account {account} {start}..{end}",
    )
    return _Extraction(unit, began, rows, quarantine)


def _failed(connector_name: str, unit: Unit, exc: BaseException) -> UnitOutcome:
    stream, account, start, end = unit
    error = redact(f"{type(exc).__name__}: {exc}")
    get_run_logger().error(
        "%s %s %s %s..%s failed: %s",
        connector_name,
        stream,
        account,
        start,
        end,
        error,
        exc_info=not isinstance(exc, MDPError),  # a bug keeps its traceback; an API or data error is one line
    )
    outcome = UnitOutcome(connector_name, account, start, end, "failed", error=error, stream=stream)
    emit(ProgressEvent("unit", connector_name, units=1, failed=True))
    return outcome


def _load_group(
    connector: Connector, warehouse: Warehouse, connector_name: str, extracted: list[_Extraction], run_id: str
) -> list[UnitOutcome]:
    """Load the extracted units, one transaction per table; if a combined load fails, each unit on its own,
    so that one unit's bad rows fail that unit only."""
    context = LoadContext(connector_name, run_id)
    by_table: dict[str, list[_Extraction]] = {}
    for item in extracted:
        by_table.setdefault(connector.stream(item.unit[0]).table.name, []).append(item)
    outcomes: list[UnitOutcome] = []
    for items in by_table.values():
        spec = connector.stream(items[0].unit[0]).table
        parts = [LoadPart(i.rows, Scope.of([i.unit[1]], i.unit[2], i.unit[3]), i.quarantine) for i in items]
        what = f"{connector_name} {spec.name} ({len(items)} unit(s))"
        try:
            results: list[ReplaceResult | BaseException] = list(
                when_free(functools.partial(warehouse.replace_many, spec, parts, context), what=what)
            )
        except (WarehouseError, TypeError) as exc:
            if len(items) == 1:
                results = [exc]
            else:
                get_run_logger().warning("%s: %s; loading each unit on its own", what, redact(str(exc)))
                results = [_load_one(warehouse, spec, part, context, what) for part in parts]
        for item, result in zip(items, results, strict=True):
            if isinstance(result, BaseException):
                outcomes.append(_failed(connector_name, item.unit, result))
            else:
                outcomes.append(_landed(connector_name, item, result, run_id))
    return outcomes


def _load_one(
    warehouse: Warehouse, spec: TableSpec, part: LoadPart, context: LoadContext, what: str
) -> ReplaceResult | WarehouseError:
    try:
        return when_free(lambda: warehouse.replace_many(spec, [part], context)[0], what=what)
    except WarehouseError as exc:
        return exc


def _landed(connector_name: str, item: _Extraction, result: ReplaceResult, run_id: str) -> UnitOutcome:
    stream, account, start, end = item.unit
    outcome = UnitOutcome(
        connector_name,
        account,
        start,
        end,
        "success",
        result.rows,
        result.quarantined,
        time.monotonic() - item.began,
        stream=stream,
    )
    # quarantined rows are never only an INFO line: the reconciliation step extracts the unit once more and
    # fails the run if they persist
    get_run_logger().log(
        logging.WARNING if result.quarantined else logging.INFO,
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
    emit(ProgressEvent("unit", connector_name, units=1, rows=result.rows, quarantined=result.quarantined))
    return outcome


def batches(units: list[Unit], workers: int) -> list[list[Unit]]:
    """The units split into at most `workers` task batches of near-equal size, in order (so a batch holds
    neighbouring accounts of one stream, and a connector can start their API work together)."""
    if not units:
        return []
    count = min(len(units), max(workers, 1))
    size, extra = divmod(len(units), count)
    out, at = [], 0
    for i in range(count):
        n = size + (1 if i < extra else 0)
        out.append(units[at : at + n])
        at += n
    return out


def batch_label(batch: list[Unit]) -> str:
    """A readable task run name: the stream(s), how many accounts and units, the days."""
    streams = sorted({u[0] for u in batch})
    accounts = sorted({u[1] for u in batch})
    first, last = min(u[2] for u in batch), max(u[3] for u in batch)
    who = accounts[0] if len(accounts) == 1 else f"{len(accounts)} accounts"
    what = streams[0] if len(streams) == 1 else f"{len(streams)} streams"
    return f"{what} {who} {first}..{last} ({len(batch)} unit(s))"


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


def not_landed(
    connector: Connector, connector_name: str, units: list[Unit], landed: set[tuple[str, str, str, dt.date]]
) -> list[Unit]:
    """The units with a day not in `landed` ((connector, table, account, day) loaded successfully)."""
    out = []
    for stream, account, start, end in units:
        table = connector.stream(stream).table.name
        days = (start + dt.timedelta(days=i) for i in range((end - start).days + 1))
        if any((connector_name, table, account, day) not in landed for day in days):
            out.append((stream, account, start, end))
    return out


def plan_units(
    connector: Connector,
    accounts: list[str],
    start: dt.date,
    end: dt.date,
    snapshot_day: dt.date | None,
    *,
    reconciling: bool = True,
) -> tuple[list[Unit], list[str]]:
    """The units of a connector's selected streams, and the snapshot streams left out (with why).

    Report streams: every account x date chunk. Snapshot streams: one unit per account on
    `snapshot_day`, when the run covers the latest complete day (the state is the API's current one).
    The platform totals stream comes with the primary one, unless the run does not reconcile
    (`reconciling` false) and the configuration does not name it.
    """
    units: list[Unit] = []
    skipped: list[str] = []
    streams = connector.selected_streams
    named = connector.settings.streams or []
    if not reconciling and connector.totals_stream not in named:
        streams = tuple(s for s in streams if s.name != connector.totals_stream)
    for stream in streams:
        if stream.kind == "snapshot":
            if snapshot_day is None:
                skipped.append(stream.name)
                continue
            units += [(stream.name, a, snapshot_day, snapshot_day) for a in accounts]
        else:
            pieces = list(chunks(start, end, connector.settings.chunk_days))
            units += [(stream.name, a, s, e) for a in accounts for s, e in pieces]
    return units, skipped


def _run_name() -> str:
    """ingest-<connector>-<start>-<end>, and -shard-<i>of<n> for a shard of a fanned-out run."""
    params = flow_run.get_parameters()
    name = f"ingest-{params['connector_name']}-{params['start']}-{params['end']}"
    return f"{name}-shard-{params['shard'].replace('/', 'of')}" if params.get("shard") else name


@flow(name="ingest", flow_run_name=_run_name)
async def ingest_connector(
    connector_name: str,
    start: dt.date,
    end: dt.date,
    run_id: str,
    accounts: list[str] | None = None,
    config_path: str | None = None,
    snapshot_day: dt.date | None = None,
    units: list[dict[str, str]] | None = None,
    resume: str | None = None,
    shard: str | None = None,
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
        resume: skip the units this run id already loaded (finishing an interrupted run).
        shard: which of the connector's account shards this run is ("2/5"), when the parent fans out
            (`execution: deployments`); the parent reads the outcomes from ops.load_log.
    """
    log = get_run_logger()
    # Off the event loop: building a client takes a moment, and the other connectors' subflows start meanwhile.
    connector, warehouse, reconciling = await asyncio.to_thread(_setup, config_path, connector_name)
    try:
        if units is not None:
            planned, skipped = given_units(connector, units, snapshot_day)
            selected = sorted({account for _, account, _, _ in planned})
        else:
            discovery = list_accounts.submit(connector, connector_name)
            covered = await asyncio.to_thread(discovery.result)
            wanted = None if accounts is None else {canonical_account(a) for a in accounts}
            selected = [a for a in covered if wanted is None or canonical_account(a) in wanted]
            planned, skipped = plan_units(connector, selected, start, end, snapshot_day, reconciling=reconciling)
        if resume is not None:
            landed = await asyncio.to_thread(landed_days, warehouse, resume)
            remaining = not_landed(connector, connector_name, planned, landed)
            log.info(
                "resume %s: %d of %s's %d unit(s) already landed, not extracted again",
                resume,
                len(planned) - len(remaining),
                connector_name,
                len(planned),
            )
            planned = remaining
        log.info(
            "run %s: %s%s has %d account(s), %d stream(s), %d unit(s) from %s to %s",
            run_id,
            connector_name,
            f" shard {shard}" if shard else "",
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
        emit(ProgressEvent("planned", connector_name, units=len(planned), run_id=run_id))
        work = batches(planned, connector.settings.max_concurrency)
        futures = [
            extract_and_load.submit(connector, warehouse, connector_name, batch, run_id, batch_label(batch))
            for batch in work
        ]
        outcomes = await asyncio.to_thread(_collect, futures, work, connector_name)
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


def _setup(config_path: str | None, connector_name: str) -> tuple[Connector, Warehouse, bool]:
    config = load_config(config_path)
    connector = build_connector(config, config.connector(connector_name))
    return connector, from_config(config), config.reconciliation.enabled


def _collect(futures: list[PrefectFuture[list[UnitOutcome]]], work: list[list[Unit]], name: str) -> list[UnitOutcome]:
    """Wait for every batch; a batch that crashed as a whole fails each of its units, not the others."""
    outcomes = []
    for future, batch in zip(futures, work, strict=True):
        future.wait()
        if future.state.is_completed():
            outcomes += future.result()
            continue
        error = redact(str(future.state.message or future.state.name).removeprefix(_PREFECT_PREFIX))
        for stream, account, start, end in batch:
            emit(ProgressEvent("unit", name, units=1, failed=True))
            outcomes.append(UnitOutcome(name, account, start, end, "failed", error=error, stream=stream))
    return outcomes
