"""GoogleAdsRow protobufs -> validated raw rows, quarantined rows, and campaign-level residual rows."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pyarrow as pa
from google.protobuf.descriptor import FieldDescriptor

from connectors.google_ads.schema import AD_PERFORMANCE
from connectors.google_ads.settings import (
    AD_COLUMN_FIELDS,
    CAMPAIGN_COLUMN_FIELDS,
    ID_COLUMNS_AD,
    ID_COLUMNS_CAMPAIGN,
    INTEGER_METRICS,
    METRIC_COLUMNS,
    ROW_LEVEL_AD,
    ROW_LEVEL_CAMPAIGN,
    SERVICE_TYPES_MODULE,
)
from mdp.schema import QuarantinedRow

logger = logging.getLogger(__name__)

Row = dict[str, Any]
_FLOAT_DIGITS = 6  # conversions and values come as doubles; residuals are rounded to this many digits
_KEY_AD = ("date", "campaign_id", "ad_group_id", "ad_id")
_KEY_CAMPAIGN = ("date", "campaign_id")


@cache
def row_type() -> Any:
    """The raw protobuf GoogleAdsRow class of the configured API version."""
    return importlib.import_module(SERVICE_TYPES_MODULE).GoogleAdsRow.pb()


@cache
def stream_response_type() -> Any:
    """The proto-plus SearchGoogleAdsStreamResponse class (its `.pb()` unwraps a response)."""
    return importlib.import_module(SERVICE_TYPES_MODULE).SearchGoogleAdsStreamResponse


@cache
def _path(field_path: str) -> tuple[FieldDescriptor, ...]:
    descriptor = row_type().DESCRIPTOR
    chain: list[FieldDescriptor] = []
    for part in field_path.split("."):
        item = descriptor.fields_by_name[part]
        chain.append(item)
        descriptor = item.message_type
    return tuple(chain)


def field_value(row: Any, field_path: str) -> Any:
    """The value of a GAQL field in a protobuf row: enums by name, absent optional fields as None."""
    chain = _path(field_path)
    target = row
    for descriptor in chain[:-1]:
        target = getattr(target, descriptor.name)
    leaf = chain[-1]
    if leaf.has_presence and not target.HasField(leaf.name):
        return None
    value = getattr(target, leaf.name)
    if leaf.enum_type is not None:
        named = leaf.enum_type.values_by_number.get(value)
        return named.name if named else "UNKNOWN"
    return value


@dataclass
class Parsed:
    """One source row converted to raw columns, with what is wrong with it (empty when valid)."""

    values: Row
    problems: list[str] = field(default_factory=list)
    metrics_ok: bool = True


def parse_row(row: Any, columns: Mapping[str, str], id_columns: Iterable[str]) -> Parsed:
    """Read `columns` (raw column -> GAQL field) from a protobuf row and check types, ids and signs."""
    values: Row = {}
    problems: list[str] = []
    metrics_ok = True
    for column, path in columns.items():
        raw = field_value(row, path)
        if column == "date":
            try:
                values[column] = dt.date.fromisoformat(str(raw))
            except ValueError:
                values[column] = None
                problems.append("unparsable:date")
        elif column in METRIC_COLUMNS:
            number, problem = _metric(column, raw)
            values[column] = number
            if problem:
                problems.append(problem)
                metrics_ok = False
        elif column.endswith("_id"):
            values[column] = str(raw) if raw else None
        else:
            values[column] = str(raw) if raw not in (None, "") else None
    problems.extend(f"missing_id:{column}" for column in id_columns if not values.get(column))
    return Parsed(values, problems, metrics_ok)


def _metric(column: str, raw: Any) -> tuple[int | float, str | None]:
    if raw is None:
        return 0, None
    try:
        number: int | float = int(raw) if column in INTEGER_METRICS else float(raw)
    except (TypeError, ValueError):
        return 0, f"unparsable:{column}"
    if isinstance(number, float) and not math.isfinite(number):
        return 0, f"unparsable:{column}"
    if number < 0:
        return number, "negative_cost" if column == "cost_micros" else f"negative_metric:{column}"
    return number, None


@dataclass
class ChunkBuilder:
    """Collects one account's rows for [start, end]: ad rows first, then campaign rows for residuals."""

    account: str
    start: dt.date
    end: dt.date
    rows: list[Row] = field(default_factory=list)
    quarantine: list[QuarantinedRow] = field(default_factory=list)
    _ad_sums: dict[tuple[dt.date, str], dict[str, int | float]] = field(default_factory=dict)
    _unreliable: set[tuple[dt.date, str]] = field(default_factory=set)
    _seen_ads: set[tuple[Any, ...]] = field(default_factory=set)
    _seen_campaigns: set[tuple[Any, ...]] = field(default_factory=set)

    def add_ad_row(self, row: Any) -> None:
        parsed = self._checked(row, AD_COLUMN_FIELDS, ID_COLUMNS_AD, _KEY_AD, self._seen_ads)
        values = parsed.values
        day, campaign = values.get("date"), values.get("campaign_id")
        foreign = {"duplicate_key", "account_mismatch", "date_out_of_range"} & set(parsed.problems)
        if isinstance(day, dt.date) and campaign and not foreign:
            if parsed.metrics_ok:
                sums = self._ad_sums.setdefault((day, campaign), dict.fromkeys(METRIC_COLUMNS, 0))
                for metric in METRIC_COLUMNS:
                    sums[metric] += values[metric]
            else:
                self._unreliable.add((day, campaign))
        if parsed.problems:
            self._reject(values, parsed.problems)
        else:
            self.rows.append({**values, "row_level": ROW_LEVEL_AD})

    def add_campaign_row(self, row: Any) -> None:
        """A campaign's daily totals: whatever its ad rows do not cover becomes a campaign-level row."""
        parsed = self._checked(row, CAMPAIGN_COLUMN_FIELDS, ID_COLUMNS_CAMPAIGN, _KEY_CAMPAIGN, self._seen_campaigns)
        values = parsed.values
        if parsed.problems:
            self._reject(values, parsed.problems)
            return
        key = (values["date"], values["campaign_id"])
        if key in self._unreliable:
            self._reject(values, ["residual_unreliable"])
            return
        covered = self._ad_sums.get(key, {})
        residual: Row = {}
        for metric in METRIC_COLUMNS:
            rest = values[metric] - covered.get(metric, 0)
            if metric not in INTEGER_METRICS:
                rest = round(rest, _FLOAT_DIGITS)
            if rest < 0:
                logger.debug(
                    "google_ads %s %s campaign %s: ad rows exceed the campaign's %s by %s",
                    self.account,
                    key[0],
                    key[1],
                    metric,
                    -rest,
                )
                rest = 0
            residual[metric] = rest
        if any(residual[m] > 0 for m in METRIC_COLUMNS):
            self.rows.append(
                {
                    **values,
                    **residual,
                    "ad_group_id": None,
                    "ad_group_name": None,
                    "ad_id": None,
                    "row_level": ROW_LEVEL_CAMPAIGN,
                }
            )

    def table(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows, schema=AD_PERFORMANCE.schema)

    def _checked(
        self,
        row: Any,
        columns: Mapping[str, str],
        id_columns: Iterable[str],
        key_columns: tuple[str, ...],
        seen: set[tuple[Any, ...]],
    ) -> Parsed:
        parsed = parse_row(row, columns, id_columns)
        values = parsed.values
        customer = values.get("customer_id")
        if customer and customer != self.account:
            parsed.problems.append("account_mismatch")
        day = values.get("date")
        if isinstance(day, dt.date) and not self.start <= day <= self.end:
            parsed.problems.append("date_out_of_range")
        if not parsed.problems:
            key = tuple(values[c] for c in key_columns)
            if key in seen:
                parsed.problems.append("duplicate_key")
            seen.add(key)
        return parsed

    def _reject(self, values: Row, problems: list[str]) -> None:
        day = values.get("date")
        if not (isinstance(day, dt.date) and self.start <= day <= self.end):
            day = self.start  # the unit must lie inside the load scope; the record keeps the real date
        record = json.dumps(values, default=str, sort_keys=True)
        self.quarantine.append(QuarantinedRow(self.account, day, "; ".join(problems), record))
