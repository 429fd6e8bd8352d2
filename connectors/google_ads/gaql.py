"""GAQL as users write it for `custom_queries`: parsed strictly, validated against the bundled field catalogue,
typed into raw columns, and rendered again from the validated parts (the user's text never reaches a request).

Accepted: `SELECT field[, field...] FROM resource [WHERE field op literal [AND ...]]` with op one of
= != > >= < <= [NOT] IN (...), [NOT] LIKE '...', IS [NOT] NULL. Refused with a one-line reason: ORDER BY,
LIMIT, PARAMETERS, DURING, BETWEEN, OR, any segments.date condition or selection (the connector adds
segments.date and the run's date range itself), fields or resources the catalogue does not list, fields not
selectable with the FROM resource, conversion segments with non-conversion metrics, and any character
outside plain ASCII GAQL.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from connectors.google_ads.catalogue import (
    CONVERSION_METRICS,
    CONVERSION_SEGMENTS,
    Catalogue,
    FieldInfo,
    load_catalogue,
)
from connectors.kit.custom import RESERVED, CustomColumn, column_name
from connectors.kit.schema import MONEY

DATE_FIELD = "segments.date"
MAX_QUERY_LENGTH = 10_000
_WORD = r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*"
_TOKEN = re.compile(
    r"""[ \t\r\n]*(?:
        (?P<string>'[^'\\\x00-\x1f\x7f]*'|"[^"\\\x00-\x1f\x7f]*")
      | (?P<number>-?[0-9]+(?:\.[0-9]+)?(?![A-Za-z0-9_.]))
      | (?P<op>!=|>=|<=|=|>|<)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_REFUSED = {
    "ORDER": "ORDER BY is not allowed: rows land in a table, unordered",
    "LIMIT": "LIMIT is not allowed: a custom stream lands every row of each day",
    "PARAMETERS": "PARAMETERS is not allowed",
    "DURING": "DURING is not allowed: the connector adds the date range of each run (segments.date)",
    "BETWEEN": "BETWEEN is not allowed (the connector adds the segments.date range itself)",
    "OR": "OR is not part of GAQL: combine conditions with AND",
}
_KEYWORDS = frozenset({"SELECT", "FROM", "WHERE", "AND", "IN", "NOT", "LIKE", "IS", "NULL", "TRUE", "FALSE", *_REFUSED})
_COMPARISONS = ("=", "!=", ">", ">=", "<", "<=")
INTEGER_TYPES = frozenset({"INT64", "INT32", "UINT64", "UINT32"})
_FLOAT_TYPES = frozenset({"DOUBLE", "FLOAT"})


class GaqlError(ValueError):
    """A query refused; the message is one line and never longer than needed."""


@dataclass(frozen=True)
class Literal:
    """A value in a WHERE condition: a quoted string, a number, TRUE/FALSE, or a bare enum constant."""

    kind: str  # string, number, boolean, enum
    text: str

    def render(self) -> str:
        return f"'{self.text}'" if self.kind == "string" else self.text


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # = != > >= < <= IN, NOT IN, LIKE, NOT LIKE, IS NULL, IS NOT NULL
    values: tuple[Literal, ...] = ()

    def render(self) -> str:
        if self.op in ("IS NULL", "IS NOT NULL"):
            return f"{self.field} {self.op}"
        if self.op in ("IN", "NOT IN"):
            return f"{self.field} {self.op} ({', '.join(v.render() for v in self.values)})"
        return f"{self.field} {self.op} {self.values[0].render()}"


@dataclass(frozen=True)
class ParsedQuery:
    """The syntax of a query, before it is checked against the catalogue."""

    fields: tuple[str, ...]
    resource: str
    conditions: tuple[Condition, ...] = ()


def _describe_char(char: str) -> str:
    return f"{char!r} (U+{ord(char):04X})"


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            rest = text[pos:].lstrip(" \t\r\n")
            if not rest:
                break
            if rest[0] in "'\"":
                raise GaqlError(
                    "a quoted value may not contain quotes, backslashes or control characters (newlines included), "
                    "or it is not closed"
                )
            raise GaqlError(f"unexpected character {_describe_char(rest[0])}; GAQL is plain ASCII")
        pos = match.end()
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, what: str) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise GaqlError(f"the query ends where {what} was expected")
        self.i += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1].upper() in words

    def keyword(self, word: str) -> None:
        kind, text = self.take(word)
        if kind != "word" or text.upper() != word:
            self.refuse_keyword(text)
            raise GaqlError(f"expected {word}, found {text!r}")

    @staticmethod
    def refuse_keyword(text: str) -> None:
        reason = _REFUSED.get(text.upper())
        if reason:
            raise GaqlError(reason)

    def name(self, what: str) -> str:
        kind, text = self.take(what)
        if kind != "word" or text.upper() in _KEYWORDS:
            self.refuse_keyword(text)
            raise GaqlError(f"expected {what}, found {text!r}")
        if not re.fullmatch(_WORD, text):
            raise GaqlError(f"{text!r} is not a GAQL name (lower case words joined by dots)")
        return text

    def parse(self) -> ParsedQuery:
        self.keyword("SELECT")
        fields = [self.name("a field")]
        while (token := self.peek()) is not None and token == ("punct", ","):
            self.i += 1
            fields.append(self.name("a field"))
        self.keyword("FROM")
        resource = self.name("a resource")
        conditions: list[Condition] = []
        if self.at_keyword("WHERE"):
            self.i += 1
            conditions.append(self.condition())
            while self.at_keyword("AND"):
                self.i += 1
                conditions.append(self.condition())
        token = self.peek()
        if token is not None:
            self.refuse_keyword(token[1])
            raise GaqlError(f"unexpected {token[1]!r} after the query")
        return ParsedQuery(tuple(fields), resource, tuple(conditions))

    def condition(self) -> Condition:
        field = self.name("a field")
        kind, text = self.take("an operator")
        if kind == "op":
            return Condition(field, text, (self.literal(),))
        upper = text.upper() if kind == "word" else ""
        self.refuse_keyword(upper)
        negate = upper == "NOT"
        if negate:
            kind, text = self.take("IN or LIKE")
            upper = text.upper() if kind == "word" else ""
        if upper == "IN":
            return Condition(field, "NOT IN" if negate else "IN", self.literal_list())
        if upper == "LIKE":
            return Condition(field, "NOT LIKE" if negate else "LIKE", (self.literal(),))
        if upper == "IS" and not negate:
            is_not = self.at_keyword("NOT")
            if is_not:
                self.i += 1
            self.keyword("NULL")
            return Condition(field, "IS NOT NULL" if is_not else "IS NULL")
        self.refuse_keyword(upper)
        raise GaqlError(f"unsupported operator {text!r} after {field}")

    def literal(self) -> Literal:
        kind, text = self.take("a value")
        if kind == "string":
            return Literal("string", text[1:-1])
        if kind == "number":
            return Literal("number", text)
        if kind == "word" and text.upper() in ("TRUE", "FALSE"):
            return Literal("boolean", text.upper())
        if kind == "word" and re.fullmatch(r"[A-Z][A-Z0-9_]*", text):
            return Literal("enum", text)
        raise GaqlError(f"expected a value, found {text!r}")

    def literal_list(self) -> tuple[Literal, ...]:
        if self.take("(") != ("punct", "("):
            raise GaqlError("IN takes a parenthesised list of values")
        values = [self.literal()]
        while (token := self.take(")")) == ("punct", ","):
            values.append(self.literal())
        if token != ("punct", ")"):
            raise GaqlError(f"expected ')' or ',' in the IN list, found {token[1]!r}")
        return tuple(values)


