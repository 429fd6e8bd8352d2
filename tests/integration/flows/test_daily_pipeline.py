"""The parent flow on a real (temporary) Prefect API and real DuckDB files: idempotent reruns,
overlapping windows, failure isolation, retries, Slack alerts and parameter errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.integration.flows import echo_connector
from tests.integration.flows.conftest import SlackReceiver, write_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("prefect_server"),
    # Prefect's API clients leave loopback sockets to the garbage collector.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

RUN_DATE = dt.date(2026, 3, 10)
TWO = "  - {name: echo_a, type: echo, accounts: [a1, a2], chunk_days: 4}\n  - {name: echo_b, type: echo, accounts: [b1]}\n"


def run(config: Path, **params: Any) -> Any:
    from flows.daily import daily_pipeline

    params.setdefault("run_dbt", False)
    params.setdefault("run_monitoring", False)
    return asyncio.run(daily_pipeline(config_path=str(config), return_state=True, **params))


def table_digest(config: Path) -> tuple[str, int, int]:
    import duckdb

    with duckdb.connect(str(config.parent / "wh.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT account_id, day, item, cost FROM raw_echo.daily ORDER BY ALL").fetchall()
        keys = con.execute(
            "SELECT count(*) FROM (SELECT DISTINCT account_id, day, item FROM raw_echo.daily)"
        ).fetchone()
    assert keys is not None
    return hashlib.sha256(repr(rows).encode()).hexdigest(), len(rows), keys[0]


def log_rows(config: Path, sql: str) -> list[tuple[Any, ...]]:
    import duckdb

    with duckdb.connect(str(config.parent / "wh.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_same_window_twice_leaves_identical_tables(tmp_path: Path) -> None:
    config = write_config(tmp_path, TWO)
    first = run(config, run_date=RUN_DATE)
    assert first.is_completed(), first.message
    digest = table_digest(config)
    second = run(config, run_date=RUN_DATE)
    assert second.is_completed(), second.message
    assert table_digest(config) == digest
    _, rows, distinct_keys = digest
    assert rows == distinct_keys > 0
    summary = second.result()
    assert {o.connector for o in summary.outcomes} == {"echo_a", "echo_b"}
    assert summary.windows["echo_a"] == (dt.date(2026, 3, 5), dt.date(2026, 3, 9))


def test_overlapping_windows_converge_to_one_run_over_the_union(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one, two = write_config(tmp_path / "one", TWO), write_config(tmp_path / "two", TWO)
    assert run(one, start_date=dt.date(2026, 2, 1), end_date=dt.date(2026, 2, 20)).is_completed()
    assert run(one, start_date=dt.date(2026, 2, 10), end_date=dt.date(2026, 2, 28)).is_completed()
    assert run(two, start_date=dt.date(2026, 2, 1), end_date=dt.date(2026, 2, 28)).is_completed()
    assert table_digest(one) == table_digest(two)


def test_a_failing_connector_does_not_stop_the_other(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "  - {name: echo_a, type: echo, accounts: [a1, a2]}\n  - {name: echo_b, type: echo, accounts: [b1], fail_accounts: [b1]}\n",
    )
    state = run(config, run_date=RUN_DATE)
    assert state.is_failed()
    assert (
        "echo_b daily account b1 2026-03-05..2026-03-09: ConnectorError: account b1: PERMISSION_DENIED" in state.message
    )
    assert "echo_a" not in state.message
    assert log_rows(config, "SELECT DISTINCT connector, account_id, status FROM ops.load_log ORDER BY ALL") == [
        ("echo_a", "a1", "success"),
        ("echo_a", "a2", "success"),
        ("echo_b", "b1", "failed"),
    ]
    assert table_digest(config)[1] > 0


def test_a_unit_with_stray_rows_fails_alone_in_its_batch(tmp_path: Path) -> None:
    """One task runs the three accounts (max_concurrency 1) and loads them together; a1's rows name a2, a unit
    of the same batch: the combined load refuses them, and each unit is then loaded on its own."""
    config = write_config(
        tmp_path, "  - {name: echo_a, type: echo, accounts: [a1, a2, a3], max_concurrency: 1, mislabel: {a1: a2}}\n"
    )
    state = run(config, run_date=RUN_DATE)
    assert state.is_failed()
    assert "echo_a daily account a1 2026-03-05..2026-03-09: ScopeError: raw_echo.daily:" in state.message
    assert "account a2" not in state.message
    statuses = "SELECT DISTINCT account_id, status FROM ops.load_log ORDER BY ALL"
    assert log_rows(config, statuses) == [("a1", "failed"), ("a2", "success"), ("a3", "success")]
    per_account = "SELECT account_id, count(*), count(DISTINCT (day, item)) FROM raw_echo.daily GROUP BY ALL ORDER BY 1"
    rows = log_rows(config, per_account)
    assert [account for account, _, _ in rows] == ["a2", "a3"]
    assert all(n == distinct for _, n, distinct in rows)  # a2 holds its own rows once, none of a1's


def test_a_task_loads_once_per_rows_per_load_rows_extracted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Units are extracted `UNITS_PER_GROUP` at a time but loaded only once `ROWS_PER_LOAD` rows wait (a load
    call's fixed cost is paid per half million rows, not per few units), and the rest at the task's end."""
    from flows import ingest
    from warehouse.duckdb import DuckDBWarehouse

    monkeypatch.setattr(ingest, "UNITS_PER_GROUP", 2)
    monkeypatch.setattr(ingest, "ROWS_PER_LOAD", 25)
    calls: list[tuple[int, int]] = []  # (units, rows) per load call
    replace_many = DuckDBWarehouse.replace_many

    def counted(self: DuckDBWarehouse, spec: Any, parts: Any, context: Any) -> Any:
        results = replace_many(self, spec, parts, context)
        calls.append((len(parts), sum(r.rows for r in results)))
        return results

    monkeypatch.setattr(DuckDBWarehouse, "replace_many", counted)
    accounts = ", ".join(f"a{i}" for i in range(1, 7))
    config = write_config(tmp_path, f"  - {{name: echo_a, type: echo, accounts: [{accounts}], max_concurrency: 1}}\n")
    state = run(config, run_date=RUN_DATE)
    assert state.is_completed(), state.message
    # a unit is one account's 5 days, 1-3 rows a day (~10): two groups (4 units) pass 25 rows, the third is the rest
    assert [units for units, _ in calls] == [4, 2]
    assert calls[0][1] >= 25
    assert sum(rows for _, rows in calls) == table_digest(config)[1]
    statuses = "SELECT DISTINCT account_id, status FROM ops.load_log ORDER BY ALL"
    assert log_rows(config, statuses) == [(f"a{i}", "success") for i in range(1, 7)]


