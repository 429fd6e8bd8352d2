"""`execution: deployments`: each connector's ingest, split into account shards, runs as a deployment run of
the ingest flow on the work pool (a subflow of the parent in the Prefect UI). The parent plans the same units
the shards will, waits for every shard, starts a crashed shard once more on any worker, fails a shard no worker
starts in time (naming the pool), and reads every unit's outcome from ops.load_log, where the shards, in other
processes or machines, recorded them."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.deployments.flow_runs import arun_deployment
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelled, Crashed

from connectors.registry import build_connector
from flows.ingest import Unit, UnitOutcome, given_units, list_accounts, not_landed, plan_units, when_free
from flows.progress import ProgressEvent, emit
from flows.retry import landed_days
from flows.windows import canonical_account
from mdp.config import ExecutionSettings, PipelineConfig
from mdp.errors import MDPError
from mdp.schema import TableSpec
from mdp.secrets import redact
from warehouse import from_config
from warehouse.base import LOAD_LOG, LoadContext, Scope, sql_table, table_exists

HEARTBEAT_EVENT = "prefect.flow-run.heartbeat"
SHARD_TAG = "mdp-shard"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
NOT_STARTED = {"SCHEDULED", "PAUSED"}
READ_PAGE = 200  # flow runs read per call (the API's default page limit)
EVENTS_PAGE = 50  # events read per call (the API refuses more)


class FanOutError(MDPError):
    """The shards cannot be started at all (e.g. the ingest deployment is not deployed)."""


@dataclass
class Shard:
    """One connector's accounts shard: the units it must land, and its deployment runs (one per attempt)."""

    connector: str
    index: int
    count: int
    units: list[Unit]
    specs: dict[str, TableSpec]  # stream name -> its raw table
    parameters: dict[str, Any]
    runs: list[str] = field(default_factory=list)  # flow run ids, one per attempt
    created: float = 0.0  # time.monotonic() of the latest attempt's creation
    state: str = ""  # the latest attempt's state type, once final
    error: str | None = None  # why the shard as a whole did not complete (crashed twice, never started, ...)

    @property
    def label(self) -> str:
        return f"{self.connector} shard {self.index}/{self.count}"

    @property
    def run_id(self) -> str:
        return self.runs[-1]


@dataclass
class ConnectorPlan:
    shards: list[Shard]
    error: str | None = None


def shard_accounts(accounts: list[str], size: int) -> list[list[str]]:
    """Consecutive groups of at most `size` accounts, in the order given."""
    return [accounts[i : i + size] for i in range(0, len(accounts), size)]


def plan_connector(
    config: PipelineConfig,
    name: str,
    start: dt.date,
    end: dt.date,
    run_id: str,
    *,
    accounts: list[str] | None,
    config_path: str | None,
    snapshot_day: dt.date | None,
    units: list[dict[str, str]] | None,
    resume: str | None,
    landed: set[tuple[str, str, str, dt.date]] | None,
) -> list[Shard]:
    """The shards of one connector, each with the units the ingest flow will plan for its accounts (the same
    functions plan them here and in the shard)."""
    connector = build_connector(config, config.connector(name))
    try:
        if units is not None:
            planned, _ = given_units(connector, units, snapshot_day)
            selected = list(dict.fromkeys(account for _, account, _, _ in planned))
        else:
            covered = list_accounts(connector, name)
            wanted = None if accounts is None else {canonical_account(a) for a in accounts}
            selected = [a for a in covered if wanted is None or canonical_account(a) in wanted]
            planned, _ = plan_units(
                connector, selected, start, end, snapshot_day, reconciling=config.reconciliation.enabled
            )
        if resume is not None and landed is not None:
            planned = not_landed(connector, name, planned, landed)
        specs = {stream.name: stream.table for stream in connector.streams}
    finally:
        connector.close()
    groups = [g for g in shard_accounts(selected, config.execution.shard_accounts)]
    shards = []
    for group in groups:
        members = set(group)
        mine = [u for u in planned if u[1] in members]
        if not mine:
            continue  # e.g. resuming: this shard's units all landed
        parameters: dict[str, Any] = {
            "connector_name": name,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "run_id": run_id,
            "accounts": group,
            "config_path": config_path,
            "snapshot_day": snapshot_day.isoformat() if snapshot_day else None,
            "units": None
            if units is None
            else [{"stream": s, "account": a, "start": str(b), "end": str(e)} for s, a, b, e in mine],
            "resume": resume,
        }
        shards.append(Shard(name, 0, 0, mine, specs, parameters))
    for i, shard in enumerate(shards, 1):
        shard.index, shard.count = i, len(shards)
        shard.parameters["shard"] = f"{i}/{len(shards)}"
    return shards


