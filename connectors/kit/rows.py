"""One row collector for every connector: the checks every source row passes after the connector has parsed it
(inside the unit's account and days, not a second row of the same key), quarantine with a reason code plus
detail, and the rows as an Arrow table of the stream's schema. Parsing the API's rows stays in each connector."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import pyarrow as pa

from mdp.schema import QuarantinedRow, TableSpec

Row = dict[str, Any]

ReasonCode = Literal[
    "missing_id",  # an id the row needs is absent, empty or 0
    "invalid_id",  # an id that is not one (not digits)
    "missing_value",  # another value the row needs is absent or empty (a breakdown, a currency)
    "unparsable",  # a value of the wrong type: not a number, a whole number, a date, a time, a string
    "malformed",  # the row's shape: not an object, a short line, a list that cannot be keyed
    "negative_cost",  # spend (cost) below 0
    "negative_metric",  # another metric below 0
    "out_of_range",  # a value beyond what its column holds
    "not_daily",  # a row that covers more than one day
    "date_out_of_range",  # the row's day is not one of the unit's days
    "account_mismatch",  # the row is of another account than the unit's
    "duplicate_key",  # a second row of the same key
    "residual_unreliable",  # Google: a campaign whose ad rows were quarantined has no reliable remainder
]
REASON_CODES: frozenset[str] = frozenset(get_args(ReasonCode))


@dataclass(frozen=True)
class Reason:
    """Why a row was quarantined: a stable code and, apart, what exactly (the column, the value).

    Stored as `code` or `code:detail` in the `reason` column; several reasons are joined by `; `.
    """

    code: ReasonCode
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.code}:{self.detail}" if self.detail else self.code


def reason_text(reasons: Iterable[Reason]) -> str:
    """The `reason` column of a quarantined row."""
    return "; ".join(str(reason) for reason in reasons)


def parse_reasons(text: str) -> list[Reason]:
    """The reasons a `reason` column holds (the reverse of `reason_text`)."""
    reasons = []
    for part in text.split("; "):
        code, _, detail = part.partition(":")
        if code not in REASON_CODES:
            raise ValueError(f"{part!r} does not start with a quarantine reason code")
        reasons.append(Reason(code, detail))  # type: ignore[arg-type]  # checked just above
    return reasons


class BadRow(ValueError):
    """A row that cannot be loaded, and why: raised by a connector's parser, quarantined by the collector."""

    def __init__(self, code: ReasonCode, detail: str = "") -> None:
        self.reason = Reason(code, detail)
        super().__init__(str(self.reason))


def window_reason(day: object, start: dt.date, end: dt.date) -> Reason | None:
    """`date_out_of_range` when `day` is a date outside [start, end]."""
    return Reason("date_out_of_range") if isinstance(day, dt.date) and not start <= day <= end else None


def account_reason(found: object, account: str) -> Reason | None:
    """`account_mismatch` when a row names an account (`found`, when not empty) other than `account`."""
    return Reason("account_mismatch") if found not in (None, "") and str(found) != account else None


def quarantine_day(day: object, start: dt.date, end: dt.date) -> dt.date:
    """The day a quarantined row is filed under: its own when it is a date of [start, end], else `start`.
    A quarantined row must lie inside its unit's load scope; its record keeps the real date."""
    return day if isinstance(day, dt.date) and start <= day <= end else start


@dataclass
class RowCollector:
    """One unit's rows of one stream (an account, the days [start, end]): loadable rows and quarantined ones.

    `key` names the columns that make a row unique (the date among them; None: no duplicate check).
    `check_scope` compares each row's account and date columns with the unit's. The scope and duplicate
    reasons carry no detail: the quarantined record holds the row's own account, date and key. The memory
    of keys outlasts `take`.
    """

    spec: TableSpec
    account: str
    start: dt.date
    end: dt.date
    key: tuple[str, ...] | None
    check_scope: bool = True
    rows: list[Row] = field(default_factory=list)
    quarantine: list[QuarantinedRow] = field(default_factory=list)
    _seen: set[tuple[Any, ...]] = field(default_factory=set)

    def check(self, records: Sequence[Mapping[str, Any]], problems: Sequence[Reason] = ()) -> list[Reason]:
        """What is wrong with the records one source row gave: the parser's `problems`, then the scope
        checks; when nothing is, a key already seen (or repeated among `records`). An empty list: loadable,
        and their keys are remembered."""
        reasons = list(problems)
        if self.check_scope:
            for record in records:
                found = [
                    account_reason(record.get(self.spec.account_column), self.account),
                    window_reason(record.get(self.spec.date_column), self.start, self.end),
                ]
                reasons += [reason for reason in found if reason is not None]
        if reasons or self.key is None:
            return reasons
        columns = self.key
        keys = [tuple(record.get(column) for column in columns) for record in records]
        for key in keys:
            if key in self._seen or keys.count(key) > 1:
                return [Reason("duplicate_key")]
        self._seen.update(keys)
        return []

    def add(self, records: Sequence[Row], problems: Sequence[Reason] = (), *, record: str | None) -> bool:
        """Keep the records of one source row, or quarantine the source row (`record`, as JSON) under the
        first record's day. True when kept."""
        reasons = self.check(records, problems)
        if reasons:
            self.reject(reasons, records[0].get(self.spec.date_column) if records else None, record)
            return False
        self.rows.extend(records)
        return True

    def reject(self, reasons: Sequence[Reason], day: object, record: str | None) -> None:
        """Quarantine a source row under its `day` (see `quarantine_day`)."""
        self.quarantine.append(
            QuarantinedRow(self.account, quarantine_day(day, self.start, self.end), reason_text(reasons), record)
        )

    def take(self) -> tuple[list[Row], list[QuarantinedRow]]:
        """The rows and quarantined rows collected since the last call."""
        rows, quarantine = self.rows, self.quarantine
        self.rows, self.quarantine = [], []
        return rows, quarantine

    def table(self, rows: Sequence[Mapping[str, Any]] | None = None) -> pa.Table:
        """`rows` (default: the collected ones) as an Arrow table of the stream's schema."""
        return to_table(self.rows if rows is None else rows, self.spec)


def to_table(rows: Sequence[Mapping[str, Any]], spec: TableSpec) -> pa.Table:
    """Records in the raw table's declared schema (a column a record lacks is null)."""
    return pa.table({name: [row.get(name) for row in rows] for name in spec.schema.names}, schema=spec.schema)
