"""Declared table schemas: one `TableSpec` per raw table, shared by extraction, loading and dbt checks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pyarrow as pa

RUN_ID = "_run_id"
EXTRACTED_AT = "_extracted_at"
LOADED_AT = "_loaded_at"

METADATA_FIELDS: tuple[pa.Field, ...] = (
    pa.field(RUN_ID, pa.string(), nullable=True),
    pa.field(EXTRACTED_AT, pa.timestamp("us", tz="UTC"), nullable=True),
    pa.field(LOADED_AT, pa.timestamp("us", tz="UTC"), nullable=True),
)


@dataclass(frozen=True)
class TableSpec:
    """A warehouse table declared once.

    `name` is "schema.table". Each (account_column, date_column) pair is one unit of idempotence:
    loads replace whole units. `schema` lists the business columns; the load metadata columns
    (`_run_id`, `_extracted_at`, `_loaded_at`) are appended by `full_schema`.
    """

    name: str
    schema: pa.Schema
    account_column: str
    date_column: str
    cluster_by: tuple[str, ...] = ()
    description: str = ""
    column_docs: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name.count(".") != 1:
            raise ValueError(f"table name must be 'schema.table', got {self.name!r}")
        names = self.schema.names
        for column in (self.account_column, self.date_column):
            if column not in names:
                raise ValueError(f"{self.name}: key column {column!r} is not in the schema")
        if not pa.types.is_date32(self.schema.field(self.date_column).type):
            raise ValueError(f"{self.name}: {self.date_column!r} must be date32")
        if not pa.types.is_string(self.schema.field(self.account_column).type):
            raise ValueError(f"{self.name}: {self.account_column!r} must be a string")
        clash = {f.name for f in METADATA_FIELDS} & set(names)
        if clash:
            raise ValueError(f"{self.name}: reserved column names {sorted(clash)}")

    @property
    def schema_name(self) -> str:
        return self.name.split(".")[0]

    @property
    def table_name(self) -> str:
        return self.name.split(".")[1]

    def full_schema(self) -> pa.Schema:
        """The business columns followed by the load metadata columns."""
        return pa.schema([*self.schema, *METADATA_FIELDS])

    def quarantine_name(self) -> str:
        """Where rows rejected from this table go, with their reason."""
        return f"{self.name}__quarantine"


@dataclass(frozen=True)
class QuarantinedRow:
    """A source row rejected by validation, kept with its reason instead of being dropped."""

    account_id: str
    day: dt.date
    reason: str
    record: str | None = None
