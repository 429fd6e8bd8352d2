"""The Meta Ads connector through the official SDK against the Meta Graph sandbox: several accounts,
async report runs, paging, splitting, restatement, every fault kind, and no secret in logs or errors."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from connectors.meta_ads.connector import MetaAdsConnector
from connectors.meta_ads.exceptions import MetaAdsError, MetaAdsRetryableError
from mdp.errors import ConnectorError, RetryableAPIError
from mdp.schema import QuarantinedRow
from sandbox import META, Fault, MetaSandbox
from warehouse.base import LoadContext, Scope
from warehouse.duckdb import DuckDBWarehouse

START, END = dt.date(2025, 3, 1), dt.date(2025, 3, 7)
PURCHASE = ("purchase",)
Make = Callable[..., MetaAdsConnector]
Extract = Callable[..., tuple[pa.Table, list[QuarantinedRow]]]


def digits(graph_id: str) -> str:
    return graph_id.removeprefix("act_")


def totals(table: pa.Table) -> dict[str, Any]:
    return {
        "rows": table.num_rows,
        "impressions": pc.sum(table["impressions"]).as_py() or 0,
        "clicks": pc.sum(table["clicks"]).as_py() or 0,
        "spend": sum((v for v in table["spend"].to_pylist()), Decimal(0)),
        "conversions": round(sum(table["conversions"].to_pylist()), 6),
        "conversion_value": sum(table["conversion_value"].to_pylist(), Decimal(0)),  # exact: decimal
    }


def truth_totals(
    sandbox: MetaSandbox, account: str, start: dt.date, end: dt.date, types: tuple[str, ...] = PURCHASE
) -> dict[str, Any]:
    truth = sandbox.truth.totals(META, account, start, end, action_types=types)
    return {
        "rows": truth.rows,
        "impressions": truth.impressions,
        "clicks": truth.clicks,
        "spend": truth.cost,
        "conversions": round(float(truth.conversions), 6),
        "conversion_value": truth.conversion_value,
    }


def test_several_accounts_match_the_truth(
    meta_sandbox: MetaSandbox, make_connector: Make, extract_all: Extract
) -> None:
    connector = make_connector(page_limit=7)
    accounts = connector.list_accounts()
    assert [a.id for a in accounts] == [digits(a) for a in meta_sandbox.account_ids]
    expected = {a.account_id: a for a in meta_sandbox.truth.accounts(META)}
    currencies = set()
    for account in accounts:
        table, quarantine = extract_all(connector, account.id, START, END)
        assert quarantine == []
        assert totals(table) == truth_totals(meta_sandbox, account.id, START, END)
        assert set(table["account_id"].to_pylist()) == {account.id}
        truth = expected[account.id]
        assert set(table["account_currency"].to_pylist()) == {truth.currency}
        assert set(table["account_timezone"].to_pylist()) == {truth.time_zone}
        assert set(table["account_name"].to_pylist()) == {truth.name}
        assert min(table["date"].to_pylist()) == START
        assert max(table["date"].to_pylist()) == END
        keys = list(zip(table["date"].to_pylist(), table["ad_id"].to_pylist(), strict=True))
        assert len(set(keys)) == len(keys)
        currencies.add(truth.currency)
    assert len(currencies) == 3


def test_requests_per_chunk_paging_and_polls(meta_sandbox: MetaSandbox, make_connector: Make) -> None:
    account = digits(meta_sandbox.account_ids[0])
    rows = meta_sandbox.truth.totals(META, account, START, END).rows
    connector = make_connector(page_limit=2)
    table = pa.concat_tables(b.rows for b in connector.extract("ad_insights", account, START, END))
    assert table.num_rows == rows
    pages = -(-rows // 2)
    assert pages >= 10
    calls = {m: n for (_, m), n in meta_sandbox.calls.snapshot().items()}
    # one account read, one report run started, three status polls (the sandbox's), then the pages
    assert calls == {"account": 1, "insights_async": 1, "report_run": 3, "report_insights": pages}


def test_a_failed_report_run_is_split_and_retried(
    meta_sandbox: MetaSandbox, make_connector: Make, extract_all: Extract
) -> None:
    account = digits(meta_sandbox.account_ids[1])
    meta_sandbox.faults.add(Fault("job_failed", method="insights_async", times=1))
    table, _ = extract_all(make_connector(), account, START, END)
    assert totals(table) == truth_totals(meta_sandbox, account, START, END)
    assert meta_sandbox.calls.total(method="insights_async") == 3  # 7 days failed, then 4 + 3 days


def test_a_single_day_that_keeps_failing_is_retryable(meta_sandbox: MetaSandbox, make_connector: Make) -> None:
    account = digits(meta_sandbox.account_ids[1])
    meta_sandbox.faults.add(Fault("job_failed"))
    with pytest.raises(MetaAdsRetryableError, match=f"account {account}: .* for 2025-03-01 ended 'Job Failed'"):
        list(make_connector(job_attempts=2).extract("ad_insights", account, START, START))
    assert meta_sandbox.calls.total(method="insights_async") == 2


def test_a_report_run_past_its_timeout_is_split(
    meta_sandbox: MetaSandbox, make_connector: Make, extract_all: Extract
) -> None:
    account = digits(meta_sandbox.account_ids[0])
    meta_sandbox.faults.add(Fault("slow", method="report_run", times=1, params={"delay_seconds": 0.4}))
    connector = make_connector(job_timeout_seconds=0.25)
    table, _ = extract_all(connector, account, START, END)
    assert totals(table) == truth_totals(meta_sandbox, account, START, END)
    assert meta_sandbox.calls.total(method="insights_async") == 3


def test_restatement_replaces_values_in_the_warehouse(
    meta_sandbox: MetaSandbox, make_connector: Make, tmp_path: Path
) -> None:
    account = digits(meta_sandbox.account_ids[2])
    start, end = dt.date(2025, 3, 10), dt.date(2025, 3, 19)
    warehouse = DuckDBWarehouse(tmp_path / "wh.duckdb")
    connector = make_connector()
    sql = (
        "SELECT date, count(*), sum(spend), sum(conversions), sum(conversion_value) "
        "FROM raw_meta_ads.ad_insights GROUP BY date ORDER BY date"
    )

    def load(run_id: str) -> list[tuple[Any, ...]]:
        batches = list(connector.extract("ad_insights", account, start, end))
        rows = pa.concat_tables(b.rows for b in batches)
        warehouse.replace_partitions(
            connector.table, rows, Scope.of([account], start, end), LoadContext("meta_ads", run_id)
        )
        return warehouse.query(sql)

    def expected() -> list[tuple[Any, ...]]:
        out = []
        for offset in range((end - start).days + 1):
            day = start + dt.timedelta(days=offset)
            t = meta_sandbox.truth.day_totals(META, account, day, action_types=PURCHASE)
            out.append((day, t.rows, t.cost, float(t.conversions), t.conversion_value))
        return out

    def rounded(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [(d, n, Decimal(s), round(c, 6), Decimal(v).quantize(Decimal("0.000001"))) for d, n, s, c, v in rows]

    first = load("run-1")
    assert rounded(first) == rounded(expected())
    meta_sandbox.truth.as_of = dt.date(2025, 4, 20)  # every day's attribution window has closed
    second = load("run-2")
    assert rounded(second) == rounded(expected())
    assert [r[1] for r in second] == [r[1] for r in first]  # same rows, replaced, not appended
    assert [r[2] for r in second] == [r[2] for r in first]  # spend never restates
    assert sum(r[3] for r in second) > sum(r[3] for r in first)  # late conversions arrived
    assert warehouse.query("SELECT DISTINCT _run_id FROM raw_meta_ads.ad_insights") == [("run-2",)]


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80004])
def test_throttling_is_retried(
    meta_sandbox: MetaSandbox, make_connector: Make, extract_all: Extract, code: int
) -> None:
    account = digits(meta_sandbox.account_ids[0])
    meta_sandbox.faults.add(Fault("throttle", method="insights_async", times=2, params={"code": code}))
    meta_sandbox.faults.add(Fault("throttle", method="report_insights", times=1, params={"code": code}))
    connector = make_connector(page_limit=10)
    table, _ = extract_all(connector, account, START, END)
    assert totals(table) == truth_totals(meta_sandbox, account, START, END)
    assert meta_sandbox.calls.total(method="insights_async") == 3
    # The headers ask for 5 minutes (estimated_time_to_regain_access): every retry waited that long.
    assert sorted(connector.slept)[-3:] == [300.0, 300.0, 300.0]


def test_persistent_throttling_gives_up_as_retryable(meta_sandbox: MetaSandbox, make_connector: Make) -> None:
    account = digits(meta_sandbox.account_ids[0])
    meta_sandbox.faults.add(Fault("throttle", method="report_run", params={"code": 80004}))
    with pytest.raises(RetryableAPIError) as info:
        list(make_connector(max_retries=2).extract("ad_insights", account, START, END))
    message = str(info.value)
    assert f"account {account}" in message
    assert "throttled (HTTP 400, code 80004, subcode 2446079, fbtrace_id " in message
    assert "(after 2 retries)" in message
    assert info.value.retry_after == 300  # estimated_time_to_regain_access: 5 minutes
    assert meta_sandbox.calls.total(method="report_run") == 3


def test_a_wait_over_the_connector_ceiling_is_handed_to_the_flow(
    meta_sandbox: MetaSandbox, make_connector: Make
) -> None:
    account = digits(meta_sandbox.account_ids[0])
    meta_sandbox.faults.add(Fault("throttle", method="report_run", params={"code": 80004}))
    connector = make_connector(retry_max_delay_seconds=60)
    with pytest.raises(RetryableAPIError) as info:
        list(connector.extract("ad_insights", account, START, END))
    assert info.value.retry_after == 300
    assert "(after 0 retries)" in str(info.value)
    assert max(connector.slept, default=0) < 1  # no throttle retry here: the unit retry waits the 300 s
    assert meta_sandbox.calls.total(method="report_run") == 1


@pytest.mark.parametrize("kind", ["internal", "unavailable"])
def test_server_errors_are_retried(
    meta_sandbox: MetaSandbox, make_connector: Make, extract_all: Extract, kind: str
) -> None:
    account = digits(meta_sandbox.account_ids[0])
    for method in ("account", "insights_async", "report_run", "report_insights"):
        meta_sandbox.faults.add(Fault(kind, method=method, times=1))
    table, _ = extract_all(make_connector(), account, START, END)
    assert totals(table) == truth_totals(meta_sandbox, account, START, END)


def test_persistent_server_errors_are_retryable(meta_sandbox: MetaSandbox, make_connector: Make) -> None:
    account = digits(meta_sandbox.account_ids[0])
    meta_sandbox.faults.add(Fault("internal", method="report_insights"))
    with pytest.raises(RetryableAPIError, match=r"server error \(HTTP 500, code 1"):
        list(make_connector(max_retries=1).extract("ad_insights", account, START, END))


def test_a_read_timeout_is_retried(meta_sandbox: MetaSandbox, make_connector: Make, extract_all: Extract) -> None:
    account = digits(meta_sandbox.account_ids[0])
    meta_sandbox.faults.add(Fault("slow", method="report_insights", times=1, params={"delay_seconds": 0.5}))
    table, _ = extract_all(make_connector(read_timeout_seconds=0.2), account, START, END)
    assert totals(table) == truth_totals(meta_sandbox, account, START, END)


@pytest.mark.parametrize(
    ("kind", "code", "subcode", "reason"),
    [
        ("token_invalid", 190, None, "access token rejected"),
        ("revoked", 190, 460, "access token rejected"),
        ("permission_denied", 200, None, "permission denied"),
    ],
)
def test_fatal_errors_fail_only_that_account(
    meta_sandbox: MetaSandbox,
    make_connector: Make,
    extract_all: Extract,
    access_token: str,
    kind: str,
    code: int,
    subcode: int | None,
    reason: str,
) -> None:
    bad, good = (digits(a) for a in meta_sandbox.account_ids[:2])
    meta_sandbox.faults.add(Fault(kind, account=bad, method="insights_async"))
    connector = make_connector()
    with pytest.raises(MetaAdsError) as info:
        list(connector.extract("ad_insights", bad, START, END))
    error = info.value
    assert not isinstance(error, RetryableAPIError)
    assert f"account {bad}" in str(error)
    assert f"{reason} (HTTP " in str(error)
    assert f"code {code}" in str(error)
    assert "fbtrace_id " in str(error)
    if subcode:
        assert f"subcode {subcode}" in str(error)
    assert error.failure is not None
    assert error.failure.code == code
    assert meta_sandbox.calls.total(method="insights_async") == 1  # not retried
    assert access_token not in str(error)
    assert access_token not in repr(error.failure)
    table, _ = extract_all(connector, good, START, END)
    assert totals(table) == truth_totals(meta_sandbox, good, START, END)
    before = meta_sandbox.calls.total(account=bad)
    with pytest.raises(ConnectorError, match="earlier in this run"):
        list(connector.extract("ad_insights", bad, END + dt.timedelta(days=1), END + dt.timedelta(days=3)))
    assert meta_sandbox.calls.total(account=bad) == before


def test_an_unknown_account_is_an_invalid_parameter(make_connector: Make) -> None:
    with pytest.raises(MetaAdsError, match=r"account 1: .*invalid parameter \(HTTP 400, code 100, subcode 33"):
        list(make_connector().extract("ad_insights", "act_1", START, END))


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("negative_cost", "negative_cost:spend (-"),
        ("missing_id", "missing_id:ad_id"),
        ("non_numeric", "unparsable:impressions ('N/A')"),
    ],
)
def test_malformed_rows_are_quarantined(
    meta_sandbox: MetaSandbox, make_connector: Make, extract_all: Extract, mode: str, reason: str
) -> None:
    account = digits(meta_sandbox.account_ids[0])
    meta_sandbox.faults.add(Fault("malformed", method="report_insights", times=1, params={"mode": mode, "rows": 2}))
    table, quarantine = extract_all(make_connector(), account, START, END)
    truth = meta_sandbox.truth.totals(META, account, START, END)
    assert table.num_rows == truth.rows - 2
    assert len(quarantine) == 2
    for row in quarantine:
        assert row.account_id == account
        assert START <= row.day <= END
        assert row.reason.startswith(reason)
        assert row.record
        assert '"date_start"' in row.record


def test_schema_drift_does_not_break_extraction(
    meta_sandbox: MetaSandbox,
    make_connector: Make,
    extract_all: Extract,
    caplog: pytest.LogCaptureFixture,
) -> None:
    account = digits(meta_sandbox.account_ids[0])
    meta_sandbox.faults.add(Fault("schema_drift", params={"field": "brand_new_metric", "value": "7"}))
    with caplog.at_level(logging.WARNING, logger="connectors.meta_ads"):
        table, quarantine = extract_all(make_connector(), account, START, END)
    assert quarantine == []
    assert totals(table) == truth_totals(meta_sandbox, account, START, END)
    assert "ignored fields the API added: ['brand_new_metric']" in caplog.text


def test_data_faults_come_through_as_served(
    meta_sandbox: MetaSandbox, make_connector: Make, extract_all: Extract
) -> None:
    account = digits(meta_sandbox.account_ids[1])
    meta_sandbox.faults.add(Fault("row_drop", account=account, day=dt.date(2025, 3, 3)))
    meta_sandbox.faults.add(Fault("spend_spike", account=account, day=dt.date(2025, 3, 4), params={"factor": 9}))
    table, _ = extract_all(make_connector(), account, START, END)
    assert totals(table) == truth_totals(meta_sandbox, account, START, END)


def test_conversion_rule_is_configurable_and_never_double_counts(
    meta_sandbox: MetaSandbox, make_connector: Make, extract_all: Extract
) -> None:
    """The sandbox reports every purchase under omni_purchase, purchase and the pixel type: the default rule
    (first match of the three), any order of them and `purchase` alone count it once; `sum` adds other types."""
    account = digits(meta_sandbox.account_ids[0])
    single, _ = extract_all(make_connector(conversion_action_types=["purchase"]), account, START, END)
    default, _ = extract_all(make_connector(), account, START, END)
    pixel_first, _ = extract_all(
        make_connector(conversion_action_types=["offsite_conversion.fb_pixel_purchase", "purchase"]),
        account,
        START,
        END,
    )
    with_leads, _ = extract_all(
        make_connector(conversion_action_types=["purchase", "lead"], conversion_aggregation="sum"),
        account,
        START,
        END,
    )
    assert totals(default) == totals(single) == totals(pixel_first)
    assert totals(single)["conversions"] > 0
    assert totals(with_leads)["conversions"] >= totals(single)["conversions"]
    assert totals(with_leads)["conversion_value"] == totals(single)["conversion_value"]  # leads carry no value
    assert default["actions"].to_pylist() == single["actions"].to_pylist()  # raw JSON kept whole


def test_empty_days_and_same_as_of(meta_sandbox: MetaSandbox, make_connector: Make, extract_all: Extract) -> None:
    account = digits(meta_sandbox.account_ids[0])
    connector = make_connector()
    future, quarantine = extract_all(connector, account, dt.date(2025, 3, 21), dt.date(2025, 3, 25))
    assert future.num_rows == 0
    assert quarantine == []
    first, _ = extract_all(connector, account, START, END)
    second, _ = extract_all(connector, account, START, END)
    assert first.equals(second)


def test_one_instance_serves_parallel_threads(
    meta_sandbox: MetaSandbox, make_connector: Make, extract_all: Extract
) -> None:
    connector = make_connector(page_limit=5)
    units = [
        (digits(a), START + dt.timedelta(days=d), START + dt.timedelta(days=d + 2))
        for a in meta_sandbox.account_ids
        for d in (0, 3)
    ]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda u: extract_all(connector, *u)[0], units))
    for (account, start, end), table in zip(units, results, strict=True):
        assert totals(table) == truth_totals(meta_sandbox, account, start, end)


def test_accounts_are_discovered_when_none_are_configured(meta_sandbox: MetaSandbox, make_connector: Make) -> None:
    found = make_connector(accounts=[]).list_accounts()
    truth = meta_sandbox.truth.accounts(META)
    assert [(a.id, a.name, a.currency, a.time_zone) for a in found] == [
        (t.account_id, t.name, t.currency, t.time_zone) for t in truth
    ]


def test_no_secret_in_debug_logs_or_errors(
    meta_sandbox: MetaSandbox,
    make_connector: Make,
    access_token: str,
    app_secret: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import hashlib
    import hmac

    monkeypatch.setenv("MDP_TEST_META_APP_SECRET", app_secret)
    proof = hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()
    bad, good = (digits(a) for a in meta_sandbox.account_ids[:2])
    meta_sandbox.faults.add(Fault("throttle", account=good, method="report_insights", times=1))
    meta_sandbox.faults.add(Fault("slow", account=good, method="report_run", times=1, params={"delay_seconds": 0.4}))
    meta_sandbox.faults.add(Fault("token_invalid", account=bad))
    connector = make_connector(
        credentials={
            "access_token": "env:MDP_TEST_META_ACCESS_TOKEN",
            "app_secret": "env:MDP_TEST_META_APP_SECRET",  # pragma: allowlist secret
        },
        read_timeout_seconds=0.2,
    )
    errors: list[BaseException] = []
    for name in ("urllib3", "facebook_business", ""):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        assert list(connector.extract("ad_insights", good, START, END))
        with pytest.raises(MetaAdsError) as info:
            list(connector.extract("ad_insights", bad, START, END))
        errors.append(info.value)
        meta_sandbox.faults.add(Fault("internal", account=good))
        with pytest.raises(MetaAdsRetryableError) as retry_info:
            list(make_connector(max_retries=1).extract("ad_insights", good, START, END))
        errors.append(retry_info.value)
    assert "access_token=***" in caplog.text  # urllib3 did log the URLs, masked
    texts = [caplog.text, *(r.getMessage() for r in caplog.records)]
    for error in errors:
        chain: BaseException | None = error
        while chain is not None:
            texts += [str(chain), repr(chain), repr(getattr(chain, "failure", None))]
            chain = chain.__cause__ or chain.__context__
    for secret in (access_token, app_secret, proof):
        assert not any(secret in text for text in texts)
