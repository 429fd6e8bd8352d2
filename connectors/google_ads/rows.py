"""GoogleAdsRow protobufs -> validated raw rows, quarantined rows, and campaign-level residual rows."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pyarrow as pa
from google.protobuf.descriptor import FieldDescriptor

from connectors.google_ads.schema import AD_PERFORMANCE
from connectors.google_ads.settings import (
    AD_COLUMN_FIELDS,
    CAMPAIGN_COLUMN_FIELDS,
    FIRST_VALUE_COLUMNS,
    ID_COLUMNS_AD,
    ID_COLUMNS_CAMPAIGN,
    INTEGER_METRICS,
    METRIC_COLUMNS,
    ROW_LEVEL_AD,
    ROW_LEVEL_CAMPAIGN,
    SERVICE_TYPES_MODULE,
    StreamQuery,
    import_api_module,
)
from connectors.kit.rows import Reason, RowCollector, to_table
from mdp.schema import QuarantinedRow, TableSpec

logger = logging.getLogger(__name__)

Row = dict[str, Any]
_FLOAT_DIGITS = 6  # conversions and values come as doubles; residuals are rounded to this many digits
_KEY_AD = ("date", "campaign_id", "ad_group_id", "ad_id")
_KEY_CAMPAIGN = ("date", "campaign_id")


@cache
def row_type() -> Any:
    """The raw protobuf GoogleAdsRow class of the configured API version."""
    return import_api_module(SERVICE_TYPES_MODULE).GoogleAdsRow.pb()


@cache
def stream_response_type() -> Any:
    """The proto-plus SearchGoogleAdsStreamResponse class (its `.pb()` unwraps a response)."""
    return import_api_module(SERVICE_TYPES_MODULE).SearchGoogleAdsStreamResponse


@cache
def _path(field_path: str) -> tuple[FieldDescriptor, ...]:
    descriptor = row_type().DESCRIPTOR
    chain: list[FieldDescriptor] = []
    for part in field_path.split("."):
        # protobuf names a field `type_` where GAQL says `type`
        item = descriptor.fields_by_name.get(part) or descriptor.fields_by_name[f"{part}_"]
        chain.append(item)
        descriptor = item.message_type
    return tuple(chain)


def field_value(row: Any, field_path: str) -> Any:
    """The value of a GAQL field in a protobuf row: enums by name, absent optional fields as None."""
    return accessor(field_path)(row)


@cache
def accessor(field_path: str) -> Callable[[Any], Any]:
    """A function reading one GAQL field from a protobuf row, with the descriptor walk done once here
    instead of for every row: the parent message by attribute chain, then the leaf as `field_value` says."""
    chain = _path(field_path)
    parent: Callable[[Any], Any] = (
        operator.attrgetter(".".join(d.name for d in chain[:-1])) if len(chain) > 1 else (lambda row: row)
    )
    leaf = chain[-1]
    name = leaf.name
    if leaf.is_repeated:
        return lambda row: list(getattr(parent(row), name))
    if leaf.enum_type is not None:
        names = {number: value.name for number, value in leaf.enum_type.values_by_number.items()}
        if leaf.has_presence:

            def optional_enum(row: Any) -> Any:
                target = parent(row)
                return names.get(getattr(target, name), "UNKNOWN") if target.HasField(name) else None

            return optional_enum
        return lambda row: names.get(getattr(parent(row), name), "UNKNOWN")
    if leaf.has_presence:

        def optional(row: Any) -> Any:
            target = parent(row)
            return getattr(target, name) if target.HasField(name) else None

        return optional
    return lambda row: getattr(parent(row), name)


@cache
def accessors(columns: tuple[tuple[str, str], ...]) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """(column, reader) for (column, GAQL field) pairs, built once per column set."""
    return tuple((column, accessor(path)) for column, path in columns)


_QUERY_ACCESSORS: dict[int, tuple[StreamQuery, tuple[tuple[str, str, Callable[[Any], Any]], ...]]] = {}


def query_accessors(query: StreamQuery) -> tuple[tuple[str, str, Callable[[Any], Any]], ...]:
    """(column, GAQL field, reader) for each column of a stream's query, built once per query."""
    known = _QUERY_ACCESSORS.get(id(query))
    if known is None or known[0] is not query:
        readers = tuple((column, path, accessor(path)) for column, path in query.columns.items())
        known = _QUERY_ACCESSORS[id(query)] = (query, readers)
    return known[1]


