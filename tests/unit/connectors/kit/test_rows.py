"""The row collector of the connector kit: scope checks, duplicates, quarantine reasons and days, Arrow."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from connectors.kit.rows import BadRow, Reason, RowCollector, parse_reasons, quarantine_day, reason_text
from mdp.schema import TableSpec

SPEC = TableSpec(
    "raw_x.t",
    pa.schema([pa.field("date", pa.date32()), pa.field("account_id", pa.string()), pa.field("id", pa.string())]),
    account_column="account_id",
    date_column="date",
)
D1, D2, D3 = dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 3)


def collector() -> RowCollector:
    return RowCollector(SPEC, "1", D1, D2, ("date", "id"))


def test_rows_out_of_scope_or_repeated_are_quarantined_under_a_day_of_the_unit() -> None:
    rows = collector()
    assert rows.add([{"date": D1, "account_id": "1", "id": "a"}], record="{}")
    assert not rows.add([{"date": D1, "account_id": "1", "id": "a"}], record="{}")
    assert not rows.add([{"date": D3, "account_id": "2", "id": "b"}], record='{"d": 3}')
    assert not rows.add([{"date": D2, "account_id": "1", "id": "c"}] * 2, [], record=None)
    assert not rows.add([{"date": D2, "id": "d"}], [Reason("negative_metric", "clicks")], record=None)
    assert [(q.day, q.reason) for q in rows.quarantine] == [
        (D1, "duplicate_key"),
        (D1, "account_mismatch; date_out_of_range"),
        (D2, "duplicate_key"),
        (D2, "negative_metric:clicks"),
    ]
    assert rows.table().to_pylist() == [{"date": D1, "account_id": "1", "id": "a"}]
    taken, quarantined = rows.take()
    assert (len(taken), len(quarantined), rows.rows, rows.quarantine) == (1, 4, [], [])


def test_reasons_are_a_code_and_a_detail() -> None:
    bad = BadRow("unparsable", "impressions ('N/A')")
    assert str(bad) == "unparsable:impressions ('N/A')"
    text = reason_text([bad.reason, Reason("negative_cost")])
    assert parse_reasons(text) == [Reason("unparsable", "impressions ('N/A')"), Reason("negative_cost")]
    with pytest.raises(ValueError, match="reason code"):
        parse_reasons("negative spend (-1)")


@pytest.mark.parametrize(("day", "expected"), [(D2, D2), (D3, D1), ("2025-03-02", D1), (None, D1)])
def test_the_quarantine_day_is_the_rows_own_inside_the_unit_else_its_first(day: object, expected: dt.date) -> None:
    assert quarantine_day(day, D1, D2) == expected