def test_a_rate_limit_is_retried_to_success(tmp_path: Path) -> None:
    config = write_config(tmp_path, "  - {name: echo_a, type: echo, accounts: [a1], rate_limited_calls: 1}\n")
    state = run(config, run_date=RUN_DATE, lookback_days=2)
    assert state.is_completed(), state.message
    assert echo_connector.calls("echo_a", "a1") == 2
    assert log_rows(config, "SELECT count(*), min(status) FROM ops.load_log") == [(2, "success")]


def test_a_fatal_error_is_not_retried(tmp_path: Path) -> None:
    config = write_config(tmp_path, "  - {name: echo_a, type: echo, accounts: [a1], fail_accounts: [a1]}\n")
    assert run(config, run_date=RUN_DATE).is_failed()
    assert echo_connector.calls("echo_a", "a1") == 1


def test_failure_is_sent_to_the_slack_block(tmp_path: Path, slack_receiver: SlackReceiver) -> None:
    from prefect_slack import SlackWebhook

    SlackWebhook(url=slack_receiver.url).save("mdp-test-alerts", overwrite=True)
    config = write_config(
        tmp_path,
        "  - {name: echo_b, type: echo, accounts: [b1], fail_accounts: [b1]}\n",
        alerts="mdp-test-alerts",
    )
    assert run(config, run_date=RUN_DATE).is_failed()
    assert len(slack_receiver.messages) == 1
    message = slack_receiver.messages[0]
    assert message["text"].startswith("Failed: daily_pipeline run daily-2026-03-10")
    assert "echo_b daily account b1 2026-03-05..2026-03-09" in message["text"]
    assert message["blocks"][0]["type"] == "header"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"connectors": ["bing"]}, "connectors: unknown ['bing']; known: ['echo_a', 'echo_b']"),
        ({"accounts": ["zz"]}, "accounts: unknown ['zz']; known: ['a1', 'a2', 'b1']"),
        (
            {"start_date": dt.date(2026, 3, 5), "end_date": dt.date(2026, 3, 1)},
            "end_date 2026-03-01 is before start_date 2026-03-05",
        ),
        ({"run_date": dt.date(2099, 1, 1)}, "run_date 2099-01-01 is in the future"),
        ({"lookback_days": -2}, "lookback_days"),
    ],
)
def test_invalid_parameters_fail_fast(tmp_path: Path, params: dict[str, Any], message: str) -> None:
    config = write_config(tmp_path, TWO)
    state = run(config, **params)
    assert state.is_failed()
    assert message in state.message
    assert not (tmp_path / "wh.duckdb").exists()


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("warehouse", "warehouse.path: {wh} is a file that is not a DuckDB database"),
        ("env", "connectors[1].credentials.token: environment variable MDP_TEST_UNSET_TOKEN"),
        ("block", "connectors[1].credentials.token: Prefect Secret block 'mdp-test-no-such-block' cannot be loaded"),
    ],
)
def test_the_flow_refuses_an_unusable_warehouse_or_credential_before_any_connector_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str, message: str
) -> None:
    """What `mdp run` refuses, a deployment run refuses too, before any connector is called."""
    monkeypatch.delenv("MDP_TEST_UNSET_TOKEN", raising=False)
    token = {"env": "env:MDP_TEST_UNSET_TOKEN", "block": "block:mdp-test-no-such-block"}.get(broken)
    second = f"credentials: {{token: '{token}'}}" if token else "lookback_days: 5"
    config = write_config(
        tmp_path,
        "  - {name: echo_a, type: echo, accounts: [a1, a2]}\n"
        f"  - {{name: echo_b, type: echo, accounts: [b1], {second}}}\n",
    )
    warehouse = tmp_path / "wh.duckdb"
    if broken == "warehouse":
        warehouse.write_text("account_id,day,cost\n")
    state = run(config, run_date=RUN_DATE)
    assert state.is_failed()
    assert message.format(wh=warehouse) in str(state.message), state.message
    assert [echo_connector.calls(c, a) for c, a in (("echo_a", "a1"), ("echo_a", "a2"), ("echo_b", "b1"))] == [0, 0, 0]
    if broken == "warehouse":
        assert warehouse.read_text() == "account_id,day,cost\n"
    else:
        assert not warehouse.exists()  # nothing was loaded or logged
