"""The Microsoft Advertising connector through the real bingads SDK (suds) against the sandbox: rows equal the
sandbox's truth, accounts are discovered under the customer, every fault the sandbox serves is classified
(throttling retryable, report status Error retryable, an expired token refreshed once then fatal, a revoked
refresh token fatal), an empty report gives no rows, a malformed CSV row is quarantined and counted, and no
secret reaches a log line or an exception."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pytest

from connectors.microsoft_ads.connector import MicrosoftAdsConnector
from connectors.microsoft_ads.exceptions import MicrosoftAdsError, MicrosoftAdsRetryableError
from mdp.errors import ConnectorError, RetryableAPIError
from sandbox import MICROSOFT, Fault, MicrosoftAdsSandbox

START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 12)
Make = Callable[..., MicrosoftAdsConnector]


def rows(connector: MicrosoftAdsConnector, stream: str, account: str) -> tuple[pa.Table, int]:
    batches = list(connector.extract(stream, account, START, END))
    table = (
        pa.concat_tables([b.rows for b in batches]) if batches else connector.stream(stream).table.schema.empty_table()
    )
    return table, sum(len(b.quarantine) for b in batches)


def test_ad_performance_equals_the_truth(make_connector: Make, microsoft_sandbox: MicrosoftAdsSandbox) -> None:
    connector = make_connector()
    for account in microsoft_sandbox.account_ids:
        table, quarantined = rows(connector, "ad_performance", account)
        assert quarantined == 0
        truth = microsoft_sandbox.truth.totals(MICROSOFT, account, START, END)
        assert table.num_rows == truth.rows
        assert sum(table.column("spend").to_pylist()) == truth.cost
        assert sum(table.column("revenue").to_pylist()) == truth.conversion_value
        assert round(sum(table.column("conversions").to_pylist()), 2) == float(truth.conversions)
        info = microsoft_sandbox.truth.data.account(MICROSOFT, account)
        assert info is not None
        assert set(table.column("account_currency").to_pylist()) == {info.currency}
        assert set(table.column("account_timezone").to_pylist()) == {info.time_zone}


@pytest.mark.parametrize(
    "stream", ["keyword_performance", "search_query_performance", "geographic_performance", "device_performance"]
)
def test_breakdown_streams_add_up_to_the_ads(
    make_connector: Make, microsoft_sandbox: MicrosoftAdsSandbox, stream: str
) -> None:
    connector = make_connector()
    account = microsoft_sandbox.account_ids[1]
    table, quarantined = rows(connector, stream, account)
    assert quarantined == 0
    assert table.num_rows > 0
    assert sum(table.column("spend").to_pylist()) == microsoft_sandbox.truth.totals(MICROSOFT, account, START, END).cost


def test_parallel_units_of_one_connector_each_get_their_own_account(
    make_connector: Make, microsoft_sandbox: MicrosoftAdsSandbox
) -> None:
    """The flow runs units in threads on one connector: each SOAP call must carry its own unit's headers."""
    connector = make_connector()
    units = [
        (stream, account)
        for account in microsoft_sandbox.account_ids
        for stream in ("ad_performance", "device_performance")
    ]
    with ThreadPoolExecutor(max_workers=len(units)) as pool:
        results = list(pool.map(lambda unit: rows(connector, *unit), units))
    for (_, account), (table, quarantined) in zip(units, results, strict=True):
        assert quarantined == 0
        assert set(table.column("account_id").to_pylist()) == {account}
        assert (
            sum(table.column("spend").to_pylist())
            == microsoft_sandbox.truth.totals(MICROSOFT, account, START, END).cost
        )


