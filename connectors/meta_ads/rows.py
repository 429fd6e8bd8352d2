"""Insights rows (Graph JSON, values as strings) -> typed raw rows, or quarantined with a reason: ad-level rows,
campaign rows by breakdown, and campaign actions by action type and attribution window (long format)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from connectors.base import Account
from connectors.kit.rows import BadRow, RowCollector
from connectors.meta_ads.conversions import ConversionRule
from connectors.meta_ads.schema import ACCOUNT_TOTALS, ACTION_INSIGHTS, AD_INSIGHTS, BREAKDOWN_TABLES
from connectors.meta_ads.settings import DEFAULT_ATTRIBUTION_WINDOW, INSIGHTS_FIELDS, INSIGHTS_QUERIES
from mdp.numbers import NumberFormatError, parse_decimal
from mdp.schema import QuarantinedRow, TableSpec

_SPEND_QUANTUM = Decimal("0.000001")
_SPEND_LIMIT = Decimal(10) ** 12  # decimal128(18, 6)
_ID_FIELDS = ("campaign_id", "adset_id", "ad_id")
_KNOWN_FIELDS = frozenset(INSIGHTS_FIELDS)


def parse_row(raw: Any, account: Account, rule: ConversionRule, since: dt.date, until: dt.date) -> dict[str, Any]:
    """One insights row as a raw-table record.

    Metrics Graph leaves out of a row count as 0 (reach: unknown); unknown keys are ignored.

    Raises:
        BadRow: the reason it must go to quarantine instead.
    """
    if not isinstance(raw, Mapping):
        raise BadRow("malformed", f"row is not a JSON object ({type(raw).__name__})")
    day = _day(raw, since, until)
    _check_account(raw, account)
    ids = {name: _identifier(raw, name) for name in _ID_FIELDS}
    actions = _action_list(raw, "actions")
    values = _action_list(raw, "action_values")
    return {
        "date": day,
        "account_id": account.id,
        "account_name": account.name or _text(raw.get("account_name")),
        "account_currency": account.currency or _text(raw.get("account_currency")),
        "account_timezone": account.time_zone,
        "campaign_id": ids["campaign_id"],
        "campaign_name": _text(raw.get("campaign_name")),
        "adset_id": ids["adset_id"],
        "adset_name": _text(raw.get("adset_name")),
        "ad_id": ids["ad_id"],
        "ad_name": _text(raw.get("ad_name")),
        "impressions": _count(raw, "impressions"),
        "clicks": _count(raw, "clicks"),
        "spend": _spend(raw),
        "reach": _count(raw, "reach") if raw.get("reach") is not None else None,
        "actions": _dump(actions),
        "action_values": _dump(values),
        "conversions": rule.conversions(actions),
        "conversion_value": rule.conversion_value(values),
    }


def parse_breakdown_row(
    raw: Any, account: Account, rule: ConversionRule, since: dt.date, until: dt.date, breakdowns: Sequence[str]
) -> dict[str, Any]:
    """One campaign-level insights row of a breakdown stream (its breakdown values as columns).

    Raises:
        BadRow: the reason it must go to quarantine instead.
    """
    if not isinstance(raw, Mapping):
        raise BadRow("malformed", f"row is not a JSON object ({type(raw).__name__})")
    day = _day(raw, since, until)
    _check_account(raw, account)
    campaign_id = _identifier(raw, "campaign_id")
    segment = {name: _breakdown(raw, name) for name in breakdowns}
    actions = _action_list(raw, "actions")
    values = _action_list(raw, "action_values")
    return {
        "date": day,
        "account_id": account.id,
        "account_currency": account.currency or _text(raw.get("account_currency")),
        "campaign_id": campaign_id,
        "campaign_name": _text(raw.get("campaign_name")),
        **segment,
        "impressions": _count(raw, "impressions"),
        "clicks": _count(raw, "clicks"),
        "spend": _spend(raw),
        "reach": _count(raw, "reach") if raw.get("reach") is not None else None,
        "conversions": rule.conversions(actions),
        "conversion_value": rule.conversion_value(values),
        "actions": _dump(actions),
        "action_values": _dump(values),
    }


def parse_account_row(
    raw: Any, account: Account, rule: ConversionRule, since: dt.date, until: dt.date
) -> dict[str, Any]:
    """One account-level insights row (the account's own daily totals).

    Raises:
        BadRow: the reason it must go to quarantine instead.
    """
    if not isinstance(raw, Mapping):
        raise BadRow("malformed", f"row is not a JSON object ({type(raw).__name__})")
    day = _day(raw, since, until)
    _check_account(raw, account)
    actions = _action_list(raw, "actions")
    values = _action_list(raw, "action_values")
    return {
        "date": day,
        "account_id": account.id,
        "account_currency": account.currency or _text(raw.get("account_currency")),
        "impressions": _count(raw, "impressions"),
        "clicks": _count(raw, "clicks"),
        "spend": _spend(raw),
        "conversions": rule.conversions(actions),
        "conversion_value": rule.conversion_value(values),
        "actions": _dump(actions),
        "action_values": _dump(values),
    }


def parse_action_rows(
    raw: Any, account: Account, since: dt.date, until: dt.date, windows: Sequence[str]
) -> list[dict[str, Any]]:
    """One campaign-level row (action_breakdowns=action_type) as long records: per action type, the `default`
    window (Graph's `value`) and each of `windows`. A window Graph leaves out of an action counts 0.

    Raises:
        BadRow: the reason the whole row must go to quarantine instead.
    """
    if not isinstance(raw, Mapping):
        raise BadRow("malformed", f"row is not a JSON object ({type(raw).__name__})")
    day = _day(raw, since, until)
    _check_account(raw, account)
    campaign_id = _identifier(raw, "campaign_id")
    counts = _by_action_type(_action_list(raw, "actions"), "actions")
    values = _by_action_type(_action_list(raw, "action_values"), "action_values")
    records = []
    for action_type in [*counts, *(t for t in values if t not in counts)]:
        count, value = counts.get(action_type), values.get(action_type)
        for window in (DEFAULT_ATTRIBUTION_WINDOW, *windows):
            key = "value" if window == DEFAULT_ATTRIBUTION_WINDOW else window
            name = f"[{action_type}].{key}"
            records.append(
                {
                    "date": day,
                    "account_id": account.id,
                    "campaign_id": campaign_id,
                    "action_type": action_type,
                    "attribution_window": window,
                    "actions": _window_value(count, key, "actions" + name) or 0.0,
                    "action_value": None if value is None else _window_value(value, key, "action_values" + name) or 0.0,
                }
            )
    return records


def _by_action_type(items: list[Mapping[str, Any]] | None, name: str) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for item in items or ():
        action_type = item.get("action_type")
        if not isinstance(action_type, str) or not action_type.strip():
            raise BadRow("malformed", f"{name} entry without an action_type ({item!r})")
        if action_type in out:
            raise BadRow("malformed", f"{name} lists action_type {action_type!r} twice")
        out[action_type] = item
    return out


def _window_value(item: Mapping[str, Any] | None, key: str, name: str) -> float | None:
    if item is None or item.get(key) is None:
        return None
    value = _decimal(item[key], name)
    if value < 0:
        raise BadRow("negative_metric", f"{name} ({value})")
    return float(value)


def _check_account(raw: Mapping[str, Any], account: Account) -> None:
    if "account_id" in raw:
        row_account = raw["account_id"]
        if row_account in (None, ""):
            raise BadRow("missing_id", "account_id")
        if str(row_account) != account.id:
            raise BadRow("account_mismatch")


def _breakdown(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRow("missing_value", f"breakdown {name} ({value!r})")
    return value


def unknown_fields(raw: Any, known: frozenset[str] = _KNOWN_FIELDS) -> set[str]:
    """Keys of a row that were not asked for (schema drift): logged, never loaded."""
    return set(raw) - known if isinstance(raw, Mapping) else set()


Parser = Callable[[Any, Account, ConversionRule, dt.date, dt.date, Sequence[str]], list[dict[str, Any]]]


@dataclass(frozen=True)
class RowFormat:
    """How one report stream's rows become records: the table, the parser, the grain and the known fields."""

    spec: TableSpec
    parse: Parser
    grain: tuple[str, ...]  # the columns beside `date` that make a row unique
    known: frozenset[str]


def _ad_rows(
    raw: Any, account: Account, rule: ConversionRule, since: dt.date, until: dt.date, _: Sequence[str]
) -> list[dict[str, Any]]:
    return [parse_row(raw, account, rule, since, until)]


def _breakdown_parser(breakdowns: tuple[str, ...]) -> Parser:
    def parse(
        raw: Any, account: Account, rule: ConversionRule, since: dt.date, until: dt.date, _: Sequence[str]
    ) -> list[dict[str, Any]]:
        return [parse_breakdown_row(raw, account, rule, since, until, breakdowns)]

    return parse


def _action_parser(
    raw: Any, account: Account, _: ConversionRule, since: dt.date, until: dt.date, windows: Sequence[str]
) -> list[dict[str, Any]]:
    return parse_action_rows(raw, account, since, until, windows)


def _account_parser(
    raw: Any, account: Account, rule: ConversionRule, since: dt.date, until: dt.date, _: Sequence[str]
) -> list[dict[str, Any]]:
    return [parse_account_row(raw, account, rule, since, until)]


def _breakdown_format(stream: str) -> RowFormat:
    query = INSIGHTS_QUERIES[stream]
    known = frozenset(query.fields) | frozenset(query.breakdowns)
    grain = ("campaign_id", *query.breakdowns)
    return RowFormat(BREAKDOWN_TABLES[stream], _breakdown_parser(query.breakdowns), grain, known)


AD_FORMAT = RowFormat(AD_INSIGHTS, _ad_rows, ("ad_id",), _KNOWN_FIELDS)
ROW_FORMATS: dict[str, RowFormat] = {
    "ad_insights": AD_FORMAT,
    **{stream: _breakdown_format(stream) for stream in BREAKDOWN_TABLES},
    "action_insights": RowFormat(
        ACTION_INSIGHTS,
        _action_parser,
        ("campaign_id", "action_type", "attribution_window"),
        frozenset(INSIGHTS_QUERIES["action_insights"].fields),
    ),
    "account_totals": RowFormat(
        ACCOUNT_TOTALS, _account_parser, (), frozenset(INSIGHTS_QUERIES["account_totals"].fields)
    ),
}


@dataclass
class RowBatch:
    """Rows of one account and stream, checked: loadable records and quarantined ones, duplicates included
    (the kit's collector, whose window is the chunk being added: a row's quarantine day lies inside it)."""

    account: Account
    rule: ConversionRule
    format: RowFormat = AD_FORMAT
    windows: tuple[str, ...] = ()
    unknown: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        key = ("date", *self.format.grain)
        self.collector = RowCollector(self.format.spec, self.account.id, dt.date.min, dt.date.max, key)

    def add(self, rows: Iterable[Any], since: dt.date, until: dt.date) -> None:
        self.collector.start, self.collector.end = since, until
        for raw in rows:
            self.unknown |= unknown_fields(raw, self.format.known)
            try:
                parsed = self.format.parse(raw, self.account, self.rule, since, until, self.windows)
            except BadRow as bad:
                day = _date(raw.get("date_start")) if isinstance(raw, Mapping) else None
                self.collector.reject([bad.reason], day, _json(raw))
                continue
            self.collector.add(parsed, record=_json(raw))

    def take(self) -> tuple[list[dict[str, Any]], list[QuarantinedRow]]:
        """The rows added since the last call (duplicate detection keeps its memory)."""
        return self.collector.take()


def _day(raw: Mapping[str, Any], since: dt.date, until: dt.date) -> dt.date:
    start = _date(raw.get("date_start"))
    if start is None:
        raise BadRow("unparsable", f"date_start ({raw.get('date_start')!r}) is not a date")
    stop = raw.get("date_stop")
    if stop is not None and _date(stop) != start:
        raise BadRow("not_daily", f"date_stop {stop!r} differs from date_start {start}")
    if not since <= start <= until:
        raise BadRow("date_out_of_range")
    return start


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _identifier(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not text or text == "0":
        raise BadRow("missing_id", name)
    if not (text.isascii() and text.isdigit()):
        raise BadRow("invalid_id", f"{name} {text!r} is not a Graph id")
    return text


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _count(raw: Mapping[str, Any], name: str) -> int:
    value = raw.get(name)
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        parsed = _decimal(value, name)
        if parsed != parsed.to_integral_value():
            raise BadRow("unparsable", f"{name} ({value!r}): not a whole number")
        number = int(parsed)
    else:
        raise BadRow("unparsable", f"{name} ({value!r})")
    if number < 0:
        raise BadRow("negative_metric", f"{name} ({number})")
    return number


def _spend(raw: Mapping[str, Any]) -> Decimal:
    value = raw.get("spend")
    if value is None:
        return Decimal(0).quantize(_SPEND_QUANTUM)
    spend = _decimal(value, "spend")
    if spend < 0:
        raise BadRow("negative_cost", f"spend ({value})")
    if spend >= _SPEND_LIMIT:
        raise BadRow("out_of_range", f"spend ({value})")
    return spend.quantize(_SPEND_QUANTUM, rounding=ROUND_HALF_EVEN)


def _decimal(value: Any, name: str) -> Decimal:
    """Graph's numbers are strings ("12.34"); thousands separators ("1,234.56") are read, never guessed at."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRow("unparsable", f"{name} ({value!r})")
    try:
        return parse_decimal(str(value))
    except NumberFormatError as error:
        raise BadRow("unparsable", f"{name} ({value!r})" + (f": {error.detail}" if error.detail else "")) from None


def _action_list(raw: Mapping[str, Any], name: str) -> list[Mapping[str, Any]] | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise BadRow("malformed", f"{name} is not a list of {{action_type, value}} objects")
    return value


def _dump(items: list[Mapping[str, Any]] | None) -> str | None:
    return None if items is None else json.dumps(items, separators=(",", ":"), ensure_ascii=False)


def _json(raw: Any) -> str | None:
    try:
        return json.dumps(raw, separators=(",", ":"), ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return None
