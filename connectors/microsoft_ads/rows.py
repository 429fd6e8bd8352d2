"""Report CSV (as the Reporting service writes it: an optional report header, the column header, the rows, an
optional totals row and copyright footer) -> typed raw records, or quarantined rows with their reason."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from connectors.base import Account
from connectors.kit.rows import BadRow, RowCollector
from connectors.microsoft_ads.schema import REPORT_TABLES
from connectors.microsoft_ads.settings import COUNTRY_CODES, REPORT_QUERIES
from mdp.numbers import NumberFormatError, parse_decimal
from mdp.schema import TableSpec

_MONEY_QUANTUM = Decimal("0.000001")
_MONEY_LIMIT = Decimal(10) ** 12  # decimal128(18, 6)
_EMPTY = frozenset({"", "--"})

# Report column -> (raw column, kind).
FIELDS: dict[str, tuple[str, str]] = {
    "TimePeriod": ("date", "date"),
    "AccountId": ("account_id", "id"),
    "AccountName": ("account_name", "text"),
    "CampaignId": ("campaign_id", "id"),
    "CampaignName": ("campaign_name", "text"),
    "AdGroupId": ("ad_group_id", "id"),
    "AdGroupName": ("ad_group_name", "text"),
    "AdId": ("ad_id", "id"),
    "AdTitle": ("ad_title", "text"),
    "AdType": ("ad_type", "text"),
    "KeywordId": ("keyword_id", "id"),
    "Keyword": ("keyword", "text"),
    "BidMatchType": ("bid_match_type", "text"),
    "SearchQuery": ("search_query", "required"),
    "DeliveredMatchType": ("delivered_match_type", "text"),
    "Country": ("country", "text"),
    "State": ("state", "text"),
    "LocationType": ("location_type", "text"),
    "DeviceType": ("device_type", "required"),
    "CurrencyCode": ("account_currency", "currency"),
    "Impressions": ("impressions", "count"),
    "Clicks": ("clicks", "count"),
    "Spend": ("spend", "money"),
    "Conversions": ("conversions", "number"),
    "Revenue": ("revenue", "money"),
}


@dataclass(frozen=True)
class ReportLayout:
    """How one report file becomes raw records: its columns in order, each column's raw name and kind, the raw
    table, and the key a second row may not repeat (None: no check)."""

    columns: tuple[str, ...]
    fields: Mapping[str, tuple[str, str]]
    table: TableSpec
    key: tuple[str, ...] | None = None


def built_in_layout(stream: str) -> ReportLayout:
    """The layout of one of the connector's own report streams."""
    return ReportLayout(REPORT_QUERIES[stream].columns, FIELDS, REPORT_TABLES[stream])


@dataclass(frozen=True)
class ReportRow:
    """One data line of a report file: its 1-based line number and its cells."""

    line: int
    cells: list[str]


def report_lines(text: str, columns: Sequence[str]) -> tuple[list[ReportRow], list[str]]:
    """The data rows of a report file and notes on the other lines (report header, totals, footer).

    The column header is the first line whose first cell is `columns[0]`; the data end at the first blank
    line (the copyright footer follows it) or at a totals line. A file without a column header has no rows.

    Raises:
        BadReport: the column header differs from the requested columns.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows: list[ReportRow] = []
    header_lines = 0
    trailer: list[str] = []
    header_seen = data_done = False
    for line_number, cells in enumerate(reader, start=1):
        blank = not any(c.strip() for c in cells)
        if not header_seen:
            if cells and cells[0] == columns[0]:
                header_seen = True
                if cells != list(columns):
                    raise BadReport(f"the report's columns {cells} are not the requested {list(columns)}")
            elif not blank:
                header_lines += 1
            continue
        first = cells[0].strip() if cells else ""
        if not data_done and not blank and not _is_trailer(first):
            rows.append(ReportRow(line_number, cells))
            continue
        data_done = True
        if not blank:
            trailer.append("totals line" if first.lower().startswith("total") else "copyright footer")
    notes = [f"{header_lines} report header line(s)"] if header_lines else []
    return rows, notes + trailer


def _is_trailer(first_cell: str) -> bool:
    return first_cell.lower().startswith("total") or first_cell.startswith("\u00a9")


class BadReport(ValueError):
    """The report file as a whole does not match its request."""


def parse_row(
    row: ReportRow,
    columns: Sequence[str],
    account: Account,
    fields: Mapping[str, tuple[str, str]] = FIELDS,
    table: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One report line as a raw record (its account and day are checked by the collector); `table` names the
    raw table's columns when the account's name, time zone and the country code are to be added only where
    the table has them (default: always).

    Raises:
        BadRow: the reason it must go to quarantine instead.
    """
    if len(row.cells) != len(columns):
        raise BadRow("malformed", f"line {row.line}: {len(row.cells)} fields, expected {len(columns)}")
    record: dict[str, Any] = {}
    for column, raw in zip(columns, row.cells, strict=True):
        name, kind = fields[column]
        record[name] = _value(raw.strip(), kind, column)
    record["account_currency"] = record.get("account_currency") or account.currency
    if not record["account_currency"]:
        raise BadRow("missing_value", f"line {row.line}: CurrencyCode empty and the account's currency unknown")

    def wanted(name: str) -> bool:
        return table is None or name in table

    if wanted("account_name") and record.get("account_name") is None:
        record["account_name"] = account.name
    if wanted("account_timezone"):
        record["account_timezone"] = account.time_zone
    if "country" in record and wanted("country_code"):
        record["country_code"] = COUNTRY_CODES.get(record["country"] or "")
    return record


