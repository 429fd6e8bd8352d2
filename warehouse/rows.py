"""Rows on their way into a warehouse: conformed to the declared schema, with load metadata filled in.
Shared by every backend, so validation and its messages are the same everywhere."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from mdp.errors import ScopeError, WarehouseError
from mdp.schema import EXTRACTED_AT, LOADED_AT, RUN_ID, QuarantinedRow, TableSpec
from warehouse.base import LoadContext, RowsInput, Scope


def conformed_batches(
    spec: TableSpec, rows: RowsInput, context: LoadContext, loaded_at: dt.datetime
) -> Iterator[pa.Table]:
    """Each input batch conformed to the table's full schema, with load metadata filled in."""
    if isinstance(rows, pa.Table):
        yield _conform(spec, rows, context, loaded_at)
    elif isinstance(rows, pa.RecordBatch):
        yield _conform(spec, pa.Table.from_batches([rows]), context, loaded_at)
    elif isinstance(rows, Sequence) and (not rows or isinstance(rows[0], Mapping)):
        if rows:
            yield _conform(spec, _from_records(spec, rows), context, loaded_at)
    else:
        for batch in rows:  # an iterable of batches, consumed inside the transaction
            table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
            yield _conform(spec, table, context, loaded_at)


def _from_records(spec: TableSpec, records: Sequence[Mapping[str, Any]]) -> pa.Table:
    known = set(spec.full_schema().names)
    extra = sorted({key for record in records for key in record} - known)
    if extra:
        raise WarehouseError(f"{spec.name}: rows carry columns the table does not declare: {extra}")
    given = {key for record in records for key in record}
    schema = pa.schema(
        [f for f in spec.full_schema() if f.name not in (RUN_ID, LOADED_AT) and (f.name in given or f.nullable)]
    )
    if EXTRACTED_AT not in given:
        schema = schema.remove(schema.get_field_index(EXTRACTED_AT))
    try:
        return pa.Table.from_pylist(list(records), schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise WarehouseError(f"{spec.name}: rows do not match the declared schema: {exc}") from exc


def _conform(spec: TableSpec, table: pa.Table, context: LoadContext, loaded_at: dt.datetime) -> pa.Table:
    target = spec.full_schema()
    extra = sorted(set(table.column_names) - set(target.names))
    if extra:
        raise WarehouseError(f"{spec.name}: rows carry columns the table does not declare: {extra}")
    n = table.num_rows
    arrays = []
    for f in target:
        if f.name == RUN_ID:
            arrays.append(_constant(context.run_id, f.type, n))
        elif f.name == LOADED_AT:
            arrays.append(_constant(loaded_at, f.type, n))
        elif f.name in table.column_names:
            column = table.column(f.name)
            try:
                arrays.append(column if column.type == f.type else column.cast(f.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise WarehouseError(
                    f"{spec.name}, column {f.name}: cannot store {column.type} as {f.type}: {exc}"
                ) from exc
        elif f.name == EXTRACTED_AT:
            arrays.append(_constant(loaded_at, f.type, n))
        elif f.nullable:
            arrays.append(pa.nulls(n, f.type))
        else:
            raise WarehouseError(f"{spec.name}: required column {f.name} is missing from the rows")
    for f, array in zip(target, arrays, strict=True):
        if not f.nullable and array.null_count:
            raise WarehouseError(f"{spec.name}, column {f.name}: {array.null_count} null value(s) in a required column")
    return pa.Table.from_arrays(arrays, schema=target)


def check_quarantine_scope(spec: TableSpec, quarantine: Sequence[QuarantinedRow], scope: Scope) -> None:
    """Quarantined rows belong to units of the load, like the rows themselves."""
    outside = sorted({(q.account_id, q.day) for q in quarantine} - scope.units)
    if outside:
        raise ScopeError(f"{spec.name}: quarantined rows outside the load scope: {outside[:5]}")


def _constant(value: Any, type_: pa.DataType, n: int) -> pa.Array:
    """`n` copies of `value`, built without a Python list (a timestamp through its int64 storage)."""
    if pa.types.is_timestamp(type_):
        micros = pa.scalar(value, type_).value
        return pa.array(np.full(n, micros, dtype=np.int64)).view(type_)
    return pa.repeat(pa.scalar(value, type_), n)
