"""Run parameters and date windows: validated before anything runs, each error naming its parameter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mdp.errors import MDPError
from mdp.identifiers import ascii_match

MAX_LOOKBACK_DAYS = 400
# 37 months: as far back as Meta keeps insights; a longer range needs allow_long_range.
MAX_RANGE_DAYS = 1130


class ParameterError(MDPError):
    """A run parameter is invalid; the message names it."""


class RunParameters(BaseModel):
    """What the parent flow may be asked to do (the Prefect UI renders this as a form)."""

    model_config = ConfigDict(extra="forbid")

    run_date: dt.date | None = Field(
        None,
        description="The run's 'today' (default: today in the pipeline time zone). Loads end the day before.",
    )
    start_date: dt.date | None = Field(
        None, description="First day to (re)load, for reruns and backfills. Overrides the lookback."
    )
    end_date: dt.date | None = Field(None, description="Last day to (re)load (default: the day before run_date).")
    lookback_days: int | None = Field(
        None,
        ge=0,
        le=MAX_LOOKBACK_DAYS,
        description="Days re-read before run_date (default: each connector's own).",
    )
    connectors: list[str] | None = Field(None, description="Only these connectors (default: every enabled one).")
    accounts: list[str] | None = Field(None, description="Only these accounts (default: every configured one).")
    run_dbt: bool = Field(True, description="Rebuild the dbt models after loading.")
    run_monitoring: bool = Field(True, description="Compare loaded volumes with their history afterwards.")
    run_forecast: bool = Field(
        True, description="Forecast to the month's end and pace it after dbt (when forecast.enabled)."
    )
    allow_long_range: bool = Field(
        False, description=f"Load more than {MAX_RANGE_DAYS} days (37 months) in one run, on purpose."
    )
    retry_failed: str | None = Field(
        None,
        description="Rerun exactly the units this run id failed to load and no run has loaded since ('latest': "
        "the most recent run with such units), from ops.load_log; instead of a window.",
    )
    resume: str | None = Field(
        None,
        description="Finish an interrupted run: the same window, skipping the units this run id already "
        "loaded (ops.load_log), so what landed is not extracted again.",
    )


def run_parameters(**values: Any) -> RunParameters:
    """Validated run parameters.

    Raises:
        ParameterError: one line per invalid parameter, naming it, e.g.
            "lookback_days: Input should be less than or equal to 400 (got 999)".
    """
    try:
        return RunParameters(**values)
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']} (got {error.get('input')!r})"
            for error in exc.errors()
        ]
        raise ParameterError("; ".join(lines)) from None


def resolve_window(params: RunParameters, today: dt.date, lookback_days: int) -> tuple[dt.date, dt.date]:
    """The (start, end) days to load for one connector, inclusive.

    Default: from run_date minus the lookback to the day before run_date. An explicit start_date
    (and optionally end_date) replaces that: a rerun, or a backfill when it is long.
    """
    run_date = params.run_date or today
    if run_date > today:
        raise ParameterError(f"run_date {run_date} is in the future (today is {today} in the pipeline time zone)")
    end = params.end_date or (run_date - dt.timedelta(days=1))
    if params.end_date is not None and params.start_date is None:
        raise ParameterError("start_date is required when end_date is given")
    if params.start_date is not None:
        start = params.start_date
    else:
        days = params.lookback_days if params.lookback_days is not None else lookback_days
        start = run_date - dt.timedelta(days=max(days, 1))
    if end < start:
        raise ParameterError(f"end_date {end} is before start_date {start}")
    if end > today:
        raise ParameterError(f"end_date {end} is in the future (today is {today} in the pipeline time zone)")
    if end == today:
        raise ParameterError(
            f"end_date {end} is today, which is not over yet in the pipeline time zone: "
            f"the last complete day is {today - dt.timedelta(days=1)}"
        )
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS and not params.allow_long_range:
        raise ParameterError(
            f"start_date {start} to end_date {end} is {days:,} days, more than {MAX_RANGE_DAYS:,} (37 months, "
            "as far back as Meta keeps insights); set allow_long_range to load it anyway"
        )
    return start, end


def chunks(start: dt.date, end: dt.date, days: int) -> Iterator[tuple[dt.date, dt.date]]:
    """[start, end] cut into consecutive ranges of at most `days` days."""
    if days < 1:
        raise ValueError("chunk size must be at least one day")
    current = start
    while current <= end:
        last = min(current + dt.timedelta(days=days - 1), end)
        yield current, last
        current = last + dt.timedelta(days=1)


def check_names(parameter: str, asked: Sequence[str] | None, known: Sequence[str]) -> None:
    """Fail naming `parameter` when it lists something unknown."""
    unknown = sorted(set(asked or ()) - set(known))
    if unknown:
        raise ParameterError(f"{parameter}: unknown {unknown}; known: {sorted(known) or 'none'}")


def canonical_account(account: str) -> str:
    """An account id compared across spellings: `act_123` = `123`, `123-456-7890` = `1234567890`."""
    return account.strip().lower().removeprefix("act_").replace("-", "")


def resolve_accounts(asked: Sequence[str] | None, configured: Sequence[str], discovering: bool) -> list[str] | None:
    """The asked accounts as the configuration spells them.

    Raises:
        ParameterError: an account id that is not ASCII, or one no connector lists (when none discovers
            its accounts at run time).
    """
    if not asked:
        return None
    for account in asked:
        try:
            ascii_match(account.strip(), r"[A-Za-z0-9_\-]+", "an account id (letters, digits, _ and -)", shown=account)
        except ValueError as error:
            raise ParameterError(f"accounts: {error}") from None
    known = {canonical_account(a): a for a in configured}
    unknown = [a for a in asked if canonical_account(a) not in known]
    if unknown and not discovering:
        raise ParameterError(f"accounts: unknown {unknown}; known: {sorted(configured) or 'none'}")
    return [known.get(canonical_account(a), canonical_account(a)) for a in asked]