def _value(raw: str, kind: str, column: str) -> Any:
    if kind == "text" or (kind == "currency" and raw in _EMPTY):
        return None if raw in _EMPTY else raw
    if kind in ("ratio", "money_rate"):  # an average or a ratio: empty when there is nothing to divide by
        if raw in _EMPTY:
            return None
        number = _decimal(raw.removesuffix("%").strip(), column)
        if kind == "ratio":
            return float(number)
        if abs(number) >= _MONEY_LIMIT:
            raise BadRow("out_of_range", f"{column} {raw!r}")
        return number.quantize(_MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)
    if raw in _EMPTY:
        if kind in ("count", "number", "money"):
            return 0 if kind == "count" else (0.0 if kind == "number" else Decimal(0))
        raise BadRow("missing_id" if kind == "id" else "missing_value", f"{column} is empty")
    if kind == "required":
        return raw
    if kind == "id":
        if not (raw.isascii() and raw.isdigit()):
            raise BadRow("invalid_id", f"{column} {raw!r} is not an id")
        return raw
    if kind == "date":
        return _date(raw, column)
    if kind == "currency":
        if len(raw) != 3 or not raw.isalpha():
            raise BadRow("unparsable", f"{column} {raw!r} is not an ISO 4217 code")
        return raw.upper()
    number = _decimal(raw, column)
    if number < 0:
        raise BadRow("negative_cost" if column == "Spend" else "negative_metric", f"{column} ({raw})")
    if kind == "count":
        if number != number.to_integral_value():
            raise BadRow("unparsable", f"{column} {raw!r} is not a whole number")
        return int(number)
    if kind == "number":
        return float(number)
    if number >= _MONEY_LIMIT:
        raise BadRow("out_of_range", f"{column} {raw!r}")
    return number.quantize(_MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


def _decimal(raw: str, column: str) -> Decimal:
    """The exact value of a numeric cell: plain, or with the thousands separators FormatVersion 1.0 writes (a
    request asks for 2.0, which has none, but a report may still carry them)."""
    try:
        return parse_decimal(raw)
    except NumberFormatError as error:
        raise BadRow("unparsable", f"{column} {error}") from None


def _date(raw: str, column: str) -> dt.date:
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise BadRow("unparsable", f"{column} {raw!r} is not a date")


class ReportBatch:
    """The rows of one account's report file for one stream: records and quarantined lines. A report's rows
    are not checked for duplicates (they never were: the Reporting service aggregates by its columns)."""

    def __init__(
        self, stream: str, account: Account, start: dt.date, end: dt.date, layout: ReportLayout | None = None
    ) -> None:
        self.stream, self.account = stream, account
        self.layout = layout or built_in_layout(stream)
        self.collector = RowCollector(self.layout.table, account.id, start, end, key=self.layout.key)
        self.records, self.quarantine = self.collector.rows, self.collector.quarantine
        self.skipped: list[str] = []

    def add(self, text: str) -> None:
        layout = self.layout
        columns = layout.columns
        names = layout.table.schema.names
        lines, self.skipped = report_lines(text, columns)
        for row in lines:
            try:
                record = parse_row(row, columns, self.account, layout.fields, names)
            except BadRow as bad:
                self.collector.reject([bad.reason], _row_day(row), _json(row, columns))
                continue
            self.collector.add([record], record=_json(row, columns))


def _row_day(row: ReportRow) -> dt.date | None:
    try:
        return _date(row.cells[0].strip(), "TimePeriod")
    except (BadRow, IndexError):
        return None


def _json(row: ReportRow, columns: Sequence[str]) -> str:
    if len(row.cells) == len(columns):
        return json.dumps(dict(zip(columns, row.cells, strict=True)), ensure_ascii=False)
    return json.dumps(row.cells, ensure_ascii=False)
