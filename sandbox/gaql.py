"""A small Google Ads Query Language parser and evaluator: what the sandbox supports, strictly.

Grammar: SELECT f[, f...] FROM resource [WHERE cond [AND cond...]] [ORDER BY f [ASC|DESC][, ...]]
[LIMIT n] [PARAMETERS ...]. Conditions: `f op value` with op in = != > >= < <=, `f [NOT] IN (v, ...)`,
`f BETWEEN a AND b`, `f DURING LAST_7_DAYS` (and other date constants), `f [NOT] LIKE 'x%'`,
`f IS [NOT] NULL`. Anything else raises `GaqlError` with the matching QueryError name.
"""

from __future__ import annotations

import logging
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

logger = logging.getLogger(__name__)

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
      | (?P<op>!=|>=|<=|=|>|<)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_KEYWORDS = frozenset(
    {
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "LIMIT",
        "PARAMETERS",
        "IN",
        "NOT",
        "BETWEEN",
        "DURING",
        "LIKE",
        "IS",
        "NULL",
        "TRUE",
        "FALSE",
    }
)
DURING_CONSTANTS = frozenset(
    {
        "TODAY",
        "YESTERDAY",
        "LAST_7_DAYS",
        "LAST_14_DAYS",
        "LAST_30_DAYS",
        "LAST_BUSINESS_WEEK",
        "THIS_MONTH",
        "LAST_MONTH",
        "THIS_WEEK_SUN_TODAY",
        "THIS_WEEK_MON_TODAY",
        "LAST_WEEK_SUN_SAT",
        "LAST_WEEK_MON_SUN",
    }
)
DATE_FIELD = "segments.date"
_COMPARE = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class GaqlError(ValueError):
    """A query the sandbox rejects; `error` is the QueryError enum name."""

    def __init__(self, message: str, error: str = "UNEXPECTED_INPUT") -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class Enum:
    """A bare identifier value (enum constant)."""

    name: str


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # = != > >= < <= IN, NOT IN, BETWEEN, DURING, LIKE, NOT LIKE, IS NULL, IS NOT NULL
    value: Any = None


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    resource: str
    conditions: tuple[Condition, ...] = ()
    order_by: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    limit: int | None = None

    @property
    def referenced_fields(self) -> set[str]:
        return set(self.fields) | {c.field for c in self.conditions} | {f for f, _ in self.order_by}