@dataclass
class Parsed:
    """One source row converted to raw columns, with what is wrong with it (empty when valid)."""

    values: Row
    problems: list[Reason] = field(default_factory=list)
    metrics_ok: bool = True


def parse_row(row: Any, columns: Mapping[str, str], id_columns: Iterable[str]) -> Parsed:
    """Read `columns` (raw column -> GAQL field) from a protobuf row and check types, ids and signs."""
    values: Row = {}
    problems: list[Reason] = []
    metrics_ok = True
    for column, read in accessors(tuple(columns.items())):
        raw = read(row)
        if column == "date":
            try:
                values[column] = dt.date.fromisoformat(str(raw))
            except ValueError:
                values[column] = None
                problems.append(Reason("unparsable", "date"))
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
    problems.extend(Reason("missing_id", column) for column in id_columns if not values.get(column))
    return Parsed(values, problems, metrics_ok)


def _metric(column: str, raw: Any) -> tuple[int | float, Reason | None]:
    if raw is None:
        return 0, None
    try:
        number: int | float = int(raw) if column in INTEGER_METRICS else float(raw)
    except (TypeError, ValueError):
        return 0, Reason("unparsable", column)
    if isinstance(number, float) and not math.isfinite(number):
        return 0, Reason("unparsable", column)
    if number < 0:
        return number, Reason("negative_cost") if column == "cost_micros" else Reason("negative_metric", column)
    return number, None


# Reads the passthrough (pt_) columns of a protobuf row: their values and what is wrong with them.
PassthroughReader = Callable[[Any], tuple[Row, list[Reason]]]


class ChunkBuilder:
    """Collects one account's rows for [start, end]: ad rows first, then campaign rows for residuals.

    With passthrough fields, `spec` is the instance's table (AD_PERFORMANCE plus the pt_ columns), `passthrough`
    reads them from ad and campaign rows, and `additive` names those whose campaign-level residual is
    computed like the built-in metrics' (the others are null on campaign-level rows)."""

    def __init__(
        self,
        account: str,
        start: dt.date,
        end: dt.date,
        spec: TableSpec = AD_PERFORMANCE,
        passthrough: PassthroughReader | None = None,
        additive: tuple[str, ...] = (),
    ) -> None:
        self.account = account
        self.spec = spec
        self._passthrough = passthrough
        self._additive = additive
        self._summed = (*METRIC_COLUMNS, *additive)
        self._ads = RowCollector(spec, account, start, end, _KEY_AD)
        self._campaigns = RowCollector(spec, account, start, end, _KEY_CAMPAIGN)
        self._ad_sums: dict[tuple[dt.date, str], dict[str, Any]] = {}
        self._unreliable: set[tuple[dt.date, str]] = set()

    def _parse(self, row: Any, columns: Mapping[str, str], ids: Iterable[str]) -> Parsed:
        parsed = parse_row(row, columns, ids)
        if self._passthrough is not None:
            extra, problems = self._passthrough(row)
            parsed.values.update(extra)
            parsed.problems.extend(problems)
            parsed.metrics_ok = parsed.metrics_ok and not problems
        return parsed

    @property
    def rows(self) -> list[Row]:
        return self._ads.rows + self._campaigns.rows

    @property
    def quarantine(self) -> list[QuarantinedRow]:
        return self._ads.quarantine + self._campaigns.quarantine

    def add_ad_row(self, row: Any) -> None:
        parsed = self._parse(row, AD_COLUMN_FIELDS, ID_COLUMNS_AD)
        values = parsed.values
        problems = self._ads.check([values], parsed.problems)
        day, campaign = values.get("date"), values.get("campaign_id")
        foreign = {"duplicate_key", "account_mismatch", "date_out_of_range"} & {p.code for p in problems}
        if isinstance(day, dt.date) and campaign and not foreign:
            if parsed.metrics_ok:
                sums = self._ad_sums.setdefault((day, campaign), dict.fromkeys(self._summed, 0))
                for metric in self._summed:
                    sums[metric] += values[metric] or 0
            else:
                self._unreliable.add((day, campaign))
        if problems:
            self._ads.reject(problems, day, _json(values))
        else:
            self._ads.rows.append({**values, "row_level": ROW_LEVEL_AD})

    def add_campaign_row(self, row: Any) -> None:
        """A campaign's daily totals: whatever its ad rows do not cover becomes a campaign-level row."""
        parsed = self._parse(row, CAMPAIGN_COLUMN_FIELDS, ID_COLUMNS_CAMPAIGN)
        values = parsed.values
        problems = self._campaigns.check([values], parsed.problems)
        key = (values.get("date"), values.get("campaign_id"))
        if not problems and key in self._unreliable:
            problems = [Reason("residual_unreliable")]
        if problems:
            self._campaigns.reject(problems, values.get("date"), _json(values))
            return
        covered = self._ad_sums.get((values["date"], values["campaign_id"]), {})
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
            extra: Row = {}
            for column in self._pt_columns:
                total = values.get(column)
                if column in self._additive and total is not None:
                    extra[column] = max(total - covered.get(column, 0), 0)
                else:
                    extra[column] = None
            self._campaigns.rows.append(
                {
                    **values,
                    **residual,
                    **extra,
                    "ad_group_id": None,
                    "ad_group_name": None,
                    "ad_id": None,
                    "row_level": ROW_LEVEL_CAMPAIGN,
                }
            )

    @property
    def _pt_columns(self) -> tuple[str, ...]:
        built_in = set(AD_PERFORMANCE.schema.names)
        return tuple(n for n in self.spec.schema.names if n not in built_in)

    def table(self) -> pa.Table:
        return to_table(self.rows, self.spec)


