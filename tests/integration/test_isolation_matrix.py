"""The isolation dimension of the fault matrix (issue #27, D5): for every stream of every connector, that
stream alone fails for one account while the account's other streams and every other account load.

One baseline run (no fault) and one faulted run of the three sandboxes, with dbt: in the faulted run every
stream of every connector fails for one account (stream i for account i mod n, so that each account keeps
most of its streams, its ad performance among them when another stream fails: the case of D5). Then:
- the dbt build succeeds: one account's missing stream never fails the build for the others;
- every mart holds, for every channel x account, exactly the baseline's rows unless one of that account's
  failed streams lies upstream of the mart (dbt's lineage, from the manifest);
- the run fails naming every failed (connector, stream, account), and `mdp status` names the streams;
- `--retry-failed` heals it: every mart then equals the baseline for every account.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from sandbox import Fault, GoogleAdsSandbox, MetaSandbox, MicrosoftAdsSandbox, TikTokAdsSandbox
from sandbox.google_ads import report_key as google_report_key
from tests.integration.test_fault_matrix import SECRETS, write_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("prefect_server"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 11)
RUN_DATE = END + dt.timedelta(days=1)  # the window ends yesterday: the snapshot streams are taken too
# a fault every call of the stream raises, retried by the connector and the flow, never fatal for the account
FAILING = {"google_ads": "internal", "meta_ads": "internal", "microsoft_ads": "unavailable", "tiktok_ads": "internal"}


def report_of(channel: str, stream: str) -> str:
    """The report key the sandbox gives the calls of a stream (sandbox `report_key`, Fault.report)."""
    if channel == "google_ads":
        from connectors.google_ads.settings import STREAM_QUERIES, ad_query

        query = ad_query(START, END) if stream == "ad_performance" else STREAM_QUERIES[stream].query(START, END)
        return google_report_key(query)
    if channel == "meta_ads":
        from connectors.meta_ads.settings import INSIGHTS_QUERIES, SNAPSHOT_EDGES

        if stream in SNAPSHOT_EDGES:
            return SNAPSHOT_EDGES[stream][0]
        q = INSIGHTS_QUERIES[stream]
        return f"insights:{q.level}:{','.join(q.breakdowns)}:{','.join(q.action_breakdowns)}"
    if channel == "tiktok_ads":
        from connectors.tiktok_ads.api import REPORT_QUERIES as TIKTOK_QUERIES
        from sandbox.tiktok_ads import report_key as tiktok_report_key

        tiktok_query = TIKTOK_QUERIES[stream]
        return tiktok_report_key(tiktok_query.data_level, tiktok_query.dimensions)
    from connectors.microsoft_ads.settings import REPORT_QUERIES

    return REPORT_QUERIES[stream].request_type


def all_streams(channel: str) -> list[str]:
    from connectors.registry import connector_class

    return [s.name for s in connector_class(channel).streams]


def config(tmp_path: Path, servers: dict[str, Any]) -> Path:
    path = write_config(
        tmp_path, servers["google_ads"], servers["meta_ads"], servers["microsoft_ads"], servers.get("tiktok_ads")
    )
    data = yaml.safe_load(path.read_text())
    for section in data["connectors"]:
        section.pop("streams")  # every stream
        section["unit_retries"] = 1
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run(path: Path, **params: Any) -> Any:
    from flows.daily import daily_pipeline

    if "retry_failed" not in params:
        params.update(start_date=START, end_date=END)
    return asyncio.run(
        daily_pipeline(config_path=str(path), run_date=RUN_DATE, run_monitoring=False, return_state=True, **params)
    )


NOT_ISOLATED = frozenset({"excluded_account_days", "forecast_daily", "pacing_monthly"})


def marts(path: Path) -> dict[str, dict[tuple[str, str], list[tuple[Any, ...]]]]:
    """Every marts table with an account: table -> (channel, account) -> its rows, sorted (timestamps, which
    say when a run built a row, left out)."""
    out: dict[str, dict[tuple[str, str], list[tuple[Any, ...]]]] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1"
            ).fetchall()
        ]
        for table in tables:
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'marts' AND table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
            names = [c for c, kind in columns if "TIMESTAMP" not in kind.upper()]
            # excluded_account_days lists failures; the forecast marts are written by the forecast step (not dbt:
            # no lineage), per run (run_id) and channel totals that every account of the channel feeds
            if not {"channel", "account_id"} <= set(names) or table in NOT_ISOLATED:
                continue
            rows: dict[tuple[str, str], list[tuple[Any, ...]]] = defaultdict(list)
            for row in con.execute(f"SELECT {', '.join(names)} FROM marts.{table}").fetchall():
                record = dict(zip(names, row, strict=True))
                rows[(record["channel"], str(record["account_id"]))].append(row)
            out[table] = {key: sorted(value, key=repr) for key, value in rows.items()}
    return out


def upstream_tables(manifest_path: Path) -> dict[str, set[tuple[str, str]]]:
    """marts model name -> the raw (source schema channel, table) it reads, through dbt's lineage."""
    manifest = json.loads(manifest_path.read_text())
    parents: dict[str, list[str]] = manifest["parent_map"]
    sources = {uid: (node["source_name"], node["name"]) for uid, node in manifest["sources"].items()}
    found: dict[str, set[tuple[str, str]]] = {}
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] != "model":
            continue
        seen: set[str] = set()
        stack = [uid]
        while stack:
            current = stack.pop()
            for parent in parents.get(current, []):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        found[node["name"]] = {sources[p] for p in seen if p in sources}
    return found


