"""Async insights report runs: start, poll with a bounded growing wait, read the pages; a run that fails
or outlives its timeout is split into two halves of its date range, down to single days."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from connectors.meta_ads.exceptions import MetaAdsError, MetaAdsRetryableError, ReportRunFailed
from connectors.meta_ads.graph import GraphClient, cursor_pages
from connectors.meta_ads.settings import (
    INSIGHTS_EXTRA_PARAMS,
    INSIGHTS_QUERIES,
    JOB_COMPLETED,
    JOB_FAILED_STATES,
    InsightsQuery,
    MetaAdsSettings,
)

logger = logging.getLogger(__name__)

DateRange = tuple[dt.date, dt.date]
K = TypeVar("K")


def split_range(since: dt.date, until: dt.date) -> tuple[DateRange, DateRange]:
    """Two halves of a range of at least two days (the first one is the longer when odd)."""
    if until <= since:
        raise ValueError(f"cannot split {since}..{until}")
    middle = since + dt.timedelta(days=(until - since).days // 2)
    return (since, middle), (middle + dt.timedelta(days=1), until)


def poll_waits(initial: float, maximum: float) -> Iterator[float]:
    """Waits between status polls: doubling from `initial`, capped at `maximum`."""
    wait = initial
    while True:
        yield wait
        wait = min(maximum, wait * 2 if wait > 0 else maximum)


def insights_params(
    query: InsightsQuery, since: dt.date, until: dt.date, windows: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The parameters of one daily report run of `query` over since..until."""
    params: dict[str, Any] = {
        "fields": list(query.fields),
        "level": query.level,
        "time_increment": 1,
        "time_range": {"since": since.isoformat(), "until": until.isoformat()},
        **INSIGHTS_EXTRA_PARAMS,
    }
    if query.breakdowns:
        params["breakdowns"] = list(query.breakdowns)
    if query.action_breakdowns:
        params["action_breakdowns"] = list(query.action_breakdowns)
    if query.attribution_windows and windows:
        params["action_attribution_windows"] = list(windows)
    return params


@dataclass(frozen=True)
class StartedRun:
    """A report run started ahead of its unit's extraction (see `wait_together`): its id, and whether it
    completed (read its pages at once) or failed (with why); neither means it was still running."""

    run_id: str
    completed: bool = False
    failed: str | None = None