def parse(text: str) -> ParsedQuery:
    """The syntax of a query (no catalogue check). Raises GaqlError."""
    if not isinstance(text, str) or not text.strip():
        raise GaqlError("the query is empty")
    if len(text) > MAX_QUERY_LENGTH:
        raise GaqlError(f"the query is over {MAX_QUERY_LENGTH} characters")
    return _Parser(text).parse()


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def is_money(info: FieldInfo) -> bool:
    """An amount in the account currency: a `*_micros` integer, or a conversion value double."""
    if info.data_type in INTEGER_TYPES and info.name.endswith("_micros"):
        return True
    if info.category != "METRIC" or info.data_type not in _FLOAT_TYPES:
        return False
    leaf = info.name.removeprefix("metrics.")
    return "value" in leaf and not leaf.endswith("_per_cost") and "rate" not in leaf


def is_additive(info: FieldInfo) -> bool:
    """Whether a metric sums over days and entities (ratios, averages, shares and rates do not)."""
    if info.category != "METRIC":
        return True
    leaf = info.name.removeprefix("metrics.")
    if leaf == "ctr" or leaf.startswith(("average_", "value_per_", "cost_per_")):
        return False
    return not any(part in leaf for part in ("_rate", "_share", "_percentage", "_per_", "viewability"))


def is_id(info: FieldInfo) -> bool:
    return info.data_type in INTEGER_TYPES and info.name.endswith((".id", "_id"))


