"""How an ingest subflow splits its units into task batches."""

from __future__ import annotations

import datetime as dt

from flows.ingest import batch_label, batches

D1, D2 = dt.date(2026, 3, 1), dt.date(2026, 3, 31)


def units(n: int, stream: str = "ad_insights") -> list[tuple[str, str, dt.date, dt.date]]:
    return [(stream, f"{i:03d}", D1, D2) for i in range(n)]


def test_batches_keep_every_unit_once_in_order_and_near_equal() -> None:
    planned = units(200)
    work = batches(planned, 16)
    assert len(work) == 16
    assert [u for batch in work for u in batch] == planned
    assert {len(batch) for batch in work} == {12, 13}


def test_fewer_units_than_workers_run_one_per_task() -> None:
    assert batches(units(3), 16) == [[u] for u in units(3)]
    assert batches([], 4) == []
    assert batches(units(5), 0) == [units(5)]


def test_batch_label_names_the_stream_accounts_and_days() -> None:
    assert batch_label(units(1)) == "ad_insights 000 2026-03-01..2026-03-31 (1 unit(s))"
    mixed = units(2) + units(1, "campaign_snapshot")
    assert batch_label(mixed) == "2 streams 2 accounts 2026-03-01..2026-03-31 (3 unit(s))"