def wait_together(
    client: GraphClient,
    settings: MetaAdsSettings,
    runs: Mapping[K, str],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[K, StartedRun]:
    """Poll several started report runs together, one status request per run per round, on the same growing
    waits as one run, until each has completed or failed or the job timeout passes: n runs wait about as
    long as one. A status request that fails leaves its run to its unit's own polling."""
    pending = dict(runs)
    settled: dict[K, StartedRun] = {}
    deadline = clock() + settings.job_timeout_seconds
    for wait in poll_waits(settings.poll_initial_seconds, settings.poll_max_seconds):
        remaining = deadline - clock()
        if not pending or remaining <= 0:
            break
        sleep(min(wait, remaining))
        for key, run_id in list(pending.items()):
            try:
                status = client.get(
                    (run_id,), {"fields": "id,async_status,async_percent_completion"}, what=f"status of run {run_id}"
                )
            except (MetaAdsError, MetaAdsRetryableError) as error:
                logger.debug("Meta Ads run %s: status not read (%s); its unit polls it", run_id, error)
                settled[key] = StartedRun(pending.pop(key))
                continue
            state = status.get("async_status")
            if state == JOB_COMPLETED and status.get("async_percent_completion") in (100, "100", None):
                settled[key] = StartedRun(pending.pop(key), completed=True)
            elif state in JOB_FAILED_STATES:
                settled[key] = StartedRun(pending.pop(key), failed=f"ended {state!r}")
    timed_out = f"timed out after {settings.job_timeout_seconds:g}s"
    settled.update({key: StartedRun(run_id, failed=timed_out) for key, run_id in pending.items()})
    return settled


class ReportRunner:
    """Runs the insights reports of one account and stream through one client."""

    def __init__(
        self,
        client: GraphClient,
        settings: MetaAdsSettings,
        account_id: str,
        *,
        query: InsightsQuery = INSIGHTS_QUERIES["ad_insights"],
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.settings = settings
        self.account_id = account_id
        self.query = query
        self.runs = 0
        self.splits = 0
        self._sleep = sleep
        self._clock = clock

    def rows(
        self, since: dt.date, until: dt.date, started: StartedRun | None = None
    ) -> Iterator[tuple[dt.date, dt.date, list[Any]]]:
        """(since, until, rows) per completed report run, covering every day of the range once; the first
        attempt uses `started` (a run of exactly this range started ahead) if given.

        Raises:
            MetaAdsRetryableError: a single day's run failed `job_attempts` times.
            MetaAdsError, MetaAdsRetryableError: from the requests.
        """
        for attempt in range(1, self.settings.job_attempts + 1):
            try:
                rows = self._run(since, until, started)
            except ReportRunFailed as failed:
                reason = str(failed)
                started = None
            else:
                yield since, until, rows
                return
            if since < until:
                self.splits += 1
                first, second = split_range(since, until)
                logger.warning(
                    "Meta Ads account %s: report run %s..%s %s; splitting into %s..%s and %s..%s",
                    self.account_id,
                    since,
                    until,
                    reason,
                    *first,
                    *second,
                )
                yield from self.rows(*first)
                yield from self.rows(*second)
                return
            logger.warning(
                "Meta Ads account %s: report run for %s %s (attempt %d/%d)",
                self.account_id,
                since,
                reason,
                attempt,
                self.settings.job_attempts,
            )
        raise MetaAdsRetryableError(
            f"Meta Ads account {self.account_id}: the insights report run for {since} {reason} "
            f"{self.settings.job_attempts} time(s); try again later"
        )

    def start(self, since: dt.date, until: dt.date) -> str:
        """Start the report run of since..until; its id."""
        what = f"account {self.account_id} report run {since}..{until}"
        params = insights_params(self.query, since, until, self.settings.requested_windows)
        answer = self.client.post((f"act_{self.account_id}", "insights"), params, what=f"{what}: start")
        run_id = answer.get("report_run_id")
        if not isinstance(run_id, str | int) or not (str(run_id).isascii() and str(run_id).isdigit()):
            raise MetaAdsRetryableError(f"Meta Ads {what}: the answer carries no report_run_id")
        self.runs += 1
        return str(run_id)

    def _run(self, since: dt.date, until: dt.date, started: StartedRun | None = None) -> list[Any]:
        what = f"account {self.account_id} report run {since}..{until}"
        if started is not None and started.failed:
            raise ReportRunFailed(started.failed)
        run_id = started.run_id if started is not None else self.start(since, until)
        if started is None or not started.completed:
            self._wait(run_id, what)
        rows: list[Any] = []
        for page in self._pages(run_id, what):
            rows.extend(page)
        return rows

    def _wait(self, run_id: str, what: str) -> None:
        deadline = self._clock() + self.settings.job_timeout_seconds
        polls = 0
        for wait in poll_waits(self.settings.poll_initial_seconds, self.settings.poll_max_seconds):
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            self._sleep(min(wait, remaining))
            status = self.client.get(
                (run_id,),
                {"fields": "id,async_status,async_percent_completion"},
                what=f"{what}: status of run {run_id}",
            )
            polls += 1
            state = status.get("async_status")
            percent = status.get("async_percent_completion")
            logger.debug("Meta Ads %s: run %s %s (%s%%)", what, run_id, state, percent)
            if state == JOB_COMPLETED and percent in (100, "100", None):
                return
            if state in JOB_FAILED_STATES:
                raise ReportRunFailed(f"ended {state!r}")
        raise ReportRunFailed(f"timed out after {self.settings.job_timeout_seconds:g}s ({polls} status polls)")

    def _pages(self, run_id: str, what: str) -> Iterator[list[Any]]:
        params = {"limit": self.settings.page_limit}
        yield from cursor_pages(self.client, (run_id, "insights"), params, what=f"{what}: results of run {run_id}")