async def ingest_by_deployments(
    config: PipelineConfig,
    windows: dict[str, tuple[dt.date, dt.date]],
    run_id: str,
    *,
    accounts: list[str] | None,
    config_path: str | None,
    snapshot_days: dict[str, dt.date | None],
    units: dict[str, list[dict[str, str]]],
    resume: str | None,
    log: logging.Logger | logging.LoggerAdapter[logging.Logger],
) -> tuple[list[UnitOutcome], dict[str, str]]:
    """Every connector's shards as deployment runs: the outcome of every unit (from ops.load_log), and an
    error per connector that could not be planned or per shard that did not complete."""
    settings = config.execution
    errors: dict[str, str] = {}
    landed = None
    if resume is not None:
        landed = await asyncio.to_thread(landed_days, from_config(config, read_only=True), resume)
    plans = await asyncio.gather(
        *(
            _plan(config, name, window, run_id, accounts, config_path, snapshot_days.get(name), units, resume, landed)
            for name, window in windows.items()
        )
    )
    shards: list[Shard] = []
    for name, plan in zip(windows, plans, strict=True):
        if plan.error is not None:
            errors[name] = plan.error
            continue
        shards += plan.shards
        emit(ProgressEvent("planned", name, units=sum(len(s.units) for s in plan.shards), run_id=run_id))
    log.info(
        "run %s: %d shard(s) of at most %d account(s) as runs of deployment %s: %s",
        run_id,
        len(shards),
        settings.shard_accounts,
        settings.ingest_deployment,
        ", ".join(f"{s.label} ({len(s.units)} unit(s))" for s in shards) or "none",
    )
    if shards:
        async with get_client() as client:
            pool = await _work_pool(client, settings)
            await _start_all(client, shards, settings, run_id, log)
            await _wait(client, shards, settings, pool, run_id, log)
    outcomes = await asyncio.to_thread(_outcomes, config, run_id, shards, log)
    for shard in shards:
        if shard.error is not None:
            errors[shard.label] = shard.error
    return outcomes, errors


async def _plan(
    config: PipelineConfig,
    name: str,
    window: tuple[dt.date, dt.date],
    run_id: str,
    accounts: list[str] | None,
    config_path: str | None,
    snapshot_day: dt.date | None,
    units: dict[str, list[dict[str, str]]],
    resume: str | None,
    landed: set[tuple[str, str, str, dt.date]] | None,
) -> ConnectorPlan:
    start, end = window
    try:
        shards = await asyncio.to_thread(
            plan_connector,
            config,
            name,
            start,
            end,
            run_id,
            accounts=accounts,
            config_path=config_path,
            snapshot_day=snapshot_day,
            units=units.get(name) if units else None,
            resume=resume,
            landed=landed,
        )
    except Exception as exc:  # e.g. account discovery failed: this connector fails, the others go on
        return ConnectorPlan([], redact(f"{type(exc).__name__}: {exc}"))
    return ConnectorPlan(shards)


async def _work_pool(client: PrefectClient, settings: ExecutionSettings) -> str:
    try:
        deployment = await client.read_deployment_by_name(settings.ingest_deployment)
    except ObjectNotFound:
        raise FanOutError(
            f"execution.ingest_deployment {settings.ingest_deployment!r} is not deployed on this Prefect server: "
            "deploy it (`mdp deploy --local`, or `prefect deploy -n` the ingest deployment of prefect.yaml) "
            "or set execution.mode: in_process"
        ) from None
    return deployment.work_pool_name or "(the deployment has no work pool)"


async def _start_all(
    client: PrefectClient, shards: list[Shard], settings: ExecutionSettings, run_id: str, log: Any
) -> None:
    gate = asyncio.Semaphore(settings.max_concurrent_starts)

    async def start(shard: Shard) -> None:
        async with gate:
            await _start(client, shard, settings, run_id, log)

    await asyncio.gather(*(start(s) for s in shards))


async def _start(client: PrefectClient, shard: Shard, settings: ExecutionSettings, run_id: str, log: Any) -> None:
    """A deployment run of the shard (its next attempt), linked to the parent as a subflow."""
    attempt = len(shard.runs) + 1
    window = f"{shard.parameters['start']}-{shard.parameters['end']}"
    name = f"ingest-{shard.connector}-{window}-shard-{shard.index}of{shard.count}"  # as the flow names itself
    run = await arun_deployment(
        settings.ingest_deployment,
        client=client,
        parameters=shard.parameters,
        flow_run_name=name,
        timeout=0,
        as_subflow=True,
        tags=[SHARD_TAG],
        idempotency_key=f"{run_id}:{shard.label}:{attempt}",
    )
    shard.runs.append(str(run.id))
    shard.created = time.monotonic()
    log.info("%s: flow run %s (%s), attempt %d", shard.label, run.name, run.id, attempt)