def _json(values: Row) -> str:
    return json.dumps(values, default=str, sort_keys=True)


def resource_id(value: Any) -> str | None:
    """The id a value names: 'customers/1/adGroupCriteria/22~333' -> '333', 'geoTargetConstants/2250' -> '2250',
    an integer id -> its digits; None for an absent id (0 or empty)."""
    if value is None or value in (0, ""):
        return None
    text = str(value)
    return text.rsplit("/", 1)[-1].rsplit("~", 1)[-1] or None


def parse_stream_row(row: Any, query: StreamQuery, spec: TableSpec) -> Parsed:
    """Read a stream's columns from a protobuf row, typed by the declared schema; check ids and metrics."""
    values: Row = {}
    problems: list[Reason] = []
    metrics_ok = True
    for column, path, read in query_accessors(query):
        raw = read(row)
        kind = spec.schema.field(column).type
        if isinstance(raw, list):
            values[column] = (raw[0] if raw else None) if column in FIRST_VALUE_COLUMNS else json.dumps(raw)
        elif path.startswith("metrics."):
            number, problem = _metric(column, raw)
            values[column] = float(number) if pa.types.is_floating(kind) else number
            if problem:
                problems.append(problem)
                metrics_ok = False
        elif pa.types.is_date32(kind):
            try:
                values[column] = None if raw in (None, "") else dt.date.fromisoformat(str(raw)[:10])
            except ValueError:
                values[column] = None
                problems.append(Reason("unparsable", column))
        elif column.endswith("_id"):
            values[column] = resource_id(raw)
        elif pa.types.is_boolean(kind):
            values[column] = None if raw is None else bool(raw)
        elif pa.types.is_integer(kind):
            values[column] = None if raw is None else int(raw)
        else:
            values[column] = str(raw) if raw not in (None, "") else None
    problems.extend(Reason("missing_id", column) for column in query.id_columns if not values.get(column))
    return Parsed(values, problems, metrics_ok)


class StreamBuilder:
    """Collects one account's rows of one stream for [start, end] (a report) or of the snapshot day `start`."""

    def __init__(
        self,
        account: str,
        start: dt.date,
        end: dt.date,
        query: StreamQuery,
        spec: TableSpec,
        snapshot: bool = False,
        enrich: Callable[[Row], None] | None = None,
    ) -> None:
        self.query, self.spec, self.snapshot, self.enrich = query, spec, snapshot, enrich
        self._rows = RowCollector(spec, account, start, end, query.key_columns)
        self.rows, self.quarantine = self._rows.rows, self._rows.quarantine

    def add(self, row: Any) -> None:
        parsed = parse_stream_row(row, self.query, self.spec)
        values = parsed.values
        if self.snapshot:
            values = {self.spec.date_column: self._rows.start, **values}
        problems = self._rows.check([values], parsed.problems)
        if problems:
            self._rows.reject(problems, values.get(self.spec.date_column), _json(values))
            return
        if self.enrich is not None:
            self.enrich(values)
        self.rows.append(values)

    def table(self) -> pa.Table:
        return self._rows.table()
