"""Streams: a connector's declared tables, their selection in the configuration, and the units a run plans."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from connectors import registry
from connectors.base import Account, Connector, Extracted, Stream
from flows.daily import snapshot_day
from flows.ingest import plan_units
from flows.windows import run_parameters
from mdp.config import load_config
from mdp.errors import ConfigError
from mdp.schema import TableSpec
from sandbox.data import DailyRecord
from sandbox.segments import segment_weights, split_integer, split_record


def spec(name: str, date_column: str = "day") -> TableSpec:
    schema = pa.schema([pa.field("account_id", pa.string(), False), pa.field(date_column, pa.date32(), False)])
    return TableSpec(f"raw_multi.{name}", schema, "account_id", date_column)


class MultiConnector(Connector):
    type_name = "multi"
    streams = (
        Stream("daily", spec("daily")),
        Stream("by_country", spec("by_country")),
        Stream("entities", spec("entities", "snapshot_date"), kind="snapshot"),
    )

    def list_accounts(self) -> list[Account]:
        return [Account(a) for a in self.settings.accounts]

    def extract(self, stream: str, account: str, start: dt.date, end: dt.date) -> Iterator[Extracted]:
        yield Extracted(pa.table({"account_id": [account], "day": [start]}))


@pytest.fixture(autouse=True)
def multi_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.BUILT_IN, "multi", f"{__name__}:MultiConnector")


def build(tmp_path: Path, extra: str = "") -> Connector:
    path = tmp_path / "pipeline.yaml"
    path.write_text(f"connectors: [{{name: m, type: multi, accounts: [a, b]{extra}}}]\n")
    (connector,) = registry.build_connectors(load_config(path))
    return connector


def test_the_first_stream_is_the_primary_table_and_a_single_table_is_one_stream() -> None:
    assert MultiConnector.table.name == "raw_multi.daily"
    assert [s.name for s in MultiConnector.streams] == ["daily", "by_country", "entities"]

    class Single(Connector):
        type_name = "single"
        table = spec("only")

        def list_accounts(self) -> list[Account]:
            return []

        def extract(self, stream: str, account: str, start: dt.date, end: dt.date) -> Iterator[Extracted]:
            yield from ()

    assert [(s.name, s.table.name, s.kind) for s in Single.streams] == [("only", "raw_multi.only", "report")]


def test_stream_names_are_checked_when_declared() -> None:
    with pytest.raises(ValueError, match="lower_snake_case"):
        Stream("By Country", spec("x"))
    with pytest.raises(TypeError, match="duplicate stream names"):

        class Twice(MultiConnector):
            streams = (Stream("daily", spec("a")), Stream("daily", spec("b")))


def test_every_stream_by_default_and_a_selection_in_declared_order(tmp_path: Path) -> None:
    assert [s.name for s in build(tmp_path).selected_streams] == ["daily", "by_country", "entities"]
    chosen = build(tmp_path, ", streams: [entities, daily]")
    assert [s.name for s in chosen.selected_streams] == ["daily", "entities"]
    assert chosen.describe()["streams"] == {"daily": "raw_multi.daily", "entities": "raw_multi.entities"}


@pytest.mark.parametrize(
    ("streams", "expected"),
    [
        ("[by_contry]", r"connectors\[0\]\.streams: unknown stream 'by_contry' \(did you mean 'by_country'\?\); "),
        ("[]", r"connectors\[0\]\.streams: empty; omit the key for every stream \(daily, by_country, entities\)"),
        ("[daily, daily]", r"connectors\[0\]\.streams: a stream is listed twice"),
    ],
)
def test_a_bad_selection_names_the_key_and_the_streams(tmp_path: Path, streams: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as info:
        build(tmp_path, f", streams: {streams}")
    assert str(tmp_path / "pipeline.yaml") in str(info.value)
    assert "\n" not in str(info.value)


def test_units_cover_every_report_stream_and_snapshots_only_on_the_snapshot_day(tmp_path: Path) -> None:
    connector = build(tmp_path, ", chunk_days: 2")
    start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 3)
    units, skipped = plan_units(connector, ["a", "b"], start, end, None)
    assert skipped == ["entities"]
    assert len(units) == 2 * 2 * 2  # two report streams x two accounts x two chunks
    assert ("by_country", "b", dt.date(2026, 3, 3), dt.date(2026, 3, 3)) in units
    units, skipped = plan_units(connector, ["a", "b"], start, end, end)
    assert not skipped
    assert [u for u in units if u[0] == "entities"] == [("entities", "a", end, end), ("entities", "b", end, end)]


def test_snapshots_are_dated_on_the_latest_complete_day_only() -> None:
    today = dt.date(2026, 3, 10)
    daily = run_parameters()
    assert snapshot_day(daily, today, dt.date(2026, 3, 9)) == dt.date(2026, 3, 9)
    backfill = run_parameters(start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 1, 31))
    assert snapshot_day(backfill, today, dt.date(2026, 1, 31)) is None
    replay = run_parameters(run_date=dt.date(2026, 2, 1))
    assert snapshot_day(replay, today, dt.date(2026, 1, 31)) == dt.date(2026, 1, 31)


def test_split_integer_sums_exactly_and_follows_the_weights() -> None:
    assert split_integer(10, [1, 1, 1]) == [4, 3, 3]
    assert split_integer(0, [1, 2]) == [0, 0]
    assert split_integer(7, [0, 0]) == [7, 0]
    assert split_integer(100, [3, 1]) == [75, 25]
    with pytest.raises(ValueError, match="negative"):
        split_integer(-1, [1])


def test_split_records_add_up_to_the_record() -> None:
    rng = random.Random(7)
    for case in range(300):
        impressions = rng.randint(0, 5000)
        record = DailyRecord(
            "meta_ads",
            "1",
            dt.date(2026, 1, 1),
            "c",
            "g",
            "a",
            impressions=impressions,
            clicks=rng.randint(0, impressions),
            cost_micros=rng.randint(0, 10**6) * 10_000,
            conversions_centi=rng.randint(0, 900),
            conversions_value_micros=rng.randint(0, 10**5) * 10_000,
            reach=rng.randint(0, impressions),
            actions=(("purchase", rng.randint(0, 9)), ("link_click", rng.randint(0, 50))),
            action_value_micros=(("purchase", rng.randint(0, 10**4) * 10_000),),
        )
        parts = split_record(record, segment_weights(["x"] * rng.randint(1, 6), 0.6, case))
        for metric in ("impressions", "clicks", "cost_micros", "conversions_centi", "conversions_value_micros"):
            assert sum(getattr(p, metric) for p in parts) == getattr(record, metric), (case, metric)
        assert all(p.clicks <= p.impressions for p in parts), case
        for action, count in record.actions:
            assert sum(dict(p.actions).get(action, 0) for p in parts) == count
        for action, value in record.action_value_micros:
            assert sum(dict(p.action_value_micros).get(action, 0) for p in parts) == value


class TotalsConnector(MultiConnector):
    type_name = "multi"
    streams = (*MultiConnector.streams, Stream("account_totals", spec("account_totals")))
    totals_stream = "account_totals"


def test_the_platform_totals_come_with_the_primary_stream_while_the_run_reconciles() -> None:
    from connectors.base import ConnectorSettings

    def connector(streams: list[str] | None) -> TotalsConnector:
        return TotalsConnector(ConnectorSettings(name="m", type="multi", accounts=["a"], streams=streams))

    day = dt.date(2026, 3, 1)
    taken = {u[0] for u in plan_units(connector(["daily"]), ["a"], day, day, None)[0]}
    assert taken == {"daily", "account_totals"}
    assert {u[0] for u in plan_units(connector(["by_country"]), ["a"], day, day, None)[0]} == {"by_country"}
    off = {u[0] for u in plan_units(connector(["daily"]), ["a"], day, day, None, reconciling=False)[0]}
    assert off == {"daily"}
    named = plan_units(connector(["daily", "account_totals"]), ["a"], day, day, None, reconciling=False)[0]
    assert {u[0] for u in named} == {"daily", "account_totals"}
    everything = plan_units(connector(None), ["a"], day, day, None, reconciling=False)[0]
    assert {u[0] for u in everything} == {"daily", "by_country"}


def test_a_totals_stream_must_be_declared() -> None:
    with pytest.raises(TypeError, match="totals_stream 'nope' is not one of its streams"):

        class Broken(MultiConnector):
            totals_stream = "nope"
