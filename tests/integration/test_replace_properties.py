"""Property: any sequence of replace_partitions calls (random, overlapping, repeated scopes, some
failing part-way) leaves the table equal to a plain in-memory model of the same sequence."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdp.errors import ScopeError
from mdp.schema import TableSpec
from warehouse.base import LoadContext, Scope
from warehouse.duckdb import DuckDBWarehouse

ACCOUNTS = ("a1", "a2", "a3")
DAYS = tuple(dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(4))
UNITS = [(a, d) for a in ACCOUNTS for d in DAYS]
SPEC = TableSpec(
    "raw_prop.t",
    pa.schema(
        [
            pa.field("account_id", pa.string(), nullable=False),
            pa.field("day", pa.date32(), nullable=False),
            pa.field("value", pa.int64()),
        ]
    ),
    account_column="account_id",
    date_column="day",
)


class Boom(RuntimeError):
    """The extraction feeding a load died part-way."""


@st.composite
def operations(draw: st.DrawFn) -> dict[str, Any]:
    scope = draw(st.sets(st.sampled_from(UNITS), min_size=1, max_size=len(UNITS)))
    data = {unit: draw(st.lists(st.integers(-5, 1000), max_size=3)) for unit in sorted(scope)}
    failure = draw(st.sampled_from(["none", "none", "none", "raise_midway", "stray_row"]))
    shape = draw(st.sampled_from(["records", "table", "batches"]))
    return {"scope": scope, "data": data, "failure": failure, "shape": shape}


def feed(op: dict[str, Any]) -> Any:
    records = [{"account_id": a, "day": d, "value": v} for (a, d), values in sorted(op["data"].items()) for v in values]
    outside = [u for u in UNITS if u not in op["scope"]]
    if op["failure"] == "stray_row" and outside:
        records.append({"account_id": outside[0][0], "day": outside[0][1], "value": -1})
    if op["shape"] == "records" and op["failure"] != "raise_midway":
        return records
    if op["shape"] == "table" and op["failure"] != "raise_midway":
        return pa.Table.from_pylist(records, schema=SPEC.schema)

    def batches() -> Iterator[pa.Table]:
        half = len(records) // 2
        yield pa.Table.from_pylist(records[:half], schema=SPEC.schema)
        if op["failure"] == "raise_midway":
            raise Boom("source connection lost")
        yield pa.Table.from_pylist(records[half:], schema=SPEC.schema)

    return batches()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operations(), min_size=1, max_size=6))
def test_replace_sequence_matches_in_memory_model(ops: list[dict[str, Any]]) -> None:
    model: dict[tuple[str, dt.date], list[int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        wh = DuckDBWarehouse(Path(tmp) / "prop.duckdb")
        for i, op in enumerate(ops):
            expect_failure = op["failure"] == "raise_midway" or (
                op["failure"] == "stray_row" and len(op["scope"]) < len(UNITS)
            )
            try:
                wh.replace_partitions(SPEC, feed(op), Scope.from_units(op["scope"]), LoadContext("prop", f"run{i}"))
            except (Boom, ScopeError):
                assert expect_failure
            else:
                assert not expect_failure
                for unit in op["scope"]:
                    model[unit] = sorted(op["data"][unit])
        exists = wh.table_exists(SPEC.name)
        table = wh.query("SELECT account_id, day, value FROM raw_prop.t ORDER BY ALL") if exists else []
        expected = sorted((a, d, v) for (a, d), values in model.items() for v in values)
        assert table == expected


@pytest.mark.parametrize("shape", ["records", "table", "batches"])
def test_model_helpers_really_fail(tmp_path: Path, shape: str) -> None:
    """Guard against a property that cannot fail: each failure mode does raise."""
    wh = DuckDBWarehouse(tmp_path / "x.duckdb")
    unit = UNITS[0]
    op = {"scope": {unit}, "data": {unit: [1, 2]}, "failure": "stray_row", "shape": shape}
    with pytest.raises(ScopeError):
        wh.replace_partitions(SPEC, feed(op), Scope.from_units(op["scope"]), LoadContext("p", "r"))
    op = {"scope": {unit}, "data": {unit: [1, 2]}, "failure": "raise_midway", "shape": shape}
    with pytest.raises(Boom):
        wh.replace_partitions(SPEC, feed(op), Scope.from_units(op["scope"]), LoadContext("p", "r"))