def test_a_client_built_in_another_thread_meanwhile_keeps_its_own_headers(
    make_connector: Make, microsoft_sandbox: MicrosoftAdsSandbox
) -> None:
    """suds hands a cached WSDL the options (SOAP headers) of the client that opened it last: a client built in
    one thread while another thread's client waits to call must not change what the waiting one sends."""
    from connectors.microsoft_ads.client import Session
    from connectors.microsoft_ads.reports import ReportRunner

    connector = make_connector()
    first, second = microsoft_sandbox.account_ids[:2]
    first_built, second_built = threading.Event(), threading.Event()
    found: dict[str, str | None] = {}

    def runner(account: str) -> ReportRunner:
        built = ReportRunner(Session(connector.settings, connector._secrets()), connector.settings, account)
        _ = built.service  # the client is built (its WSDL opened) here
        return built

    def first_unit() -> None:
        waiting = runner(first)
        first_built.set()
        second_built.wait(30)  # another thread builds its client meanwhile
        found[first] = waiting.csv("device_performance", START, END)

    thread = threading.Thread(target=first_unit)
    thread.start()
    assert first_built.wait(30)
    other = runner(second)
    second_built.set()
    thread.join(30)
    found[second] = other.csv("device_performance", START, END)
    assert set(found) == {first, second}, "the first unit failed"
    for account, text in found.items():
        assert text is not None
        assert f'"{account}"' in text


def test_accounts_are_discovered_under_the_customer(
    make_connector: Make, microsoft_sandbox: MicrosoftAdsSandbox
) -> None:
    found = make_connector(accounts=[]).list_accounts()
    assert [a.id for a in found] == microsoft_sandbox.account_ids
    for account in found:
        truth = microsoft_sandbox.truth.data.account(MICROSOFT, account.id)
        assert truth is not None
        assert (account.name, account.currency, account.time_zone) == (truth.name, truth.currency, truth.time_zone)
    assert microsoft_sandbox.calls.total(method="SearchAccounts") == 1


def test_another_customer_has_no_accounts(make_connector: Make) -> None:
    assert make_connector(accounts=[], customer_id="1").list_accounts() == []


@pytest.mark.parametrize(
    ("fault", "error", "text"),
    [
        (Fault("throttle", channel=MICROSOFT), MicrosoftAdsRetryableError, "117 CallRateExceeded"),
        (Fault("internal", channel=MICROSOFT), MicrosoftAdsRetryableError, "InternalError"),
        (Fault("unavailable", channel=MICROSOFT), MicrosoftAdsRetryableError, "HTTP 503"),
        (Fault("report_error", channel=MICROSOFT), MicrosoftAdsRetryableError, "status Error"),
        (Fault("permission_denied", channel=MICROSOFT), MicrosoftAdsError, "permission denied"),
        (Fault("token_invalid", channel=MICROSOFT), MicrosoftAdsError, "credentials.refresh_token"),
        (Fault("expired_token", channel=MICROSOFT), MicrosoftAdsError, "AuthenticationTokenExpired"),
        (Fault("revoked", channel=MICROSOFT), MicrosoftAdsError, "expired or revoked"),
    ],
    ids=lambda v: v.kind if isinstance(v, Fault) else None,
)
def test_faults_are_classified(
    make_connector: Make,
    microsoft_sandbox: MicrosoftAdsSandbox,
    fault: Fault,
    error: type[Exception],
    text: str,
) -> None:
    connector = make_connector()
    microsoft_sandbox.faults.add(fault)
    with pytest.raises(error, match=text) as raised:
        rows(connector, "ad_performance", microsoft_sandbox.account_ids[0])
    assert isinstance(raised.value, RetryableAPIError) == (error is MicrosoftAdsRetryableError)
    assert isinstance(raised.value, ConnectorError)
    assert "\n" not in str(raised.value)


def test_an_expired_token_is_refreshed_once_through_the_token_url(
    make_connector: Make, microsoft_sandbox: MicrosoftAdsSandbox
) -> None:
    connector = make_connector()
    account = microsoft_sandbox.account_ids[0]
    microsoft_sandbox.faults.add(Fault("expired_token", channel=MICROSOFT, method="SubmitGenerateReport", times=1))
    table, _ = rows(connector, "ad_performance", account)
    assert table.num_rows == microsoft_sandbox.truth.totals(MICROSOFT, account, START, END).rows
    assert microsoft_sandbox.calls.total(method="token") == 2  # the first exchange, then the SDK's refresh


