"""A combined load's per-part scope check: the quick answer for one account's run of days, and the grouping
it falls back to (warehouse/base.py)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from mdp.errors import ScopeError
from mdp.schema import TableSpec
from warehouse.base import LoadPart, Scope, combine_parts, inside_one_account_run

D1, D2, D3, D5 = (dt.date(2026, 3, d) for d in (1, 2, 3, 5))
SPEC = TableSpec(
    "raw_test.perf",
    pa.schema([pa.field("account_id", pa.string()), pa.field("date", pa.date32()), pa.field("cost", pa.float64())]),
    account_column="account_id",
    date_column="date",
)


def rows(*pairs: tuple[str | None, dt.date | None]) -> pa.Table:
    return pa.table(
        {
            "account_id": pa.array([a for a, _ in pairs], pa.string()),
            "date": pa.array([d for _, d in pairs], pa.date32()),
            "cost": [1.0] * len(pairs),
        }
    )


def test_one_accounts_run_of_days_is_answered_without_grouping() -> None:
    assert inside_one_account_run(SPEC, rows(("a", D1), ("a", D3), ("a", D2)), Scope.of(["a"], D1, D3))


@pytest.mark.parametrize(
    ("table", "scope"),
    [
        (rows(("a", D1), ("b", D2)), Scope.of(["a"], D1, D3)),  # another account's row
        (rows(("a", D1), ("a", D5)), Scope.of(["a"], D1, D3)),  # a day after the run
        (rows(("a", D1)), Scope.of(["a"], D2, D3)),  # a day before it
        (rows(("a", D1), (None, D2)), Scope.of(["a"], D1, D3)),  # a null account
        (rows(("a", D1), ("a", None)), Scope.of(["a"], D1, D3)),  # a null day
        (rows(("a", D1)), Scope.from_units({("a", D1), ("a", D3)})),  # days with a gap: not a run
        (rows(("a", D1)), Scope.of(["a", "b"], D1, D1)),  # two accounts
        (rows(), Scope.of(["a"], D1, D1)),  # no rows
        (rows(("a", D1)).drop_columns(["date"]), Scope.of(["a"], D1, D1)),  # no day column
    ],
)
def test_anything_else_is_left_to_the_grouping(table: pa.Table, scope: Scope) -> None:
    assert not inside_one_account_run(SPEC, table, scope)


def test_a_part_naming_another_parts_account_is_refused_by_the_grouping() -> None:
    first = LoadPart(rows(("b", D1)), Scope.of(["a"], D1, D1))  # a's unit, rows labelled b
    second = LoadPart(rows(("b", D1)), Scope.of(["b"], D1, D1))
    with pytest.raises(ScopeError, match=r"1 \(account, day\) unit\(s\) in the rows are outside the load scope"):
        combine_parts(SPEC, [first, second])


def test_parts_inside_their_runs_combine_into_one_contiguous_table() -> None:
    parts = [
        LoadPart(rows(("a", D1), ("a", D2)), Scope.of(["a"], D1, D2)),
        LoadPart(rows(("b", D3)), Scope.of(["b"], D3, D3)),
    ]
    combined = combine_parts(SPEC, parts)
    assert isinstance(combined.rows, pa.Table)
    assert combined.rows.num_rows == 3
    assert combined.rows.column("account_id").num_chunks == 1
    assert combined.scope == Scope.from_units({("a", D1), ("a", D2), ("b", D3)})
