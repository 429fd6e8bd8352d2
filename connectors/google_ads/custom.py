"""Custom queries and passthrough fields of the Google Ads connector: the streams `custom_queries` declare,
the `pt_` columns `passthrough_fields` add to ad_performance, and the conversion of their values."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from connectors.base import StreamKind
from connectors.google_ads.catalogue import FieldInfo, load_catalogue
from connectors.google_ads.gaql import (
    DATE_FIELD,
    INTEGER_TYPES,
    CustomQuery,
    GaqlError,
    column_for,
    custom_query,
    is_id,
    passthrough_info,
)
from connectors.google_ads.rows import accessor
from connectors.google_ads.settings import GoogleAdsSettings
from connectors.kit.custom import PASSTHROUGH_PREFIX, CustomColumn, CustomStream, custom_stream
from connectors.kit.rows import Reason, RowCollector
from mdp.errors import ConfigError

CHANNEL = "google_ads"
PASSTHROUGH_RESOURCE = "ad_group_ad"  # the ad performance stream's resource
_MICROS = Decimal(1_000_000)
_MONEY_PLACES = Decimal("0.000001")
Row = dict[str, Any]


def custom_queries(settings: GoogleAdsSettings) -> dict[str, tuple[CustomStream, CustomQuery]]:
    """Stream name -> (stream, validated query) for each `custom_queries` entry (validated again here, so a
    query that passed the settings model cannot drift from what is sent)."""
    found: dict[str, tuple[CustomStream, CustomQuery]] = {}
    for index, entry in enumerate(settings.custom_queries):
        where = f"connectors.{settings.name}.custom_queries[{index}]"
        try:
            query = custom_query(entry.query)
        except GaqlError as error:
            raise ConfigError(f"invalid configuration in {where}.query: {error}") from None
        kind: StreamKind = "report" if query.report else "snapshot"
        dimensions = [c.name for c in query.columns if c.role == "dimension"]
        grain = " x ".join(["day" if query.report else "snapshot day", "account", *dimensions])
        stream = custom_stream(
            CHANNEL,
            entry.name,
            query.columns,
            kind=kind,
            description=f"Google Ads custom query {entry.name!r} (FROM {query.resource}, a {kind}): one row per "
            f"{grain}.",
            where=where,
        )
        found[stream.name] = (stream, query)
    return found


def passthrough_columns(fields: Sequence[str]) -> tuple[CustomColumn, ...]:
    """The pt_ columns of `passthrough_fields`: metrics selectable with ad_group_ad, typed like custom columns."""
    columns = []
    for field in fields:
        try:
            info = passthrough_info(field, PASSTHROUGH_RESOURCE)
        except GaqlError as error:
            raise ConfigError(f"invalid configuration: metrics: field {field!r}: {error}") from None
        typed = column_for(info)
        # named like a custom column (money without `_micros`), so not through kit.custom.passthrough_column
        columns.append(replace(typed, name=PASSTHROUGH_PREFIX + typed.name, doc=f"passthrough field {typed.doc}"))
    return tuple(columns)


def field_info(column: CustomColumn) -> FieldInfo:
    return load_catalogue().fields[column.source]


def convert(column: CustomColumn, info: FieldInfo, raw: Any) -> tuple[Any, Reason | None]:
    """A raw protobuf value as the column's type: money exact (micros / 10^6, doubles via their repr), ids as
    strings, enums by name, repeated fields as a JSON array. An unreadable value or a negative amount is a
    reason to quarantine the row."""
    if raw is None:
        return None, None
    if isinstance(raw, list):
        return json.dumps([str(v) for v in raw]), None
    try:
        if column.money:
            if info.data_type in INTEGER_TYPES:
                amount = Decimal(int(raw)) / _MICROS
            else:
                number = float(raw)
                if not math.isfinite(number):
                    return None, Reason("unparsable", column.name)
                amount = Decimal(repr(number))
            value: Any = amount.quantize(_MONEY_PLACES, rounding=ROUND_HALF_EVEN)
        elif is_id(info):
            return (str(raw) if raw not in (0, "") else None), None
        elif pa.types.is_integer(column.type):
            value = int(raw)
        elif pa.types.is_floating(column.type):
            value = float(raw)
            if not math.isfinite(value):
                return None, Reason("unparsable", column.name)
        elif pa.types.is_boolean(column.type):
            return bool(raw), None
        else:
            return (str(raw) if raw != "" else None), None
    except (TypeError, ValueError, InvalidOperation):
        return None, Reason("unparsable", column.name)
    if column.role == "metric" and column.additive and value < 0:
        if info.name == "metrics.cost_micros":
            return value, Reason("negative_cost")
        return value, Reason("negative_metric", column.name)
    return value, None


class CustomRowBuilder:
    """One account's rows of one custom stream for [start, end] (or the snapshot day `start`)."""

    def __init__(self, account: str, start: dt.date, end: dt.date, stream: CustomStream, query: CustomQuery) -> None:
        self.query = query
        self.snapshot = not query.report
        self._rows = RowCollector(stream.table, account, start, end, stream.key)
        self._readers: list[tuple[CustomColumn, FieldInfo, Callable[[Any], Any]]] = [
            (column, field_info(column), accessor(column.source)) for column in query.columns
        ]
        self._keys = {c.name for c in query.columns if c.source in query.key_fields or c.source in _resource_key(query)}
        self._customer = accessor("customer.id")
        self._currency = accessor("customer.currency_code")
        self._date = accessor(DATE_FIELD) if query.report else None

    @property
    def rows(self) -> list[Row]:
        return self._rows.rows

    @property
    def quarantine(self) -> list[Any]:
        return self._rows.quarantine

    def add(self, row: Any) -> None:
        problems: list[Reason] = []
        customer = self._customer(row)
        values: Row = {"account_id": str(customer).zfill(10) if customer else None}
        if self._date is None:
            values["date"] = self._rows.start
        else:
            try:
                values["date"] = dt.date.fromisoformat(str(self._date(row)))
            except ValueError:
                values["date"] = None
                problems.append(Reason("unparsable", "date"))
        values["account_currency"] = self._currency(row) or None
        for column, info, read in self._readers:
            value, problem = convert(column, info, read(row))
            values[column.name] = value
            if problem is not None:
                problems.append(problem)
        problems.extend(Reason("missing_id", name) for name in sorted(self._keys) if values.get(name) in (None, ""))
        reasons = self._rows.check([values], problems)
        if reasons:
            self._rows.reject(reasons, values.get("date"), json.dumps(values, default=str, sort_keys=True))
        else:
            self._rows.rows.append(values)

    def table(self) -> pa.Table:
        return self._rows.table()


def _resource_key(query: CustomQuery) -> tuple[str, ...]:
    return load_catalogue().resources[query.resource].key
