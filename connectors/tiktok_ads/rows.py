"""Report rows as the API writes them ({"dimensions": {...}, "metrics": {...}}, numbers as strings) -> typed raw
records, or quarantined rows with their reason."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from connectors.base import Account
from connectors.kit.rows import BadRow, RowCollector
from connectors.tiktok_ads.api import REPORT_QUERIES, VALUE_METRIC
from connectors.tiktok_ads.schema import REPORT_TABLES
from mdp.numbers import NumberFormatError, parse_decimal

_MONEY_QUANTUM = Decimal("0.000001")
_MONEY_LIMIT = Decimal(10) ** 12  # decimal128(18, 6)
_EMPTY = frozenset({"", "-", "--"})

# Report field -> (raw column, kind).
FIELDS: dict[str, tuple[str, str]] = {
    "stat_time_day": ("date", "date"),
    "advertiser_id": ("account_id", "id"),
    "campaign_id": ("campaign_id", "id"),
    "campaign_name": ("campaign_name", "text"),
    "adgroup_id": ("ad_group_id", "id"),
    "adgroup_name": ("ad_group_name", "text"),
    "ad_id": ("ad_id", "id"),
    "ad_name": ("ad_name", "text"),
    "country_code": ("country_code", "country"),
    "placement": ("placement", "required"),
    "impressions": ("impressions", "count"),
    "clicks": ("clicks", "count"),
    "spend": ("spend", "money"),
    "conversion": ("conversions", "number"),
    VALUE_METRIC: ("conversion_value", "money"),
}
# The duplicate key of each stream's rows (a row met twice, e.g. when pages shift while paging).
KEYS: dict[str, tuple[str, ...]] = {
    "ad_performance": ("date", "ad_id"),
    "country_performance": ("date", "campaign_id", "country_code"),
    "placement_performance": ("date", "campaign_id", "placement"),
    "account_totals": ("date",),
}
_OPTIONAL = frozenset({VALUE_METRIC})  # absent where the advertiser tracks no value: 0


def parse_row(row: object, stream: str, account: Account) -> dict[str, Any]:
    """One report row as a raw record (its account and day are checked by the collector).

    Raises:
        BadRow: the reason it must go to quarantine instead.
    """
    if not isinstance(row, Mapping):
        raise BadRow("malformed", f"a row is a {type(row).__name__}, not an object")
    dimensions, metrics = row.get("dimensions"), row.get("metrics")
    if not isinstance(dimensions, Mapping) or not isinstance(metrics, Mapping):
        raise BadRow("malformed", "a row without a dimensions and a metrics object")
    query = REPORT_QUERIES[stream]
    record: dict[str, Any] = {}
    for name in query.dimensions:
        record[FIELDS[name][0]] = _value(dimensions.get(name), name)
    for name in query.metrics:
        raw = metrics.get(name)
        if raw is None and name in _OPTIONAL:
            raw = "0"
        record[FIELDS[name][0]] = _value(raw, name)
    if not account.currency:
        raise BadRow("missing_value", "the advertiser's currency is unknown (advertiser/info)")
    record["account_id"] = record.get("account_id") or account.id
    record["account_currency"] = account.currency
    if stream == "ad_performance":
        record["account_name"] = account.name
        record["account_timezone"] = account.time_zone
    return record


def _value(raw: object, name: str) -> Any:
    _, kind = FIELDS[name]
    text = None if raw is None else str(raw).strip()
    if kind == "text":
        return None if text is None or text in _EMPTY else text
    if text is None or text in _EMPTY:
        if kind == "count":
            return 0
        if kind == "number":
            return 0.0
        if kind == "money":
            return Decimal(0)
        raise BadRow("missing_id" if kind == "id" else "missing_value", f"{name} is empty")
    if kind == "required":
        return text
    if kind == "id":
        if not (text.isascii() and text.isdigit()) or set(text) == {"0"}:
            raise BadRow("invalid_id", f"{name} {text!r} is not an id")
        return text
    if kind == "country":
        if not (len(text) == 2 and text.isascii() and text.isalpha()):
            raise BadRow("unparsable", f"{name} {text!r} is not an ISO 3166-1 alpha-2 code")
        return text.upper()
    if kind == "date":
        return _date(text, name)
    try:
        number = parse_decimal(text)
    except NumberFormatError as error:
        raise BadRow("unparsable", f"{name} {error}") from None
    if number < 0:
        raise BadRow("negative_cost" if name == "spend" else "negative_metric", f"{name} ({text})")
    if kind == "count":
        if number != number.to_integral_value():
            raise BadRow("unparsable", f"{name} {text!r} is not a whole number")
        return int(number)
    if kind == "number":
        return float(number)
    if number >= _MONEY_LIMIT:
        raise BadRow("out_of_range", f"{name} {text!r}")
    return number.quantize(_MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


def _date(text: str, name: str) -> dt.date:
    """stat_time_day: "2025-03-10 00:00:00" (a day at midnight); a plain date is read too."""
    day, _, time_of_day = text.partition(" ")
    try:
        parsed = dt.date.fromisoformat(day)
    except ValueError:
        raise BadRow("unparsable", f"{name} {text!r} is not a date") from None
    if time_of_day not in ("", "00:00:00"):
        raise BadRow("not_daily", f"{name} {text!r} is not a whole day")
    return parsed


class ReportBatch:
    """The rows of one advertiser's report for one stream: records and quarantined rows."""

    def __init__(self, stream: str, account: Account, start: dt.date, end: dt.date) -> None:
        self.stream, self.account = stream, account
        self.collector = RowCollector(REPORT_TABLES[stream], account.id, start, end, key=KEYS[stream])
        self.records, self.quarantine = self.collector.rows, self.collector.quarantine

    def add(self, rows: Iterable[object]) -> None:
        for row in rows:
            text = _json(row)
            try:
                record = parse_row(row, self.stream, self.account)
            except BadRow as bad:
                self.collector.reject([bad.reason], _row_day(row), text)
                continue
            self.collector.add([record], record=text)


def _row_day(row: object) -> dt.date | None:
    try:
        dimensions = row.get("dimensions") if isinstance(row, Mapping) else None
        raw = dimensions.get("stat_time_day") if isinstance(dimensions, Mapping) else None
        return _date(str(raw), "stat_time_day") if raw is not None else None
    except BadRow:
        return None


def _json(row: object) -> str:
    return json.dumps(row, ensure_ascii=False, default=str)
