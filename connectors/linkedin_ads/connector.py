"""The LinkedIn Ads connector: daily ad analytics of each ad account by creative (with its campaign and campaign
group) and the account's own daily totals; the active ad accounts found by the ad account search when none are
configured. One instance serves several threads through one client."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from connectors.base import TOTALS_STREAM, Account, Connector, ConnectorSettings, Extracted, Stream, zero_totals
from connectors.kit.accounts import AccountCache, FatalAccounts
from connectors.linkedin_ads.client import (
    AdAccount,
    Campaign,
    CampaignGroup,
    Creative,
    Credentials,
    LinkedInClient,
)
from connectors.linkedin_ads.exceptions import LinkedInAdsError
from connectors.linkedin_ads.rows import UTC, AnalyticsBatch, Entities, entities_from
from connectors.linkedin_ads.schema import REPORT_TABLES
from connectors.linkedin_ads.settings import (
    DEFAULT_LOOKBACK_DAYS,
    DISCOVERED_STATUSES,
    PIVOTS,
    LinkedInAdsSettings,
    check_account_id,
)
from mdp.errors import ConnectorError
from mdp.secrets import resolve_secret

logger = logging.getLogger(__name__)

STREAMS: tuple[Stream, ...] = tuple(Stream(name, spec) for name, spec in REPORT_TABLES.items())
# HTTP statuses that stay so for the account for the rest of the run.
_REFUSED = frozenset({401, 403})


class LinkedInAdsConnector(Connector):
    """`type: linkedin_ads`: raw_linkedin_ads.ad_performance (one row per day and creative, the primary stream),
    raw_linkedin_ads.country_performance (campaign groups by member country) and raw_linkedin_ads.account_totals
    (the platform's account-day totals, for the reconciliation)."""

    type_name: ClassVar[str] = "linkedin_ads"
    display_name: ClassVar[str] = "LinkedIn Ads"
    settings_model: ClassVar[type[ConnectorSettings]] = LinkedInAdsSettings
    settings: LinkedInAdsSettings
    streams: tuple[Stream, ...] = STREAMS
    default_lookback_days: ClassVar[int] = DEFAULT_LOOKBACK_DAYS
    totals_stream: ClassVar[str | None] = TOTALS_STREAM
    dbt_models: ClassVar[Mapping[str, str]] = {
        "ad_performance": "int_linkedin_ads__ad_performance",
        "account_totals": "int_linkedin_ads__account_totals",
        "country": "int_linkedin_ads__country",
    }

    def __init__(self, settings: ConnectorSettings, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(settings, clock=clock)
        self._client: LinkedInClient | None = None
        self._accounts = AccountCache()
        self._fatal: FatalAccounts[LinkedInAdsError] = FatalAccounts(_stays_refused, _refused_again)

    def list_accounts(self) -> list[Account]:
        """The configured accounts, or every active ad account the user can see (adAccounts search)."""
        return self._accounts.listed(self.settings.accounts, self._discover)

    def _discover(self) -> list[Account]:
        statuses = ",".join(DISCOVERED_STATUSES)
        found = self.client().search(
            "/adAccounts", f"q=search&search=(status:(values:List({statuses})))", "search the ad accounts", AdAccount
        )
        accounts = [_account_from(a) for a in found]
        logger.info("LinkedIn Ads %s: discovered %d ad account(s)", self.name, len(accounts))
        return accounts

    def extract(self, stream: str, account: str, start: dt.date, end: dt.date) -> Iterator[Extracted]:
        """Every day (UTC) of [start, end] for one account and stream, in one batch.

        Raises:
            LinkedInAdsRetryableError: throttling (429, with its Retry-After), 5xx, timeouts.
            LinkedInAdsError: token, permission or request errors (the account's other units fail at once).
        """
        spec = self.stream(stream).table  # an unknown stream fails before any call
        try:
            account_id = check_account_id(account.strip())
        except ValueError as error:
            raise ConnectorError(f"LinkedIn Ads {self.name}: account {error}") from None
        if end < start:
            raise ConnectorError(f"LinkedIn Ads account {account_id}: end {end} is before start {start}")
        self._fatal.raise_if_failed_before(account_id)
        began = self._clock()
        client = self.client()
        requests_before = client.requests
        try:
            info = self._account(client, account_id)
            elements = client.analytics(PIVOTS[stream], account_id, start, end)
            entities = self._entities(client, account_id, stream) if elements and stream != TOTALS_STREAM else None
        except LinkedInAdsError as error:
            self._fatal.remember(account_id, error)
            raise
        batch = AnalyticsBatch(stream, info, start, end, entities)
        for element in elements:
            batch.add(element)
        if batch.records or batch.quarantine:
            yield Extracted(batch.collector.table(), batch.quarantine)
        if stream == TOTALS_STREAM:  # the days LinkedIn had no row for: zero totals, to reconcile against
            zeros = zero_totals(spec, account_id, start, end, (r["date"] for r in batch.records))
            if zeros.num_rows:
                yield Extracted(zeros)
        logger.info(
            "LinkedIn Ads account %s %s %s..%s: %d row(s), %d quarantined; %d request(s), %.1fs",
            account_id,
            stream,
            start,
            end,
            len(batch.records),
            len(batch.quarantine),
            client.requests - requests_before,
            self._clock() - began,
        )

    def describe(self) -> dict[str, Any]:
        return super().describe() | {
            "endpoint": self.settings.endpoint,
            "token_url": self.settings.token_url,
            "api_version": self.settings.api_version,
        }

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def client(self) -> LinkedInClient:
        """The instance's client, made on first use (the credentials are resolved then)."""
        with self._lock:
            if self._client is None:
                prefix = f"connectors.{self.name}.credentials"
                refs = self.settings.credentials
                credentials = Credentials(**{key: resolve_secret(refs[key], key=f"{prefix}.{key}") for key in refs})
                self._client = LinkedInClient(self.settings, credentials, clock=self._clock)
            return self._client

    def _account(self, client: LinkedInClient, account_id: str) -> Account:
        """The account's name and currency (read once per connector instance, unless discovery told them)."""

        def read() -> Account:
            found = client.model(f"/adAccounts/{account_id}", "", f"read ad account {account_id}", AdAccount)
            return _account_from(found)

        return self._accounts.get(account_id, read)

    def _entities(self, client: LinkedInClient, account_id: str, stream: str) -> Entities:
        """The account's creatives, campaigns and campaign groups (ids and names), read with each unit; the
        campaign groups only for the country stream."""
        base = f"/adAccounts/{account_id}"
        creatives: list[Creative] = []
        campaigns: list[Campaign] = []
        if stream == "ad_performance":
            creatives = client.search(f"{base}/creatives", "q=criteria", f"list creatives of {account_id}", Creative)
            campaigns = client.search(f"{base}/adCampaigns", "q=search", f"list campaigns of {account_id}", Campaign)
        groups = client.search(
            f"{base}/adCampaignGroups", "q=search", f"list campaign groups of {account_id}", CampaignGroup
        )
        return entities_from(
            [(c.id, c.name, c.campaign) for c in creatives],
            [(c.id, c.name, c.campaignGroup) for c in campaigns],
            [(g.id, g.name) for g in groups],
        )


def _stays_refused(error: LinkedInAdsError) -> bool:
    return error.status in _REFUSED


def _refused_again(earlier: LinkedInAdsError, message: str) -> LinkedInAdsError:
    return LinkedInAdsError(message, earlier.status)


def _account_from(item: AdAccount) -> Account:
    return Account(str(item.id), item.name, item.currency.upper() if item.currency else None, UTC)
