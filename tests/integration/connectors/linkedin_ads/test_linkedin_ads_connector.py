"""The linkedin_ads connector (its httpx client) against the session's LinkedIn sandbox: discovery through the
paged ad account search, the token renewed ahead of expiry and once on a 401, a refused refresh token asked
once per run, and no secret in errors or logs."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.linkedin_ads.connector import LinkedInAdsConnector
from connectors.linkedin_ads.exceptions import LinkedInAdsError
from connectors.linkedin_ads.settings import LinkedInAdsSettings
from mdp.errors import ConnectorError
from sandbox import Fault, LinkedInAdsSandbox

DAY = dt.date(2025, 3, 10)
SECRETS = {
    "LI_TEST_CLIENT_ID": "li-client-5e8a2c7d",  # pragma: allowlist secret
    "LI_TEST_CLIENT_SECRET": "li-secret-" + "9d3f6b1e" * 2,  # pragma: allowlist secret
    "LI_TEST_REFRESH_TOKEN": "AQWtest-" + "2a7c4e9f" * 3,  # pragma: allowlist secret
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def make(
    linkedin_sandbox: LinkedInAdsSandbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., LinkedInAdsConnector]]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    built: list[LinkedInAdsConnector] = []

    def build(clock: Callable[[], float] | None = None, **overrides: Any) -> LinkedInAdsConnector:
        settings = {
            "name": "li",
            "type": "linkedin_ads",
            "endpoint": linkedin_sandbox.api_url,
            "token_url": linkedin_sandbox.token_url,
            "credentials": {k.removeprefix("LI_TEST_").lower(): f"env:{k}" for k in SECRETS},
            **overrides,
        }
        connector = LinkedInAdsConnector(
            LinkedInAdsSettings.model_validate(settings), **({"clock": clock} if clock else {})
        )
        built.append(connector)
        return connector

    yield build
    for connector in built:
        connector.close()


def rows(connector: LinkedInAdsConnector, account: str, stream: str = "ad_performance") -> int:
    return sum(b.rows.num_rows for b in connector.extract(stream, account, DAY, DAY))


def test_discovery_reads_every_page_of_the_ad_account_search(
    make: Callable[..., LinkedInAdsConnector], linkedin_sandbox: LinkedInAdsSandbox
) -> None:
    connector = make(page_size=1)
    accounts = connector.list_accounts()
    assert [a.id for a in accounts] == linkedin_sandbox.account_ids
    assert all(a.currency and a.time_zone == "UTC" for a in accounts)
    assert linkedin_sandbox.calls.total(method="adAccounts") == len(accounts)  # one page per account
    assert rows(connector, accounts[0].id) > 0  # entity searches page through too


def test_the_token_is_renewed_before_it_expires_and_once_on_a_401(
    make: Callable[..., LinkedInAdsConnector], linkedin_sandbox: LinkedInAdsSandbox
) -> None:
    clock = Clock()
    connector = make(clock=clock, accounts=linkedin_sandbox.account_ids)
    account = linkedin_sandbox.account_ids[0]
    rows(connector, account)
    assert linkedin_sandbox.calls.total(method="token") == 1
    clock.now += 5_184_000 - 100  # within the margin before expiry
    rows(connector, account)
    assert linkedin_sandbox.calls.total(method="token") == 2
    linkedin_sandbox.faults.add(Fault("expired_token", channel="linkedin_ads", times=1))
    assert rows(connector, account) > 0
    assert linkedin_sandbox.calls.total(method="token") == 3


def test_a_refused_refresh_token_fails_every_account_and_is_asked_once(
    make: Callable[..., LinkedInAdsConnector], linkedin_sandbox: LinkedInAdsSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    linkedin_sandbox.faults.add(Fault("revoked", channel="linkedin_ads"))
    connector = make(accounts=linkedin_sandbox.account_ids)
    messages = []
    with caplog.at_level(logging.DEBUG):
        for account in linkedin_sandbox.account_ids:
            with pytest.raises(LinkedInAdsError, match="refused the refresh token") as raised:
                rows(connector, account)
            messages.append(str(raised.value))
    assert "renew connectors.li.credentials.refresh_token" in messages[0]
    assert linkedin_sandbox.calls.total(method="token") == 1
    text = caplog.text + "".join(messages)
    for secret in SECRETS.values():
        assert secret not in text


def test_no_secret_reaches_logs_errors_or_describe(
    make: Callable[..., LinkedInAdsConnector], linkedin_sandbox: LinkedInAdsSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    account = linkedin_sandbox.account_ids[0]
    messages: list[str] = []
    with caplog.at_level(logging.DEBUG):
        rows(make(), account)
        for kind in ("token_invalid", "throttle", "permission_denied", "revoked"):
            linkedin_sandbox.faults.clear()
            linkedin_sandbox.faults.add(Fault(kind, channel="linkedin_ads"))
            with pytest.raises(ConnectorError) as raised:
                rows(make(), account, "account_totals")
            messages.append(repr(raised.value) + str(raised.value))
    text = "\n".join(r.getMessage() for r in caplog.records) + "\n".join(messages) + repr(make().describe())
    assert "adAnalytics" in text
    for secret in SECRETS.values():
        assert secret not in text
    assert "AQV" not in text  # the access tokens the exchange returned (the sandbox's start so)


def test_the_country_breakdown_adds_up_to_the_account_totals_on_the_sandbox(
    make: Callable[..., LinkedInAdsConnector], linkedin_sandbox: LinkedInAdsSandbox
) -> None:
    connector = make(accounts=linkedin_sandbox.account_ids)
    account = linkedin_sandbox.account_ids[0]
    countries = [b.rows for b in connector.extract("country_performance", account, DAY, DAY)]
    totals = [b.rows for b in connector.extract("account_totals", account, DAY, DAY)]
    assert len(countries) == 1
    assert len(totals) == 1
    rows = countries[0].to_pylist()
    assert {r["country_code"] for r in rows} >= {"DE", None}  # an EUR account; one geo id the connector cannot name
    assert all(r["campaign_group_name"] for r in rows)
    (total,) = totals[0].to_pylist()
    for column in ("impressions", "clicks", "cost_in_local_currency", "external_website_conversions"):
        assert sum(r[column] for r in rows) == total[column], column