async def _read_runs(client: PrefectClient, ids: list[str]) -> list[FlowRun]:
    runs: list[FlowRun] = []
    for i in range(0, len(ids), READ_PAGE):
        page = ids[i : i + READ_PAGE]
        runs += await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(i) for i in page])), limit=len(page)
        )
    return runs


async def _wait(
    client: PrefectClient, shards: list[Shard], settings: ExecutionSettings, pool: str, run_id: str, log: Any
) -> None:
    """Until every shard is final: restart the crashed ones (shard_attempts), cancel the ones no worker started
    in time, mark Crashed the running ones without a heartbeat for stale_after_seconds."""
    waiting = {shard.run_id: shard for shard in shards}
    liveness_every = max(settings.poll_seconds, settings.stale_after_seconds / 4)
    last_liveness = progress = time.monotonic()  # progress: when a shard last started or ended
    seen: dict[str, str] = {}  # flow run id -> the state type last seen
    while waiting:
        await asyncio.sleep(settings.poll_seconds)
        runs = await _read_runs(client, list(waiting))
        for gone in set(waiting) - {str(run.id) for run in runs}:  # deleted (e.g. in the UI): not waited for
            shard = waiting.pop(gone)
            shard.state, shard.error = "CANCELLED", f"flow run {gone} was deleted before it ended"
        running: list[FlowRun] = []
        now = dt.datetime.now(dt.UTC)
        for run in runs:
            shard = waiting[str(run.id)]
            kind = run.state.type.value if run.state else "PENDING"
            if seen.get(str(run.id), "SCHEDULED") != kind:
                seen[str(run.id)] = kind
                progress = time.monotonic()
            if kind in ("COMPLETED", "FAILED"):
                shard.state = kind
                del waiting[str(run.id)]
            elif kind == "CRASHED":
                message = run.state.message if run.state else ""
                del waiting[str(run.id)]
                if await _again(client, shard, settings, run_id, log, f"crashed: {message}"):
                    waiting[shard.run_id] = shard
            elif kind in ("CANCELLED", "CANCELLING"):
                shard.state, shard.error = "CANCELLED", f"flow run {run.name} was cancelled"
                del waiting[str(run.id)]
            elif kind == "PENDING" and _pending_for(run, now) > settings.start_timeout_seconds:
                # a worker took it and never started it (that worker stopped): as a crash
                del waiting[str(run.id)]
                reason = f"taken by a worker, not started within {settings.start_timeout_seconds} s"
                await client.set_flow_run_state(run.id, Crashed(message=reason), force=True)
                if await _again(client, shard, settings, run_id, log, f"crashed: {reason}"):
                    waiting[shard.run_id] = shard
            elif kind in NOT_STARTED and time.monotonic() - progress > settings.start_timeout_seconds:
                # shards queue while the workers are busy with others: only a pool where nothing starts or
                # ends for start_timeout_seconds has no worker
                await client.set_flow_run_state(
                    run.id, Cancelled(message=f"no worker started it in {settings.start_timeout_seconds} s"), force=True
                )
                shard.state = "CANCELLED"
                shard.error = (
                    f"flow run {run.name} did not start within {settings.start_timeout_seconds} s: no worker of "
                    f"work pool {pool!r} took it, nor any other shard meanwhile (is a worker running on that pool?)"
                )
                log.error("%s: %s", shard.label, shard.error)
                del waiting[str(run.id)]
            elif kind == "RUNNING":
                running.append(run)
        if running and time.monotonic() - last_liveness >= liveness_every:
            last_liveness = time.monotonic()
            for run in await _stale(client, running, settings.stale_after_seconds):
                shard = waiting.pop(str(run.id))
                reason = f"no heartbeat for {settings.stale_after_seconds} s: its worker or machine stopped"
                await client.set_flow_run_state(run.id, Crashed(message=reason), force=True)
                if await _again(client, shard, settings, run_id, log, f"crashed: {reason}"):
                    waiting[shard.run_id] = shard


def _pending_for(run: FlowRun, now: dt.datetime) -> float:
    """Seconds the run has been Pending (taken by a worker, not started)."""
    since = run.state.timestamp if run.state is not None and run.state.timestamp else now
    return (now - since).total_seconds()


async def _again(
    client: PrefectClient, shard: Shard, settings: ExecutionSettings, run_id: str, log: Any, why: str
) -> bool:
    """Start a crashed shard once more (True), or give it up after its last attempt (False)."""
    if len(shard.runs) < settings.shard_attempts:
        log.warning("%s %s; starting it again (attempt %d)", shard.label, why, len(shard.runs) + 1)
        await _start(client, shard, settings, run_id, log)
        return True
    shard.state = "CRASHED"
    shard.error = f"{why} (attempt {len(shard.runs)} of {settings.shard_attempts}; flow runs {', '.join(shard.runs)})"
    log.error("%s %s", shard.label, shard.error)
    return False


