"""`daily_pipeline`, the parent flow: ingest every connector concurrently, then dbt, then monitoring."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.client.schemas.objects import State
from prefect.logging import get_run_logger
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from connectors.registry import build_connectors
from flows.fanout import ingest_by_deployments
from flows.forecast import ForecastResult, forecast_pacing, warm_up
from flows.fx_coverage import check_fx_coverage
from flows.ingest import UnitOutcome, ingest_connector
from flows.monitor import MonitorResult, artifact_rows, volume_monitor
from flows.notify import notify_flow_failure
from flows.preflight import accounts_of, check_credentials, check_warehouse, plan
from flows.progress import ProgressEvent, emit
from flows.reconcile import ReconcileResult, reconciliation, reextract_units
from flows.retry import failed_units, landed_days
from flows.status import ExcludedDay, excluded_account_days
from flows.transform import dbt_build
from flows.windows import RunParameters, run_parameters
from mdp.config import PipelineConfig, load_config
from mdp.errors import MDPError
from mdp.secrets import redact
from warehouse import from_config
from warehouse.base import LoadContext, Scope


def _threads(workers: int) -> Any:
    """A thread pool task runner (typed loosely: Prefect's generics do not line up under mypy)."""
    return ThreadPoolTaskRunner(max_workers=workers)


def _run_name() -> str:
    """daily-<run_date>, or rerun-<start>..<end> when a range is given."""
    params = flow_run.get_parameters()
    if params.get("start_date"):
        return f"rerun-{params['start_date']}..{params.get('end_date') or 'yesterday'}"
    return f"daily-{params.get('run_date') or dt.date.today()}"


class PipelineFailed(MDPError):
    """Some connectors, accounts or steps failed; the others landed."""


@dataclass
class RunSummary:
    """What a parent run did, for artifacts, the CLI and tests."""

    run_id: str
    windows: dict[str, tuple[dt.date, dt.date]]
    outcomes: list[UnitOutcome] = field(default_factory=list)
    connector_errors: dict[str, str] = field(default_factory=dict)
    steps: dict[str, str] = field(default_factory=dict)
    step_errors: dict[str, str] = field(default_factory=dict)
    step_details: dict[str, str] = field(default_factory=dict)  # e.g. dbt node counts, monitoring verdicts
    flagged_checks: list[dict[str, Any]] = field(default_factory=list)  # monitoring's non-ok checks
    reconciliation: ReconcileResult | None = None
    reextracted: list[UnitOutcome] = field(default_factory=list)  # units extracted again to reconcile
    excluded: list[ExcludedDay] = field(default_factory=list)  # account-days the marts had to leave out
    off_pace: list[dict[str, Any]] = field(default_factory=list)  # pacing rows off pace (the forecast step)

    @property
    def quarantined(self) -> dict[str, int]:
        """Rows set aside in quarantine, per connector (the latest load of each unit)."""
        out: dict[str, int] = {}
        for outcome in self.latest_outcomes():
            if outcome.quarantined:
                out[outcome.connector] = out.get(outcome.connector, 0) + outcome.quarantined
        return out

    def latest_outcomes(self) -> list[UnitOutcome]:
        """Each unit's outcome, the one of its second extraction (reconciliation) when it had one."""
        again = {(o.connector, o.stream, o.account, o.start, o.end) for o in self.reextracted}
        first = [o for o in self.outcomes if (o.connector, o.stream, o.account, o.start, o.end) not in again]
        return first + self.reextracted

    @property
    def failed(self) -> list[UnitOutcome]:
        return [o for o in self.latest_outcomes() if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return (
            not self.failed and not self.connector_errors and "failed" not in self.steps.values() and not self.excluded
        )

    def failure_text(self) -> str:
        lines = [f"{name}: {error}" for name, error in self.connector_errors.items()]
        lines += [f"{o.connector} {o.stream} account {o.account} {o.start}..{o.end}: {o.error}" for o in self.failed]
        lines += [
            f"step {step}: failed: {self.step_errors.get(step, 'no reason given')}"
            for step, status in self.steps.items()
            if status == "failed"
        ]
        if self.steps.get("reconciliation") == "failed" and self.reconciliation is not None:
            lines += [f"  {line}" for line in self.reconciliation.failure_lines()]
        if self.excluded:
            lines.append(f"{len(self.excluded)} account-day(s) left out of the marts (marts.excluded_account_days):")
            lines += [f"  {e.line()}" for e in self.excluded]
        return "\n".join(lines)


def retry_plan(
    config: PipelineConfig, params: RunParameters, log: Any
) -> tuple[dict[str, tuple[dt.date, dt.date]], dict[str, list[dict[str, str]]]]:
    """The windows and units of a retry_failed run (nothing when no unit is left to retry)."""
    assert params.retry_failed is not None
    run, units = failed_units(from_config(config, read_only=True), config, params.retry_failed)
    wanted = set(params.connectors or [c.name for c in config.connectors])
    units = [u for u in units if u.connector in wanted]
    if not units:
        log.info("retry_failed %s: no failed unit left to rerun", params.retry_failed)
    else:
        log.info("retrying %d failed unit(s) of run %s: %s", len(units), run, "; ".join(map(str, units)))
    if units and params.run_dbt:
        check_fx_coverage(min(u.start for u in units), max(u.end for u in units), config.reporting_currency)
    windows: dict[str, tuple[dt.date, dt.date]] = {}
    per_connector: dict[str, list[dict[str, str]]] = {}
    for unit in units:
        start, end = windows.get(unit.connector, (unit.start, unit.end))
        windows[unit.connector] = (min(start, unit.start), max(end, unit.end))
        per_connector.setdefault(unit.connector, []).append(unit.as_parameter())
    return windows, per_connector


def snapshot_day(params: RunParameters, today: dt.date, end: dt.date) -> dt.date | None:
    """The day entity snapshots are dated: the window's end when it is the latest complete day before
    run_date (a daily run or a rerun up to yesterday); None for a backfill that ends earlier, because
    the APIs only return entities as they are now and would date today's names in the past."""
    run_date = params.run_date or today
    return end if end == run_date - dt.timedelta(days=1) else None


@flow(
    name="daily_pipeline",
    flow_run_name=_run_name,
    on_failure=[notify_flow_failure],
    on_crashed=[notify_flow_failure],
    task_runner=_threads(4),
)
async def daily_pipeline(
    run_date: dt.date | None = None,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    lookback_days: int | None = None,
    connectors: list[str] | None = None,
    accounts: list[str] | None = None,
    run_dbt: bool = True,
    run_monitoring: bool = True,
    allow_long_range: bool = False,
    retry_failed: str | None = None,
    resume: str | None = None,
    config_path: str | None = None,
    run_forecast: bool = True,
) -> RunSummary:
    """Load every connector's recent days (or a rerun/backfill range), rebuild the marts, check volumes.

    Args:
        run_date: the run's "today" (default: today in the pipeline time zone); loads end the day before.
        start_date: first day to reload, for a rerun or a backfill (overrides the lookback).
        end_date: last day to reload (default: the day before run_date).
        lookback_days: days re-read before run_date (default: each connector's own lookback).
        connectors: only these connectors (default: every enabled connector).
        accounts: only these accounts (default: every account the connectors cover).
        run_dbt: rebuild the dbt models after loading.
        run_monitoring: compare the loaded volumes with their history afterwards.
        allow_long_range: load more than 37 months in one run, on purpose.
        retry_failed: rerun exactly the units this run id ('latest': the last run with any) failed to load,
            and that no run has loaded since (ops.load_log), instead of a window.
        resume: finish this interrupted run id: the same window, skipping the units it already loaded.
        config_path: pipeline.yaml to use (default: $MDP_CONFIG, ./pipeline.yaml, the sample).
        run_forecast: forecast to the month's end and pace it after dbt (when `forecast.enabled`).
    """
    log = get_run_logger()
    params = run_parameters(
        run_date=run_date,
        start_date=start_date,
        end_date=end_date,
        lookback_days=lookback_days,
        connectors=connectors,
        accounts=accounts,
        run_dbt=run_dbt,
        run_monitoring=run_monitoring,
        run_forecast=run_forecast,
        allow_long_range=allow_long_range,
        retry_failed=retry_failed,
        resume=resume,
    )
    config = load_config(config_path)
    today = dt.datetime.now(config.tz).date()
    windows = plan(config, params, today)
    await asyncio.to_thread(check_warehouse, config)  # before anything reads or writes it, or calls an API
    retry: dict[str, list[dict[str, str]]] = {}
    if params.retry_failed is not None:
        windows, retry = retry_plan(config, params, log)
    if params.resume is not None:
        done = landed_days(from_config(config, read_only=True), params.resume)  # fails early on an unknown run
        log.info("resuming run %s: %d (account, day) load(s) are in, not extracted again", params.resume, len(done))
    await asyncio.to_thread(check_credentials, config, list(windows))  # off the loop: a block loads synchronously
    if params.run_forecast and config.forecast.enabled and params.run_dbt:
        warm_up()
    built = build_connectors(config, list(windows))
    selected = accounts_of(built, params.accounts)
    concurrency = {c.name: c.settings.max_concurrency for c in built}
    run_id = str(flow_run.get_id() or f"local-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}")
    summary = RunSummary(run_id, windows)
    log.info("run %s: windows %s", run_id, {k: f"{s}..{e}" for k, (s, e) in windows.items()})

    # the same units either way: in this process, or as account shards on the work pool (execution: deployments)
    what: dict[str, Any] = {
        "accounts": selected,
        "config_path": config_path,
        "snapshot_days": {name: snapshot_day(params, today, end) for name, (_, end) in windows.items()},
        "units": retry,
        "resume": params.resume,
    }
    if config.execution.mode == "deployments":
        outcomes, errors = await ingest_by_deployments(config, windows, run_id, log=log, **what)
    else:
        outcomes, errors = await _ingest(windows, run_id, concurrency, **what)
    summary.outcomes.extend(outcomes)
    summary.connector_errors.update(errors)
    landed = any(o.status == "success" for o in summary.outcomes)

    # The incremental marts rebuild from the earliest day this run reloaded (a backfill reaches back).
    dbt_vars = {"incremental_start_date": min(s for s, _ in windows.values()).isoformat()} if windows else {}
    if params.run_dbt:
        await _step(summary, "dbt", dbt_build, landed or not windows, config_path, log, vars=dbt_vars)
    if config.reconciliation.enabled and landed and summary.steps.get("dbt") != "failed":
        await _reconcile(summary, config, config_path, log, concurrency, dbt_vars if params.run_dbt else None)
    if summary.steps.get("dbt") == "completed" and windows:
        # the account-days of this run's windows the marts had to leave out (mdp status lists older ones)
        first, last = min(s for s, _ in windows.values()), max(e for _, e in windows.values())
        found = await asyncio.to_thread(excluded_account_days, from_config(config, read_only=True))
        summary.excluded = [e for e in found if first <= e.date_day <= last]
        for excluded in summary.excluded:
            log.warning("left out of the marts: %s", excluded.line())
    if params.run_monitoring:
        await _step(summary, "monitoring", volume_monitor, True, config_path, log, run_id=run_id, windows=windows)
    if params.run_forecast and config.forecast.enabled and params.run_dbt:
        if summary.steps.get("dbt") != "completed":
            # marts dbt could not rebuild would pace stale numbers; the run fails on dbt already
            log.warning("forecast_pacing skipped: dbt %s", summary.steps.get("dbt"))
            summary.steps["forecast"] = "skipped"
        else:
            await _step(summary, "forecast", forecast_pacing, True, config_path, log, run_id=run_id)
    await _publish(summary)
    if not summary.ok:
        raise PipelineFailed(f"run {run_id} failed:\n{summary.failure_text()}")
    return summary


async def _ingest(
    windows: dict[str, tuple[dt.date, dt.date]],
    run_id: str,
    concurrency: dict[str, int],
    *,
    accounts: list[str] | None,
    config_path: str | None,
    snapshot_days: dict[str, dt.date | None],
    units: dict[str, list[dict[str, str]]],
    resume: str | None,
) -> tuple[list[UnitOutcome], dict[str, str]]:
    """Every connector's ingest subflow, concurrently: the outcomes of their units, and the error of each
    connector whose subflow failed without any (a failed subflow still carries its per-unit outcomes)."""
    calls = []
    for name, (start, end) in windows.items():
        subflow = ingest_connector.with_options(task_runner=_threads(concurrency[name]))
        calls.append(
            subflow(
                name,
                start,
                end,
                run_id,
                accounts=accounts,
                config_path=config_path,
                snapshot_day=snapshot_days.get(name),
                units=units.get(name),
                resume=resume,
                return_state=True,
            )
        )
    states: list[State[Any]] = await asyncio.gather(*calls)
    outcomes: list[UnitOutcome] = []
    errors: dict[str, str] = {}
    for name, state in zip(windows, states, strict=True):
        result: Any = state.result(raise_on_failure=False)
        if asyncio.iscoroutine(result):
            result = await result
        if isinstance(result, list):  # a Failed ingest still returns every unit's outcome, failures named in them
            outcomes.extend(result)
        else:
            errors[name] = redact(f"{type(result).__name__}: {result}" if result else str(state.message))
    return outcomes, errors


async def _reconcile(
    summary: RunSummary,
    config: PipelineConfig,
    config_path: str | None,
    log: Any,
    concurrency: dict[str, int],
    dbt_vars: dict[str, Any] | None,
) -> None:
    """Reconcile what the run loaded with the platforms' totals (when dbt built the marts: `dbt_vars` given)
    and look for quarantined rows; extract what does not reconcile once more, rebuild and compare again; what
    still does not fails the run and is recorded as failed in ops.load_log (so `mdp status` shows it and
    `--retry-failed` takes it)."""
    with_totals = dbt_vars is not None
    step = functools.partial(
        _step, summary, "reconciliation", reconciliation, True, config_path, log, run_id=summary.run_id
    )
    await step(with_totals=with_totals)
    first = summary.reconciliation
    if first is None or first.ok:
        return
    units = reextract_units(config, first)
    count = sum(len(u) for u in units.values())
    log.warning(
        "reconciliation: %d account-day(s) do not reconcile; extracting %d unit(s) once more",
        len([d for days in first.failed_days().values() for d in days]),
        count,
    )
    windows = {
        name: (min(dt.date.fromisoformat(u["start"]) for u in mine), max(dt.date.fromisoformat(u["end"]) for u in mine))
        for name, mine in units.items()
    }
    outcomes, errors = await _ingest(
        windows,
        summary.run_id,
        concurrency,
        accounts=None,
        config_path=config_path,
        snapshot_days={},
        units=units,
        resume=None,
    )
    summary.reextracted.extend(outcomes)
    summary.connector_errors.update(errors)
    if dbt_vars is not None:
        await _step(summary, "dbt", dbt_build, True, config_path, log, vars=dbt_vars)
        if summary.steps.get("dbt") != "completed":
            return
    await step(with_totals=with_totals)
    final = summary.reconciliation
    if final is None or final.ok:
        log.info("reconciliation: every account-day reconciles after the second extraction")
        return
    await asyncio.to_thread(_record_reconciliation_failures, config, summary.run_id, final)


def _record_reconciliation_failures(config: PipelineConfig, run_id: str, result: ReconcileResult) -> None:
    """The account-days that do not reconcile, as failed loads of the connector's primary and totals streams
    in ops.load_log (the loaded rows stay): `mdp status` lists them, `--retry-failed` extracts them again."""
    warehouse = from_config(config)
    reasons: dict[tuple[str, str, dt.date], str] = {}
    for mismatch in result.mismatches:
        reasons.setdefault((mismatch.connector, mismatch.account, mismatch.day), mismatch.describe())
    for quarantined in result.quarantined:
        reasons.setdefault((quarantined.connector, quarantined.account, quarantined.day), quarantined.describe())
    connectors = {c.name: c for c in build_connectors(config, sorted({name for name, _, _ in reasons}))}
    for (name, account, day), reason in sorted(reasons.items()):
        connector = connectors[name]
        streams = [s for s in connector.streams if s.name in (connector.streams[0].name, connector.totals_stream)]
        for stream in streams:
            warehouse.log_failure(
                stream.table, Scope.of([account], day, day), LoadContext(name, run_id), f"reconciliation: {reason}"
            )


async def _step(
    summary: RunSummary, step: str, target: Any, wanted: bool, config_path: str | None, log: Any, **kwargs: Any
) -> None:
    """Run a downstream flow and record its outcome; a failure (with its reason) fails the parent run."""
    if not wanted:
        log.warning("%s skipped: nothing landed", target.name)
        summary.steps[step] = "skipped"
        return
    emit(ProgressEvent("step", step))
    try:
        await _run_step(summary, step, target, config_path, log, **kwargs)
    finally:
        emit(ProgressEvent("step", step, units=1, failed=summary.steps.get(step) != "completed"))


async def _run_step(
    summary: RunSummary, step: str, target: Any, config_path: str | None, log: Any, **kwargs: Any
) -> None:
    try:
        state = target(config_path=config_path, return_state=True, **kwargs)
        if asyncio.iscoroutine(state):
            state = await state
    except Exception as exc:  # the flow could not even start: a failed step, with the reason
        state = None
        reason = f"{type(exc).__name__}: {exc}"
    if state is not None and state.is_completed():
        summary.steps[step] = "completed"
        result = state.result()
        if asyncio.iscoroutine(result):
            result = await result
        _record_details(summary, step, result)
        return
    if state is not None:
        reason = f"{state.name}: {state.message}"
    summary.steps[step] = "failed"
    summary.step_errors[step] = redact(reason)
    log.error("%s failed: %s", target.name, summary.step_errors[step])


def _record_details(summary: RunSummary, step: str, result: Any) -> None:
    """What a completed step found, for the parent run's artifacts: dbt's node counts, the volume checks."""
    if isinstance(result, ReconcileResult):
        summary.reconciliation = result
        summary.step_details[step] = result.summary()
        if not result.ok:
            summary.steps[step] = "failed"
            summary.step_errors[step] = redact(
                f"{len(result.failure_lines())} difference(s) with the platforms' own totals: {result.summary()}"
            )
    elif isinstance(result, MonitorResult):
        summary.step_details[step] = result.summary() or "no check"
        summary.flagged_checks = [row for row in artifact_rows(result.checks) if row["status"] != "ok"]
    elif isinstance(result, ForecastResult):
        summary.step_details[step] = result.summary()
        summary.off_pace = result.off_pace
    elif isinstance(result, dict):
        summary.step_details[step] = ", ".join(f"{n:,} {status}" for status, n in result.items())


async def _publish(summary: RunSummary) -> None:
    rows = [
        {
            "connector": o.connector,
            "stream": o.stream,
            "account": o.account,
            "days": f"{o.start}..{o.end}",
            "rows": o.rows,
            "quarantined": o.quarantined,
            "status": o.status,
            "seconds": round(o.seconds, 2),
            "error": o.error or "",
        }
        for o in [*summary.outcomes, *summary.reextracted]
    ]
    await acreate_table_artifact(key="ingest-units", table=rows, description=f"Units loaded by run {summary.run_id}")
    lines = [
        f"# Daily pipeline run `{summary.run_id}`",
        "",
        "| connector | window | units | rows | quarantined | failed |",
        "|---|---|---|---|---|---|",
    ]
    quarantined = summary.quarantined
    latest = summary.latest_outcomes()
    for name, (start, end) in summary.windows.items():
        mine = [o for o in latest if o.connector == name]
        failed = len([o for o in mine if o.status == "failed"]) + (1 if name in summary.connector_errors else 0)
        lines.append(
            f"| {name} | {start}..{end} | {len(mine)} | {sum(o.rows for o in mine)} | {quarantined.get(name, 0)} "
            f"| {failed} |"
        )
    lines += [""]
    for step, status in summary.steps.items():
        detail = summary.step_details.get(step)
        lines.append(f"- {step}: **{status}**" + (f" ({detail})" if detail else ""))
    if not summary.ok:
        lines += ["", "## Failures", "", *(f"- {line}" for line in summary.failure_text().splitlines())]
    await acreate_markdown_artifact(key="daily-summary", markdown="\n".join(lines), description="Run summary")
    if summary.reconciliation is not None:
        found = summary.reconciliation
        await acreate_table_artifact(
            key="reconciliation",
            table=[
                {
                    "connector": m.connector,
                    "account": m.account,
                    "day": m.day.isoformat(),
                    "metric": m.metric,
                    "platform": str(m.platform),
                    "landed": str(m.landed),
                    "difference": str(m.difference),
                    "currency": m.currency or "",
                }
                for m in found.mismatches
            ]
            or [{"verdict": "ok", "detail": found.summary()}],
            description=f"Reconciliation of run {summary.run_id} with the platforms' own totals: {found.summary()}",
        )
    if "monitoring" in summary.step_details:
        await acreate_table_artifact(
            key="volume-checks",
            table=summary.flagged_checks or [{"status": "ok", "detail": summary.step_details["monitoring"]}],
            description=f"Volume checks of run {summary.run_id} not ok: {summary.step_details['monitoring']}",
        )