BREAKDOWN_REPORTS = {  # report table -> its union (excluded_account_days.report)
    "keyword_report": "keyword",
    "search_term_report": "search_term",
    "country_report": "country",
    "region_report": "region",
    "device_report": "device",
    "platform_report": "platform",
    "age_gender_report": "age_gender",
    "conversions_by_action_report": "conversion_action",
}


def own_streams_reports_whole(
    warehouse: Path,
    expected: dict[str, dict[tuple[str, str], list[tuple[Any, ...]]]],
    got: dict[str, dict[tuple[str, str], list[tuple[Any, ...]]]],
    lineage: dict[str, set[tuple[str, str]]],
    failed: dict[tuple[str, str], set[str]],
) -> int:
    """D5: a breakdown report whose own stream loaded for an account holds that account's rows whatever
    else failed for it: the baseline's rows (names aside: they may come from a stream that failed), or,
    when no stream that carries its currency loaded (its ad performance and platform totals both failed and
    its own rows have none), its account-days listed in excluded_account_days as having no currency."""
    from connectors.registry import connector_class

    with duckdb.connect(str(warehouse), read_only=True) as con:
        excluded = {
            (str(c), str(a), str(r)): str(why)
            for c, a, r, why in con.execute(
                "SELECT channel, account_id, report, reason FROM marts.excluded_account_days"
            ).fetchall()
        }
        columns = {
            table: [
                name
                for (name,) in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' "
                    "AND table_name = ? AND data_type NOT LIKE 'TIMESTAMP%' ORDER BY ordinal_position",
                    [table],
                ).fetchall()
            ]
            for table in BREAKDOWN_REPORTS
        }
    checked = 0
    for table, union in BREAKDOWN_REPORTS.items():
        keep = [i for i, name in enumerate(columns[table]) if not name.endswith("_name")]
        for (channel, account), rows in expected.get(table, {}).items():
            cls = connector_class(channel)
            context = {cls.table.name, next(s for s in cls.streams if s.name == "account_totals").table.name}
            context |= {s.table.name for s in cls.streams if s.kind == "snapshot"}
            own = {(channel, t.split(".")[-1]) for t in failed.get((channel, account), set()) - context}
            if own & lineage[table]:
                continue  # the report's own stream failed for this account
            reason = excluded.get((channel, account, union))
            if reason is not None:
                lost = failed.get((channel, account), set())
                assert {
                    cls.table.name,
                    next(s for s in cls.streams if s.name == "account_totals").table.name,
                } <= lost, (table, channel, account)
                assert reason.startswith("no currency"), reason
                assert (channel, account) not in got.get(table, {}), (table, channel, account)
                continue
            mine = sorted(
                (tuple(row[i] for i in keep) for row in got.get(table, {}).get((channel, account), [])), key=repr
            )
            theirs = sorted((tuple(row[i] for i in keep) for row in rows), key=repr)
            assert mine == theirs, (table, channel, account)
            checked += 1
    assert checked >= 10, checked
    return checked


