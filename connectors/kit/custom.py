"""Custom streams and passthrough fields: what every connector shares when a user declares a stream of fields
of their own in pipeline.yaml (Google `custom_queries`, Meta `custom_insights`, Microsoft `custom_reports`) or
asks for extra fields on the ad performance stream (passthrough metrics).

Each connector validates the user's fields against what its platform offers and describes them as
`CustomColumn`s (its platform's name, the column's Arrow type, dimension or metric); this module turns them
into column names (sanitised deterministically, a collision refused and never renamed) and into the raw table
of the custom stream: `raw_<channel>.custom_<name>` keyed by (account_id, date) and the dimension columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from connectors.base import Stream, StreamKind
from connectors.kit.schema import Columns, table_spec
from mdp.errors import ConfigError
from mdp.schema import METADATA_FIELDS, TableSpec

Role = Literal["dimension", "metric"]
CUSTOM_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
CUSTOM_PREFIX = "custom_"
PASSTHROUGH_PREFIX = "pt_"
# The columns every custom table starts with: its unit of idempotence (and the account's currency, which
# makes its money columns readable on their own).
KEY_COLUMNS: Columns = {
    "account_id": (pa.string(), False, "the platform's ad account id"),
    "date": (pa.date32(), False, "the day the row reports (the snapshot day for a snapshot stream)"),
}
RESERVED = frozenset({*KEY_COLUMNS, "account_currency", *(f.name for f in METADATA_FIELDS)})
MAX_COLUMN = 63  # BigQuery allows 300 characters, but a shorter name stays readable in every BI tool


def column_name(field: str) -> str:
    """The warehouse column of a platform field: lower case, every run of characters outside [a-z0-9]
    replaced by one underscore, trimmed (`metrics.cost_micros` -> `metrics_cost_micros`,
    `actions:video_view` -> `actions_video_view`). Deterministic; an empty result or one over 63 characters
    is refused (raise ValueError): it is never shortened silently."""
    name = re.sub(r"[^a-z0-9]+", "_", field.lower()).strip("_")
    if not name:
        raise ValueError(f"field {field!r} gives no column name")
    if name[0] in "0123456789":  # ASCII only (the substitution above left nothing else)
        name = f"f_{name}"
    if len(name) > MAX_COLUMN:
        raise ValueError(f"field {field!r} gives a column name over {MAX_COLUMN} characters")
    return name


@dataclass(frozen=True)
class CustomColumn:
    """One column of a custom stream (or one passthrough field) as the connector validated it.

    `source` is the platform's field as the user wrote it; `name` the warehouse column (column_name(source)
    unless the connector names it, e.g. an action type split out of a list field); `role` "dimension" (part
    of the row's key) or "metric"; `money` marks an amount in the account currency (typed MONEY);
    `additive` tells whether the metric can be summed over days and entities (reach and frequency cannot).
    """

    source: str
    type: pa.DataType
    role: Role
    doc: str = ""
    name: str = ""
    money: bool = False
    additive: bool = True

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", column_name(self.source))


def check_columns(columns: Sequence[CustomColumn], where: str, reserved: frozenset[str] = RESERVED) -> None:
    """Two fields that give the same column, or a field whose column is reserved, are refused in one line
    naming `where` (the configuration key) and both fields."""
    seen: dict[str, str] = {}
    for column in columns:
        if column.name in reserved:
            raise ConfigError(
                f"invalid configuration in {where}: field {column.source!r} would be column {column.name!r}, "
                "which every custom table already has"
            )
        if column.name in seen:
            raise ConfigError(
                f"invalid configuration in {where}: fields {seen[column.name]!r} and {column.source!r} would "
                f"both be column {column.name!r}; keep one"
            )
        seen[column.name] = column.source


def custom_table(
    channel: str, name: str, columns: Sequence[CustomColumn], *, description: str, where: str
) -> TableSpec:
    """The raw table `raw_<channel>.custom_<name>`: account_id, date, account_currency, then `columns` in the
    order the user listed them (all nullable: a platform may leave a field out of a row)."""
    if not re.fullmatch(CUSTOM_NAME_PATTERN, name):
        raise ConfigError(f"invalid configuration in {where}.name: {name!r} must be lower_snake_case, 1-40 characters")
    check_columns(columns, where)
    spec: Columns = dict(KEY_COLUMNS)
    spec["account_currency"] = (pa.string(), True, "the account's currency (ISO 4217) for the money columns")
    for column in columns:
        kind = "dimension" if column.role == "dimension" else "metric"
        doc = column.doc or f"{column.source} ({kind})"
        spec[column.name] = (column.type, True, doc)
    return table_spec(f"raw_{channel}.{CUSTOM_PREFIX}{name}", spec, cluster_by=("account_id",), description=description)


def custom_stream(
    channel: str,
    name: str,
    columns: Sequence[CustomColumn],
    *,
    kind: StreamKind = "report",
    description: str,
    where: str,
) -> CustomStream:
    """The Stream a custom declaration lands as (named `custom_<name>`), with its columns kept for the
    generated staging model (key = account_id, date and the dimensions)."""
    table = custom_table(channel, name, columns, description=description, where=where)
    return CustomStream(f"{CUSTOM_PREFIX}{name}", table, kind, columns=tuple(columns))


@dataclass(frozen=True)
class CustomStream(Stream):
    """A stream declared in the configuration rather than by the connector."""

    columns: tuple[CustomColumn, ...] = ()

    @property
    def key(self) -> tuple[str, ...]:
        """The row's key: account, day and every dimension column."""
        return ("account_id", "date", *(c.name for c in self.columns if c.role == "dimension"))


def passthrough_table(spec: TableSpec, columns: Sequence[CustomColumn], where: str) -> TableSpec:
    """`spec` (a connector's ad performance table) with one nullable column per passthrough field,
    `pt_<column_name(field)>`, appended; a field already passed through, or a name the table has, refused."""
    if not columns:
        return spec
    existing = set(spec.schema.names)
    fields = list(spec.schema)
    docs = dict(spec.column_docs)
    for column in columns:
        if column.name in existing:
            raise ConfigError(
                f"invalid configuration in {where}: field {column.source!r} is passed through twice "
                f"(column {column.name!r})"
            )
        existing.add(column.name)
        fields.append(pa.field(column.name, column.type, nullable=True))
        docs[column.name] = column.doc or f"passthrough field {column.source}"
    return TableSpec(
        name=spec.name,
        schema=pa.schema(fields),
        account_column=spec.account_column,
        date_column=spec.date_column,
        cluster_by=spec.cluster_by,
        description=spec.description,
        column_docs=docs,
    )


def passthrough_column(source: str, type_: pa.DataType, *, money: bool = False, doc: str = "") -> CustomColumn:
    """The raw column of a passthrough field on the ad performance stream: `pt_<column_name(source)>`."""
    return CustomColumn(source, type_, "metric", doc=doc, name=PASSTHROUGH_PREFIX + column_name(source), money=money)