@dataclass
class _Token:
    kind: str
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper()

    def is_kw(self, *words: str) -> bool:
        return self.kind == "word" and self.upper in words


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            break
        pos = match.end()
        kind = match.lastgroup or "bad"
        value = match.group(kind)
        if kind == "bad":
            raise GaqlError(f"Unexpected character {value!r} in query", "BAD_SYMBOL")
        tokens.append(_Token(kind, value))
    if text[pos:].strip():
        raise GaqlError("Unexpected input at end of query", "UNEXPECTED_INPUT")
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self, what: str) -> _Token:
        token = self.peek()
        if token is None:
            raise GaqlError(f"Unexpected end of query, expected {what}", "UNEXPECTED_END_OF_QUERY")
        self.i += 1
        return token

    def expect_kw(self, word: str, error: str) -> None:
        token = self.next(word)
        if not token.is_kw(word):
            raise GaqlError(f"Expected {word}, got {token.text!r}", error)

    def field_name(self) -> str:
        token = self.next("a field name")
        if token.kind != "word" or token.upper in _KEYWORDS:
            raise GaqlError(f"Expected a field name, got {token.text!r}", "BAD_FIELD_NAME")
        return token.text

    def value(self) -> Any:
        token = self.next("a value")
        if token.kind == "string":
            body = token.text[1:-1]
            return re.sub(r"\\(.)", r"\1", body)
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.is_kw("TRUE", "FALSE"):
            return token.upper == "TRUE"
        if token.kind == "word" and token.upper not in _KEYWORDS:
            return Enum(token.text)
        raise GaqlError(f"Expected a value, got {token.text!r}", "BAD_VALUE")

    def parse(self) -> Query:
        self.expect_kw("SELECT", "EXPECTED_SELECT")
        fields = [self.field_name()]
        while (t := self.peek()) is not None and t.kind == "punct" and t.text == ",":
            self.i += 1
            fields.append(self.field_name())
        self.expect_kw("FROM", "EXPECTED_FROM")
        resource = self.field_name()
        if "." in resource:
            raise GaqlError(f"Bad resource {resource!r} in FROM clause", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE")
        conditions: list[Condition] = []
        order_by: list[tuple[str, bool]] = []
        limit: int | None = None
        if (t := self.peek()) is not None and t.is_kw("WHERE"):
            self.i += 1
            conditions.append(self.condition())
            while (t := self.peek()) is not None and t.is_kw("AND"):
                self.i += 1
                conditions.append(self.condition())
        if (t := self.peek()) is not None and t.is_kw("ORDER"):
            self.i += 1
            self.expect_kw("BY", "EXPECTED_BY")
            while True:
                name = self.field_name()
                desc = False
                if (t := self.peek()) is not None and t.is_kw("ASC", "DESC"):
                    desc = t.upper == "DESC"
                    self.i += 1
                order_by.append((name, desc))
                if (t := self.peek()) is not None and t.kind == "punct" and t.text == ",":
                    self.i += 1
                    continue
                break
        if (t := self.peek()) is not None and t.is_kw("LIMIT"):
            self.i += 1
            token = self.next("a limit")
            if token.kind != "number" or "." in token.text or int(token.text) <= 0:
                raise GaqlError(f"Bad LIMIT value {token.text!r}", "BAD_LIMIT_VALUE")
            limit = int(token.text)
        if (t := self.peek()) is not None and t.is_kw("PARAMETERS"):
            self.i = len(self.tokens)  # e.g. include_drafts=true: accepted and ignored
        if (t := self.peek()) is not None:
            raise GaqlError(f"Unexpected input {t.text!r}", "UNEXPECTED_INPUT")
        if len(set(fields)) != len(fields):
            raise GaqlError("A field is selected twice", "UNEXPECTED_INPUT")
        return Query(tuple(fields), resource, tuple(conditions), tuple(order_by), limit)

    def condition(self) -> Condition:
        name = self.field_name()
        token = self.next("an operator")
        if token.kind == "op":
            return Condition(name, token.text, self.value())
        negate = token.is_kw("NOT")
        if negate:
            token = self.next("IN or LIKE")
        if token.is_kw("IN"):
            return Condition(name, "NOT IN" if negate else "IN", tuple(self.value_list()))
        if token.is_kw("LIKE"):
            return Condition(name, "NOT LIKE" if negate else "LIKE", self.value())
        if negate:
            raise GaqlError(f"Unexpected {token.text!r} after NOT", "BAD_OPERATOR")
        if token.is_kw("BETWEEN"):
            low = self.value()
            self.expect_kw("AND", "EXPECTED_VALUE_WITH_BETWEEN_OPERATOR")
            return Condition(name, "BETWEEN", (low, self.value()))
        if token.is_kw("DURING"):
            constant = self.next("a date range constant")
            if constant.upper not in DURING_CONSTANTS:
                raise GaqlError(f"Unsupported DURING value {constant.text!r}", "INVALID_VALUE_WITH_DURING_OPERATOR")
            return Condition(name, "DURING", constant.upper)
        if token.is_kw("IS"):
            negate = (t := self.peek()) is not None and t.is_kw("NOT")
            if negate:
                self.i += 1
            self.expect_kw("NULL", "BAD_OPERATOR")
            return Condition(name, "IS NOT NULL" if negate else "IS NULL")
        raise GaqlError(f"Unsupported operator {token.text!r}", "BAD_OPERATOR")

    def value_list(self) -> list[Any]:
        token = self.next("(")
        if token.text != "(":
            raise GaqlError("Expected a parenthesised list", "EXPECTED_LIST")
        values = [self.value()]
        while (t := self.next(")")).text == ",":
            values.append(self.value())
        if t.text != ")":
            raise GaqlError("Expected ')'", "EXPECTED_LIST")
        return values


def parse(text: str) -> Query:
    """Parse a GAQL query; raises GaqlError."""
    return _Parser(text).parse()


def during_range(constant: str, today: date) -> tuple[date, date]:
    """Date range of a DURING constant relative to `today` (the sandbox's "as of")."""
    yesterday = today - timedelta(days=1)
    monday = today - timedelta(days=today.weekday())
    sunday_start = today - timedelta(days=(today.weekday() + 1) % 7)
    first = today.replace(day=1)
    ranges = {
        "TODAY": (today, today),
        "YESTERDAY": (yesterday, yesterday),
        "LAST_7_DAYS": (today - timedelta(days=7), yesterday),
        "LAST_14_DAYS": (today - timedelta(days=14), yesterday),
        "LAST_30_DAYS": (today - timedelta(days=30), yesterday),
        "LAST_BUSINESS_WEEK": (monday - timedelta(days=7), monday - timedelta(days=3)),
        "THIS_MONTH": (first, today),
        "LAST_MONTH": ((first - timedelta(days=1)).replace(day=1), first - timedelta(days=1)),
        "THIS_WEEK_SUN_TODAY": (sunday_start, today),
        "THIS_WEEK_MON_TODAY": (monday, today),
        "LAST_WEEK_SUN_SAT": (sunday_start - timedelta(days=7), sunday_start - timedelta(days=1)),
        "LAST_WEEK_MON_SUN": (monday - timedelta(days=7), monday - timedelta(days=1)),
    }
    return ranges[constant]


def _as_date(value: Any) -> date:
    if not isinstance(value, str):
        raise GaqlError(f"Expected a date 'YYYY-MM-DD', got {value!r}", "INVALID_DATE_FORMAT")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise GaqlError(f"Invalid date {value!r}, expected 'YYYY-MM-DD'", "INVALID_DATE_FORMAT") from None


def date_range(query: Query, today: date) -> tuple[date, date] | None:
    """The finite date range the `segments.date` conditions allow, or None when there are none.

    Raises GaqlError when the conditions leave the range open on one side."""
    low: date | None = None
    high: date | None = None

    def narrow(lo: date | None, hi: date | None) -> None:
        nonlocal low, high
        if lo is not None:
            low = lo if low is None else max(low, lo)
        if hi is not None:
            high = hi if high is None else min(high, hi)

    seen = False
    for cond in query.conditions:
        if cond.field != DATE_FIELD:
            continue
        seen = True
        if cond.op == "=":
            day = _as_date(cond.value)
            narrow(day, day)
        elif cond.op == "BETWEEN":
            narrow(_as_date(cond.value[0]), _as_date(cond.value[1]))
        elif cond.op == "DURING":
            narrow(*during_range(cond.value, today))
        elif cond.op == "IN":
            days = [_as_date(v) for v in cond.value]
            narrow(min(days), max(days))
        elif cond.op in (">=", ">"):
            day = _as_date(cond.value)
            narrow(day + timedelta(days=1) if cond.op == ">" else day, None)
        elif cond.op in ("<=", "<"):
            day = _as_date(cond.value)
            narrow(None, day - timedelta(days=1) if cond.op == "<" else day)
        elif cond.op == "!=":
            _as_date(cond.value)
        else:
            raise GaqlError(f"Operator {cond.op} is not valid on {DATE_FIELD}", "OPERATOR_FIELD_MISMATCH")
    if not seen:
        return None
    if low is None or high is None:
        raise GaqlError("Filtering on segments.date requires a finite date range", "EXPECTED_FILTERS_ON_DATE_RANGE")
    return low, high


def _normalize(value: Any, like: Any) -> Any:
    """Coerce a condition value to the type of the row value it is compared with."""
    if isinstance(value, Enum):
        value = value.name
    if isinstance(like, bool):
        if isinstance(value, str):
            return value.upper() == "TRUE"
        return bool(value)
    if isinstance(like, int | float) and isinstance(value, str):
        try:
            return type(like)(value)
        except ValueError:
            raise GaqlError(f"Expected a number, got {value!r}", "BAD_NUMBER") from None
    return value


def _like(pattern: str, text: str) -> bool:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, text, re.IGNORECASE | re.DOTALL) is not None