async def _stale(client: PrefectClient, running: list[FlowRun], stale_after: int) -> list[FlowRun]:
    """The running flow runs started more than `stale_after` seconds ago with no heartbeat event since."""
    now = dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(seconds=stale_after)
    old = [r for r in running if r.start_time is not None and r.start_time < since]
    if not old:
        return []
    alive: set[str] = set()
    event_filter = EventFilter(
        event=EventNameFilter(name=[HEARTBEAT_EVENT]),
        resource=EventResourceFilter(id=[f"prefect.flow-run.{r.id}" for r in old]),
        occurred=EventOccurredFilter(since=since, until=now + dt.timedelta(minutes=5)),
    )
    page = await client.read_events(filter=event_filter, limit=EVENTS_PAGE)
    while True:
        alive |= {event.resource.id.removeprefix("prefect.flow-run.") for event in page.events}
        if page.next_page is None or len(alive) == len(old):
            break
        page = await client.read_events_page(str(page.next_page))
    return [r for r in old if str(r.id) not in alive]


def _days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    for i in range((end - start).days + 1):
        yield start + dt.timedelta(days=i)


def _outcomes(config: PipelineConfig, run_id: str, shards: list[Shard], log: Any) -> list[UnitOutcome]:
    """Each planned unit's outcome from ops.load_log (the latest record of each of its days in this run); a unit
    with a day never recorded failed with its shard's reason, and is recorded failed (for --retry-failed)."""
    warehouse = from_config(config)
    latest: dict[tuple[str, str, str, dt.date], tuple[Any, ...]] = {}
    if shards and table_exists(warehouse, LOAD_LOG):
        rows = when_free(
            lambda: warehouse.query(
                "SELECT connector, table_name, account_id, day, status, rows, quarantined, error, started_at, "
                f"finished_at FROM {sql_table(warehouse, LOAD_LOG)} WHERE run_id = ? ORDER BY finished_at",
                [run_id],
            ),
            what="reading the shards' outcomes",
        )
        for row in rows:
            day = row[3] if isinstance(row[3], dt.date) else dt.date.fromisoformat(str(row[3]))
            latest[(row[0], row[1], str(row[2]), day)] = row
    outcomes: list[UnitOutcome] = []
    missing: dict[tuple[str, str, dt.date, dt.date, str], list[str]] = {}  # one record per stream x chunk x reason
    specs = {(shard.connector, name): spec for shard in shards for name, spec in shard.specs.items()}
    for shard in shards:
        why = shard.error or f"the shard's flow run ended {shard.state or 'unfinished'} without recording it"
        for stream, account, start, end in shard.units:
            table = shard.specs[stream].name
            records = [latest.get((shard.connector, table, account, day)) for day in _days(start, end)]
            outcome = _unit(shard.connector, stream, account, start, end, records, why)
            if outcome.error == f"not loaded: {why}":
                missing.setdefault((shard.connector, stream, start, end, outcome.error), []).append(account)
            emit(ProgressEvent("unit", shard.connector, units=1, rows=outcome.rows, failed=outcome.status != "success"))
            outcomes.append(outcome)
    for (connector, stream, start, end, error), accounts in missing.items():
        spec, scope, context = (
            specs[(connector, stream)],
            Scope.of(accounts, start, end),
            LoadContext(connector, run_id),
        )
        when_free(
            functools.partial(warehouse.log_failure, spec, scope, context, error),
            what="recording the units a shard did not load",
        )
    if missing:
        count = sum(len(accounts) for accounts in missing.values())
        log.error("%d unit(s) were not loaded by their shard (recorded failed in %s)", count, LOAD_LOG)
    return outcomes


def _unit(
    connector: str,
    stream: str,
    account: str,
    start: dt.date,
    end: dt.date,
    records: list[tuple[Any, ...] | None],
    why: str,
) -> UnitOutcome:
    if any(r is None for r in records):
        return UnitOutcome(connector, account, start, end, "failed", error=f"not loaded: {why}", stream=stream)
    found = [r for r in records if r is not None]
    seconds = (max(r[9] for r in found) - min(r[8] for r in found)).total_seconds()
    failed = [r for r in found if r[4] != "success"]
    if failed:
        return UnitOutcome(
            connector, account, start, end, "failed", seconds=seconds, error=failed[0][7] or "failed", stream=stream
        )
    return UnitOutcome(
        connector,
        account,
        start,
        end,
        "success",
        rows=sum(int(r[5]) for r in found),
        quarantined=sum(int(r[6]) for r in found),
        seconds=seconds,
        stream=stream,
    )