def column_for(info: FieldInfo, *, name: str = "") -> CustomColumn:
    """The raw column of a catalogue field: typed from its data type, money converted and named without
    `_micros`, ids as string dimensions, metrics as metrics (additive or not), the rest as dimensions."""
    money = is_money(info)
    if money:
        kind: pa.DataType = MONEY
    elif info.repeated or is_id(info):
        kind = pa.string()
    elif info.data_type in INTEGER_TYPES:
        kind = pa.int64()
    elif info.data_type in _FLOAT_TYPES:
        kind = pa.float64()
    elif info.data_type == "BOOLEAN":
        kind = pa.bool_()
    else:
        kind = pa.string()  # STRING, ENUM (its name), DATE, RESOURCE_NAME
    role = "metric" if info.category == "METRIC" else "dimension"
    notes = [info.data_type.lower()]
    if money:
        notes.append("money in the account currency" + (", converted from micros" if "micros" in info.name else ""))
    if info.repeated:
        notes.append("a JSON array")
    if role == "metric" and not is_additive(info):
        notes.append("not additive")
    if info.category == "METRIC" and info.data_type in _FLOAT_TYPES and not money and "average_c" in info.name:
        notes.append("in micros")
    doc = f"{info.name} ({'; '.join(notes)})"
    source_name = info.name.removesuffix("_micros") if money and info.name.endswith("_micros") else info.name
    return CustomColumn(
        info.name,
        kind,
        role,  # type: ignore[arg-type]
        doc=doc,
        name=name or column_name(source_name),
        money=money,
        additive=is_additive(info),
    )


@dataclass(frozen=True)
class CustomQuery:
    """A validated custom query: what the connector sends and how each row becomes a raw row."""

    resource: str
    fields: tuple[str, ...]  # as the user selected them
    conditions: tuple[Condition, ...]
    key_fields: tuple[str, ...]  # the FROM resource's id fields the user did not select (added, dimensions)
    columns: tuple[CustomColumn, ...]  # key fields first, then the user's, in their order
    report: bool  # segments.date added (metrics selected and the resource has segments.date); else a snapshot

    @property
    def request_fields(self) -> tuple[str, ...]:
        """Every field the request selects: the columns' fields, the account and its currency, the date."""
        extra = ["customer.id", "customer.currency_code"] + ([DATE_FIELD] if self.report else [])
        return tuple(dict.fromkeys([*(c.source for c in self.columns), *extra]))

    def gaql(self, start: date | None = None, end: date | None = None) -> str:
        """The request, rendered from validated parts only: a report between two days, or a snapshot."""
        text = f"SELECT {', '.join(self.request_fields)} FROM {self.resource}"
        conditions = [c.render() for c in self.conditions]
        if self.report:
            if start is None or end is None:
                raise ValueError("a report query needs its date range")
            conditions.append(f"{DATE_FIELD} BETWEEN '{start.isoformat()}' AND '{end.isoformat()}'")
        return f"{text} WHERE {' AND '.join(conditions)}" if conditions else text


def _check_field(name: str, resource: str, catalogue: Catalogue, allowed: frozenset[str]) -> FieldInfo:
    if name == DATE_FIELD:
        raise GaqlError(
            f"leave {DATE_FIELD} out: the connector adds it (and each run's date range) to every query whose "
            "resource has it; the table's `date` column holds it"
        )
    info = catalogue.fields.get(name)
    if info is None:
        raise GaqlError(f"unknown field {name!r}{_did_you_mean(name, catalogue.fields)}")
    if info.category == "RESOURCE":
        raise GaqlError(f"{name!r} is a resource: select some of its fields (e.g. {name}.id)")
    if not info.selectable:
        raise GaqlError(f"field {name!r} ({info.data_type}) is not selectable; select its subfields")
    if name not in allowed:
        rule = catalogue.resources[resource]
        if info.category == "ATTRIBUTE":
            owners = ", ".join((resource, *rule.attributed))
            raise GaqlError(
                f"field {name!r} cannot be selected FROM {resource} (its fields and those of: {owners})"
                f"{_did_you_mean(name, allowed)}"
            )
        kind = "segment" if info.category == "SEGMENT" else "metric"
        raise GaqlError(f"{kind} {name!r} is not selectable with resource {resource!r}{_did_you_mean(name, allowed)}")
    return info