def matches(condition: Condition, row: Mapping[str, Any], today: date) -> bool:
    """Evaluate one condition on a row mapping GAQL field names to Python values."""
    actual = row.get(condition.field)
    op = condition.op
    if op in ("IS NULL", "IS NOT NULL"):
        return (actual is None or actual == "") == (op == "IS NULL")
    if actual is None:
        return False
    if op == "DURING":
        low, high = during_range(condition.value, today)
        return low.isoformat() <= actual <= high.isoformat()
    if op in ("IN", "NOT IN"):
        inside = actual in {_normalize(v, actual) for v in condition.value}
        return inside == (op == "IN")
    if op == "BETWEEN":
        low, high = (_normalize(v, actual) for v in condition.value)
        return bool(low <= actual <= high)
    if op in ("LIKE", "NOT LIKE"):
        return _like(str(_normalize(condition.value, "")), str(actual)) == (op == "LIKE")
    value = _normalize(condition.value, actual)
    try:
        return bool(_COMPARE[op](actual, value))
    except TypeError:
        raise GaqlError(f"Cannot compare {condition.field} with {value!r}", "BAD_VALUE") from None


def filter_rows(rows: Sequence[Mapping[str, Any]], query: Query, today: date) -> list[Mapping[str, Any]]:
    """Apply WHERE, ORDER BY and LIMIT."""
    out = [r for r in rows if all(matches(c, r, today) for c in query.conditions)]
    for name, desc in reversed(query.order_by):
        out.sort(key=lambda r, n=name: (r.get(n) is None, r.get(n)), reverse=desc)  # type: ignore[misc]
    if query.limit is not None:
        out = out[: query.limit]
    return out
