"""Raw table declarations shared by the connectors: the column-map shape every schema.py writes its columns
in, the exact money type, and the TableSpec built from a column map."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from mdp.schema import TableSpec

MONEY = pa.decimal128(18, 6)  # every amount in the account currency: exact, micros kept
TIMESTAMP = pa.timestamp("us", tz="UTC")

Columns = dict[str, tuple[pa.DataType, bool, str]]  # name: (type, nullable, description)


def table_spec(
    name: str,
    columns: Columns,
    *,
    account_column: str = "account_id",
    date_column: str = "date",
    cluster_by: Sequence[str] | None = None,
    description: str = "",
) -> TableSpec:
    """The TableSpec of raw table `name` ("raw_<channel>.<stream>") with `columns` in order, each with its
    type, nullability and description (the column docs of the warehouse and the dbt sources). Clustered by
    `cluster_by`, by default the account and, when the table has one, the campaign."""
    if cluster_by is None:
        cluster_by = (account_column, "campaign_id") if "campaign_id" in columns else (account_column,)
    return TableSpec(
        name=name,
        schema=pa.schema([pa.field(n, t, nullable=null) for n, (t, null, _) in columns.items()]),
        account_column=account_column,
        date_column=date_column,
        cluster_by=tuple(cluster_by),
        description=description,
        column_docs={n: doc for n, (_, _, doc) in columns.items()},
    )