def test_one_stream_failing_for_one_account_never_touches_another_accounts_marts(
    tmp_path: Path,
    google_sandbox: GoogleAdsSandbox,
    meta_sandbox: MetaSandbox,
    microsoft_sandbox: MicrosoftAdsSandbox,
    tiktok_sandbox: TikTokAdsSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from connectors.registry import connector_class
    from flows.status import read_status
    from mdp.config import load_config

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    servers: dict[str, Any] = {
        "google_ads": google_sandbox,
        "meta_ads": meta_sandbox,
        "microsoft_ads": microsoft_sandbox,
        "tiktok_ads": tiktok_sandbox,
    }

    baseline_dir, faulted_dir = tmp_path / "baseline", tmp_path / "faulted"
    baseline_dir.mkdir()
    faulted_dir.mkdir()
    monkeypatch.setenv("DBT_TARGET_PATH", str(baseline_dir / "target"))
    clean = run(config(baseline_dir, servers))
    assert clean.is_completed(), clean.message
    expected = marts(baseline_dir / "wh.duckdb")

    failed: dict[tuple[str, str], set[str]] = defaultdict(set)  # (channel, account) -> raw tables that fail
    cases: list[tuple[str, str, str]] = []
    for channel, server in servers.items():
        accounts = server.account_ids
        for i, stream in enumerate(all_streams(channel)):
            account = accounts[i % len(accounts)]
            server.faults.add(
                Fault(FAILING[channel], channel=channel, account=account, report=report_of(channel, stream))
            )
            key_account = account.removeprefix("act_")
            failed[(channel, key_account)].add(
                next(s for s in connector_class(channel).streams if s.name == stream).table.name
            )
            cases.append((channel, stream, key_account))
    assert len(cases) >= 25

    monkeypatch.setenv("DBT_TARGET_PATH", str(faulted_dir / "target"))
    path = config(faulted_dir, servers)
    state = run(path)
    message = str(state.message or "")
    assert state.is_failed(), message
    assert "step dbt" not in message, message  # the marts built for everyone else
    for channel, stream, account in cases:
        assert f"{channel} {stream} account {account} " in message, (channel, stream, account, message)

    lineage = upstream_tables(faulted_dir / "target" / "manifest.json")
    got = marts(faulted_dir / "wh.duckdb")
    checked = 0
    for table, by_account in expected.items():
        for key, rows in by_account.items():
            channel, _ = key
            if any((channel, raw.split(".")[-1]) in lineage[table] for raw in failed.get(key, ())):
                continue  # a stream of this account the mart reads failed
            assert got.get(table, {}).get(key, []) == rows, (table, key)
            checked += 1
    assert checked >= 50, checked
    checked += own_streams_reports_whole(faulted_dir / "wh.duckdb", expected, got, lineage, failed)
    from flows.status import excluded_account_days
    from warehouse.duckdb import DuckDBWarehouse

    left_out = excluded_account_days(DuckDBWarehouse(faulted_dir / "wh.duckdb", read_only=True))
    for excluded in left_out:  # an account-day without any currency: left out, and the run says so
        assert excluded.line() in message, (excluded.line(), message)
    print(
        f"isolation matrix: {len(cases)} stream x connector cases, {checked} mart x account comparisons, "
        f"{len(left_out)} account-day(s) left out for want of any currency"
    )

    status = read_status(load_config(str(path)), START, END)
    named = {(a.connector, a.account): set(a.failed_streams) for a in status.accounts}
    for key, tables in failed.items():
        assert tables <= named[key], (key, tables, named[key])
    assert status.stale

    for server in servers.values():
        server.faults.clear()
    healed = run(path, retry_failed="latest")
    assert healed.is_completed(), healed.message
    assert marts(faulted_dir / "wh.duckdb") == expected
    assert not read_status(load_config(str(path)), START, END).stale