def _check_literal(condition: Condition, info: FieldInfo) -> None:
    where = f"condition on {condition.field}"
    if condition.op in ("LIKE", "NOT LIKE") and info.data_type not in ("STRING", "RESOURCE_NAME"):
        raise GaqlError(f"{where}: LIKE applies to text fields only")
    if condition.op in ("IN", "NOT IN", "LIKE", "NOT LIKE") and info.category == "METRIC":
        raise GaqlError(f"{where}: a metric takes = != > >= < <= only")
    for value in condition.values:
        if info.data_type == "ENUM":
            if value.kind not in ("enum", "string") or value.text not in info.enum_values:
                raise GaqlError(
                    f"{where}: {value.render()!r} is not one of its values"
                    f"{_did_you_mean(value.text, info.enum_values)}; values: {', '.join(info.enum_values)}"
                )
        elif info.data_type in INTEGER_TYPES or info.data_type in _FLOAT_TYPES:
            if value.kind != "number" or (info.data_type in INTEGER_TYPES and "." in value.text):
                raise GaqlError(f"{where}: expected a number, found {value.render()!r}")
        elif info.data_type == "BOOLEAN":
            if value.kind != "boolean":
                raise GaqlError(f"{where}: expected TRUE or FALSE, found {value.render()!r}")
        elif value.kind != "string":
            raise GaqlError(f"{where}: expected a quoted value, found {value.render()!r}")


def validate(parsed: ParsedQuery, catalogue: Catalogue | None = None) -> CustomQuery:
    """Check a parsed query against the catalogue and type its columns. Raises GaqlError."""
    catalogue = catalogue or load_catalogue()
    resource = parsed.resource
    if resource not in catalogue.resources:
        known = sorted(catalogue.resources)
        if resource in catalogue.fields or resource in ("metrics", "segments"):
            raise GaqlError(f"FROM {resource} is not supported by custom_queries; supported: {', '.join(known)}")
        raise GaqlError(f"unknown resource {resource!r}{_did_you_mean(resource, known)}; supported: {', '.join(known)}")
    allowed = catalogue.selectable_with(resource)
    seen: set[str] = set()
    infos: list[FieldInfo] = []
    for name in parsed.fields:
        if name in seen:
            raise GaqlError(f"field {name!r} is selected twice")
        seen.add(name)
        infos.append(_check_field(name, resource, catalogue, allowed))
    for condition in parsed.conditions:
        info = _check_field(condition.field, resource, catalogue, allowed)
        if not info.filterable:
            raise GaqlError(f"field {condition.field!r} cannot be filtered on")
        _check_literal(condition, info)
    referenced = seen | {c.field for c in parsed.conditions}
    segments = sorted(referenced & CONVERSION_SEGMENTS)
    if segments:
        others = sorted(n for n in referenced if n.startswith("metrics.") and n not in CONVERSION_METRICS)
        if others:
            raise GaqlError(
                f"{segments[0]} is selectable with conversion metrics only, and {others[0]} is not one "
                f"(conversion metrics: {', '.join(sorted(CONVERSION_METRICS))})"
            )
    rule = catalogue.resources[resource]
    key_fields = tuple(k for k in rule.key if k not in seen)
    columns = [column_for(catalogue.fields[k]) for k in key_fields] + [column_for(i) for i in infos]
    _check_names(columns)
    has_metrics = any(i.category == "METRIC" for i in infos) or any(
        c.field.startswith("metrics.") for c in parsed.conditions
    )
    report = has_metrics and DATE_FIELD.removeprefix("segments.") in rule.segments
    return CustomQuery(resource, parsed.fields, parsed.conditions, key_fields, tuple(columns), report)


def _check_names(columns: Sequence[CustomColumn]) -> None:
    seen: dict[str, str] = {}
    for column in columns:
        if column.name in RESERVED:
            raise GaqlError(f"field {column.source!r} would be column {column.name!r}, which every custom table has")
        if column.name in seen:
            raise GaqlError(
                f"fields {seen[column.name]!r} and {column.source!r} would both be column {column.name!r}; keep one"
            )
        seen[column.name] = column.source


def custom_query(text: str, catalogue: Catalogue | None = None) -> CustomQuery:
    """Parse and validate a user's query. Raises GaqlError (one line)."""
    return validate(parse(text), catalogue)


def passthrough_info(field: str, resource: str, catalogue: Catalogue | None = None) -> FieldInfo:
    """A passthrough field: a METRIC selectable with `resource`. Raises GaqlError."""
    catalogue = catalogue or load_catalogue()
    if not isinstance(field, str) or not re.fullmatch(_WORD, field):
        raise GaqlError(f"{field!r} is not a GAQL field name")
    info = catalogue.fields.get(field)
    metrics = [n for n, f in catalogue.fields.items() if f.category == "METRIC"]
    if info is None:
        raise GaqlError(f"unknown field {field!r}{_did_you_mean(field, metrics)}")
    if info.category != "METRIC":
        raise GaqlError(f"{field!r} is a {info.category.lower()}, not a metric: only metrics can be passed through")
    allowed = catalogue.selectable_with(resource)
    if field not in allowed:
        raise GaqlError(f"metric {field!r} is not selectable with {resource} (the ad performance stream's resource)")
    return info