def test_a_refused_token_fails_the_accounts_other_chunks_without_asking_again(
    make_connector: Make, microsoft_sandbox: MicrosoftAdsSandbox
) -> None:
    connector = make_connector()
    account = microsoft_sandbox.account_ids[0]
    microsoft_sandbox.faults.add(Fault("permission_denied", channel=MICROSOFT, account=account))
    with pytest.raises(MicrosoftAdsError):
        rows(connector, "ad_performance", account)
    calls = microsoft_sandbox.calls.total()
    with pytest.raises(MicrosoftAdsError, match="earlier in this run"):
        rows(connector, "keyword_performance", account)
    assert microsoft_sandbox.calls.total() == calls


def test_an_empty_report_gives_no_rows_and_no_error(
    make_connector: Make, microsoft_sandbox: MicrosoftAdsSandbox
) -> None:
    microsoft_sandbox.faults.add(Fault("empty_report", channel=MICROSOFT))
    table, quarantined = rows(make_connector(), "ad_performance", microsoft_sandbox.account_ids[0])
    assert (table.num_rows, quarantined) == (0, 0)
    assert microsoft_sandbox.calls.total(method="download") == 0


@pytest.mark.parametrize("mode", ["non_numeric", "negative_cost", "missing_id"])
def test_a_malformed_row_is_quarantined_and_counted(
    make_connector: Make, microsoft_sandbox: MicrosoftAdsSandbox, mode: str
) -> None:
    account = microsoft_sandbox.account_ids[2]
    microsoft_sandbox.faults.add(Fault("malformed", channel=MICROSOFT, params={"mode": mode}))
    batches = list(make_connector().extract("device_performance", account, START, END))
    quarantine = [q for b in batches for q in b.quarantine]
    assert len(quarantine) == 1
    assert quarantine[0].account_id == account
    assert START <= quarantine[0].day <= END
    assert quarantine[0].record
    microsoft_sandbox.faults.clear()
    clean, _ = rows(make_connector(), "device_performance", account)
    assert sum(b.rows.num_rows for b in batches) + 1 == clean.num_rows  # only the malformed line is left out


def test_a_report_not_ready_in_time_is_retryable(
    make_connector: Make, microsoft_sandbox: MicrosoftAdsSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(microsoft_sandbox.config, "microsoft_report_polls", 1_000)
    with pytest.raises(MicrosoftAdsRetryableError, match=r"not ready after 0.05s .*report_timeout_seconds"):
        rows(make_connector(report_timeout_seconds=0.05), "ad_performance", microsoft_sandbox.account_ids[0])


def test_no_secret_reaches_logs_or_errors(
    make_connector: Make,
    microsoft_sandbox: MicrosoftAdsSandbox,
    msads_secrets: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    connector = make_connector()
    account = microsoft_sandbox.account_ids[0]
    messages: list[str] = []
    with caplog.at_level(logging.DEBUG):
        rows(connector, "ad_performance", account)
        for kind in ("token_invalid", "throttle", "revoked"):
            microsoft_sandbox.faults.clear()
            microsoft_sandbox.faults.add(Fault(kind, channel=MICROSOFT))
            with pytest.raises(ConnectorError) as raised:
                rows(make_connector(), "keyword_performance", account)
            messages.append(repr(raised.value) + str(raised.value))
    text = "\n".join(r.getMessage() for r in caplog.records) + "\n".join(messages)
    assert "SubmitGenerateReport" in text or "ad_performance" in text
    for secret in msads_secrets.values():
        assert secret not in text
    assert "sandbox-msads-access-" not in text  # the access tokens the exchange returned


def test_describe_shows_no_secret(make_connector: Make, msads_secrets: dict[str, str]) -> None:
    described = repr(make_connector().describe())
    assert "customer_id" in described
    for secret in msads_secrets.values():
        assert secret not in described
