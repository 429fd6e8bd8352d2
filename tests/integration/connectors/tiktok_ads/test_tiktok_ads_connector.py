"""The tiktok_ads connector on its sandbox, through the real httpx client: paging gives the same rows at any page
size, long windows are cut into the 30-day ranges the API accepts, discovery lists the authorised advertisers,
the loaded money equals the truth exactly (JPY and KWD too), and no secret reaches a log line or an error."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Iterator
from decimal import Decimal

import pyarrow as pa
import pytest

from connectors.tiktok_ads.connector import TikTokAdsConnector
from connectors.tiktok_ads.exceptions import TikTokAdsError, TikTokAdsRetryableError
from connectors.tiktok_ads.settings import TikTokAdsSettings
from sandbox import Fault, SandboxConfig, TikTokAdsSandbox

TOKEN = "act." + secrets.token_hex(20)
APP_SECRET = secrets.token_hex(20)
START, END = dt.date(2025, 3, 10), dt.date(2025, 3, 12)
Make = Callable[..., TikTokAdsConnector]


@pytest.fixture
def make(tiktok_sandbox: TikTokAdsSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Make]:
    monkeypatch.setenv("IT_TIKTOK_TOKEN", TOKEN)
    monkeypatch.setenv("IT_TIKTOK_SECRET", APP_SECRET)
    built: list[TikTokAdsConnector] = []

    def build(**overrides: object) -> TikTokAdsConnector:
        settings = TikTokAdsSettings.model_validate(
            {
                "name": "tiktok",
                "type": "tiktok_ads",
                "endpoint": tiktok_sandbox.base_url,
                "app_id": tiktok_sandbox.app_id,
                "credentials": {
                    "access_token": "env:IT_TIKTOK_TOKEN",
                    "secret": "env:IT_TIKTOK_SECRET",  # pragma: allowlist secret
                },
                "retry_base_delay_seconds": 0.001,
                "retry_max_delay_seconds": 0.01,
                **overrides,
            }
        )
        connector = TikTokAdsConnector(settings)
        built.append(connector)
        return connector

    yield build
    for connector in built:
        connector.close()


def rows(connector: TikTokAdsConnector, stream: str, account: str, start: dt.date, end: dt.date) -> pa.Table:
    tables = [batch.rows for batch in connector.extract(stream, account, start, end)]
    return pa.concat_tables(tables)


def test_discovery_lists_the_authorised_advertisers_with_currency_and_time_zone(
    make: Make, tiktok_sandbox: TikTokAdsSandbox
) -> None:
    accounts = make().list_accounts()
    assert [a.id for a in accounts] == tiktok_sandbox.account_ids
    truth = {a.account_id: a for a in tiktok_sandbox.truth.accounts("tiktok_ads")}
    for account in accounts:
        assert (account.currency, account.time_zone) == (truth[account.id].currency, truth[account.id].time_zone)
    assert tiktok_sandbox.calls.total(method="advertiser_get") == 1


@pytest.mark.parametrize("stream", ["ad_performance", "country_performance"])
def test_small_pages_give_the_same_rows_as_one_page(make: Make, tiktok_sandbox: TikTokAdsSandbox, stream: str) -> None:
    account = tiktok_sandbox.account_ids[0]
    whole = rows(make(accounts=[account]), stream, account, START, END)
    tiktok_sandbox.calls.reset()
    paged = rows(make(accounts=[account], page_size=7), stream, account, START, END)
    assert paged.num_rows == whole.num_rows > 7
    order = [(name, "ascending") for name in whole.schema.names]
    assert paged.sort_by(order).equals(whole.sort_by(order))
    pages = -(-whole.num_rows // 7)
    assert tiktok_sandbox.calls.total(account, "report") == pages


def test_a_long_window_is_cut_into_30_day_reports_and_lands_the_truth_exactly(
    make: Make, tiktok_sandbox: TikTokAdsSandbox
) -> None:
    start, end = dt.date(2025, 1, 1), dt.date(2025, 3, 19)  # 78 days: three reports
    for account in tiktok_sandbox.account_ids:
        tiktok_sandbox.calls.reset()
        got = rows(make(accounts=tiktok_sandbox.account_ids), "account_totals", account, start, end)
        assert got.num_rows == 78
        assert tiktok_sandbox.calls.total(account, "report") == 3
        truth = tiktok_sandbox.truth.totals("tiktok_ads", account, start, end, level="account")
        assert sum(got.column("spend").to_pylist(), Decimal(0)) == truth.cost
        assert sum(got.column("impressions").to_pylist()) == truth.impressions


def test_jpy_and_kwd_money_is_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IT_TIKTOK_TOKEN", TOKEN)
    config = SandboxConfig(seed=11, as_of=dt.date(2025, 3, 20), tiktok_accounts=7)
    with TikTokAdsSandbox(config) as server:
        by_currency = {a.currency: a.account_id for a in server.truth.accounts("tiktok_ads")}
        assert {"JPY", "KWD"} <= set(by_currency)
        settings = TikTokAdsSettings.model_validate(
            {
                "name": "tiktok",
                "type": "tiktok_ads",
                "endpoint": server.base_url,
                "accounts": list(by_currency.values()),
                "credentials": {"access_token": "env:IT_TIKTOK_TOKEN"},
            }
        )
        connector = TikTokAdsConnector(settings)
        try:
            for currency in ("JPY", "KWD"):
                account = by_currency[currency]
                got = rows(connector, "ad_performance", account, START, END)
                truth = server.truth.totals("tiktok_ads", account, START, END, level="ad")
                assert set(got.column("account_currency").to_pylist()) == {currency}
                assert sum(got.column("spend").to_pylist(), Decimal(0)) == truth.cost
                assert sum(got.column("conversion_value").to_pylist(), Decimal(0)) == truth.conversion_value
        finally:
            connector.close()


def test_a_refused_token_fails_every_unit_of_the_advertiser_without_asking_again(
    make: Make, tiktok_sandbox: TikTokAdsSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    account = tiktok_sandbox.account_ids[0]
    connector = make(accounts=[account])
    tiktok_sandbox.faults.add(Fault("token_invalid", channel="tiktok_ads", account=account))
    with caplog.at_level(logging.DEBUG), pytest.raises(TikTokAdsError, match=r"credentials\.access_token") as first:
        rows(connector, "ad_performance", account, START, END)
    calls = tiktok_sandbox.calls.total(account)
    with pytest.raises(TikTokAdsError, match="not asked again") as second:
        rows(connector, "country_performance", account, START, END)
    assert tiktok_sandbox.calls.total(account) == calls
    text = caplog.text + str(first.value) + str(second.value)
    assert TOKEN not in text
    assert APP_SECRET not in text


def test_a_throttle_that_persists_is_retryable_and_names_the_advertiser(
    make: Make, tiktok_sandbox: TikTokAdsSandbox
) -> None:
    account = tiktok_sandbox.account_ids[0]
    tiktok_sandbox.faults.add(Fault("throttle", channel="tiktok_ads", account=account, method="report"))
    with pytest.raises(TikTokAdsRetryableError, match=rf"advertiser {account} .*code 40100.*after 3 retries"):
        rows(make(accounts=[account]), "ad_performance", account, START, END)
    assert tiktok_sandbox.calls.total(account, "report") == 4


def test_no_secret_reaches_the_logs_even_from_the_http_library(
    make: Make, tiktok_sandbox: TikTokAdsSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """The advertiser list takes the app secret as a query parameter: httpx logs request URLs at INFO."""
    with caplog.at_level(logging.DEBUG):
        connector = make()
        accounts = connector.list_accounts()
        rows(connector, "placement_performance", accounts[0].id, START, START)
    assert "oauth2/advertiser/get" in caplog.text
    assert TOKEN not in caplog.text
    assert APP_SECRET not in caplog.text
