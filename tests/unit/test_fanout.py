"""The fan-out's pure parts: shards of accounts, a unit's outcome from its days in ops.load_log, the
execution settings, the local stack's record of several workers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from deployments.local import LocalStack
from flows.fanout import _unit, shard_accounts
from mdp.config import ExecutionSettings, load_config
from mdp.errors import ConfigError

D1, D2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)
T0 = dt.datetime(2026, 3, 3, 6, 0, tzinfo=dt.UTC)


def record(
    day: dt.date, status: str = "success", rows: int = 5, quarantined: int = 0, error: str | None = None
) -> tuple[object, ...]:
    return (
        "google_ads",
        "ad_performance",
        "1",
        day,
        status,
        rows,
        quarantined,
        error,
        T0,
        T0 + dt.timedelta(seconds=3),
    )


def test_shards_keep_the_order_and_hold_at_most_the_size() -> None:
    accounts = [str(i) for i in range(7)]
    assert shard_accounts(accounts, 3) == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
    assert shard_accounts(accounts, 7) == [accounts]
    assert shard_accounts([], 5) == []


def test_a_unit_is_loaded_when_every_day_succeeded() -> None:
    outcome = _unit(
        "google_ads", "ad_performance", "1", D1, D2, [record(D1, rows=5), record(D2, rows=7, quarantined=2)], "x"
    )
    assert (outcome.status, outcome.rows, outcome.quarantined, outcome.error) == ("success", 12, 2, None)
    assert outcome.seconds == 3.0


def test_a_unit_with_a_failed_day_fails_with_its_error() -> None:
    outcome = _unit(
        "google_ads", "ad_performance", "1", D1, D2, [record(D1), record(D2, "failed", 0, error="boom")], "x"
    )
    assert (outcome.status, outcome.error, outcome.rows) == ("failed", "boom", 0)


def test_a_unit_with_a_day_never_recorded_was_not_loaded_and_says_why() -> None:
    outcome = _unit("google_ads", "ad_performance", "1", D1, D2, [record(D1), None], "google_ads shard 1/2 crashed")
    assert outcome.status == "failed"
    assert outcome.error == "not loaded: google_ads shard 1/2 crashed"


def test_in_process_is_the_default_and_a_bad_value_names_its_key(tmp_path: Path) -> None:
    assert ExecutionSettings().mode == "in_process"
    for bad, key in (
        ({"mode": "threads"}, "execution.mode"),
        ({"ingest_deployment": "ingest-local"}, "execution.ingest_deployment"),
        ({"shard_accounts": 0}, "execution.shard_accounts"),
        ({"stale_after_seconds": 30}, "execution.stale_after_seconds"),
    ):
        path = tmp_path / "pipeline.yaml"
        path.write_text(json.dumps({"execution": bad}))
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert key in str(caught.value)
        assert "\n" not in str(caught.value)


def test_the_local_stack_records_every_worker_and_reads_an_older_record(tmp_path: Path) -> None:
    path = tmp_path / "local-stack.json"
    LocalStack("http://127.0.0.1:1/api", "http://127.0.0.1:1", 10, 11, (), path, worker_pids=(11, 12)).save(path)
    loaded = LocalStack.load(path)
    assert loaded is not None
    assert (loaded.worker_pid, loaded.worker_pids) == (11, (11, 12))
    path.write_text(json.dumps({"api_url": "http://127.0.0.1:1/api", "server_pid": 10, "worker_pid": 11}))
    older = LocalStack.load(path)
    assert older is not None
    assert older.worker_pids == (11,)
