"""A JPY and a KWD account through the real bingads SDK against a sandbox that serves them (Microsoft's 7th and
8th accounts): whatever FormatVersion the request carries (none: 1.0, "1.0" or the connector's "2.0"), every row
loads, none is quarantined, and spend and revenue equal the sandbox's truth exactly, to the yen and the fils."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from decimal import Decimal

import pyarrow as pa
import pytest

from connectors.microsoft_ads import reports
from connectors.microsoft_ads.client import Session
from connectors.microsoft_ads.connector import MicrosoftAdsConnector
from connectors.microsoft_ads.reports import ReportRunner
from sandbox import MICROSOFT, MicrosoftAdsSandbox, SandboxConfig

AS_OF = dt.date(2025, 3, 20)
START, END = dt.date(2025, 3, 1), dt.date(2025, 3, 12)
GROUPED = re.compile(r'"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?"')
Make = Callable[..., MicrosoftAdsConnector]


@pytest.fixture(scope="module")
def currency_sandbox() -> Iterator[MicrosoftAdsSandbox]:
    with MicrosoftAdsSandbox(SandboxConfig(seed=11, as_of=AS_OF, microsoft_accounts=8)) as server:
        yield server


@pytest.fixture
def microsoft_sandbox(currency_sandbox: MicrosoftAdsSandbox) -> MicrosoftAdsSandbox:
    """Replaces the session's sandbox for make_connector: the one serving JPY and KWD accounts."""
    currency_sandbox.faults.clear()
    return currency_sandbox


def account_in(sandbox: MicrosoftAdsSandbox, currency: str) -> str:
    (account,) = [a.account_id for a in sandbox.truth.accounts(MICROSOFT) if a.currency == currency]
    return account


def extract(connector: MicrosoftAdsConnector, stream: str, account: str) -> tuple[pa.Table, int]:
    batches = list(connector.extract(stream, account, START, END))
    return pa.concat_tables([b.rows for b in batches]), sum(len(b.quarantine) for b in batches)


@pytest.mark.parametrize("format_version", [None, "1.0", "2.0"])
@pytest.mark.parametrize("currency", ["JPY", "KWD"])
def test_revenue_and_spend_equal_the_truth_exactly(
    make_connector: Make,
    microsoft_sandbox: MicrosoftAdsSandbox,
    monkeypatch: pytest.MonkeyPatch,
    currency: str,
    format_version: str | None,
) -> None:
    monkeypatch.setattr(reports, "REPORT_FORMAT_VERSION", format_version)
    account = account_in(microsoft_sandbox, currency)
    connector = make_connector(accounts=[account])
    runner = ReportRunner(Session(connector.settings, connector._secrets()), connector.settings, account)
    text = runner.csv("ad_performance", START, END)
    assert text is not None
    assert bool(GROUPED.search(text)) == (format_version != "2.0"), "1.0 writes thousands separators, 2.0 none"

    table, quarantined = extract(connector, "ad_performance", account)
    truth = microsoft_sandbox.truth.totals(MICROSOFT, account, START, END)
    assert quarantined == 0
    assert table.num_rows == truth.rows
    assert set(table.column("account_currency").to_pylist()) == {currency}
    spend: list[Decimal] = table.column("spend").to_pylist()
    revenue: list[Decimal] = table.column("revenue").to_pylist()
    assert sum(spend) == truth.cost
    assert sum(revenue) == truth.conversion_value
    places = {"JPY": 0, "KWD": 3}[currency]
    assert all(v == v.quantize(Decimal(1).scaleb(-places)) for v in spend + revenue), "the currency's precision"
    if currency == "JPY":
        assert max(revenue) >= 1000, "the JPY account's revenue carries thousands"


def test_the_connector_asks_for_format_version_2(make_connector: Make, microsoft_sandbox: MicrosoftAdsSandbox) -> None:
    account = account_in(microsoft_sandbox, "JPY")
    connector = make_connector(accounts=[account])
    runner = ReportRunner(Session(connector.settings, connector._secrets()), connector.settings, account)
    text = runner.csv("device_performance", START, END)
    assert text is not None
    assert not GROUPED.search(text)


@pytest.mark.parametrize(
    "stream", ["keyword_performance", "search_query_performance", "geographic_performance", "device_performance"]
)
def test_breakdowns_of_the_jpy_account_add_up_to_whole_yen(
    make_connector: Make, microsoft_sandbox: MicrosoftAdsSandbox, monkeypatch: pytest.MonkeyPatch, stream: str
) -> None:
    monkeypatch.setattr(reports, "REPORT_FORMAT_VERSION", "1.0")
    account = account_in(microsoft_sandbox, "JPY")
    table, quarantined = extract(make_connector(accounts=[account]), stream, account)
    assert quarantined == 0
    spend: list[Decimal] = table.column("spend").to_pylist()
    assert all(v == v.to_integral_value() for v in spend)
    assert sum(spend) == microsoft_sandbox.truth.totals(MICROSOFT, account, START, END).cost
