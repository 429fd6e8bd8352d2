"""The TikTok Ads connector: daily synchronous reports of each advertiser (ads, countries, placements and the
advertiser's own totals), the advertisers that authorised the app when none are configured.

One instance serves several threads: the HTTP client is shared (httpx.Client is thread-safe).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from connectors.base import TOTALS_STREAM, Account, Connector, ConnectorSettings, Extracted, Stream, zero_totals
from connectors.kit.accounts import AccountCache, FatalAccounts
from connectors.tiktok_ads.api import (
    INACTIVE_STATUSES,
    MAX_REPORT_DAYS,
    PERMISSION_CODES,
    REPORT_QUERIES,
    TOKEN_CODES,
)
from connectors.tiktok_ads.client import AdvertiserInfo, TikTokClient
from connectors.tiktok_ads.exceptions import TikTokAdsError
from connectors.tiktok_ads.rows import ReportBatch
from connectors.tiktok_ads.schema import REPORT_TABLES
from connectors.tiktok_ads.settings import DEFAULT_LOOKBACK_DAYS, TikTokAdsSettings, check_advertiser_id
from mdp.errors import ConnectorError
from mdp.secrets import resolve_secret

logger = logging.getLogger(__name__)

STREAMS: tuple[Stream, ...] = tuple(Stream(name, spec) for name, spec in REPORT_TABLES.items())


class TikTokAdsConnector(Connector):
    """`type: tiktok_ads`: raw_tiktok_ads.ad_performance (one row per day and ad, the primary stream), the country
    and placement breakdowns and the advertisers' own daily totals."""

    type_name: ClassVar[str] = "tiktok_ads"
    display_name: ClassVar[str] = "TikTok Ads"
    settings_model: ClassVar[type[ConnectorSettings]] = TikTokAdsSettings
    settings: TikTokAdsSettings
    streams: tuple[Stream, ...] = STREAMS
    default_lookback_days: ClassVar[int] = DEFAULT_LOOKBACK_DAYS
    totals_stream: ClassVar[str | None] = TOTALS_STREAM
    dbt_models: ClassVar[Mapping[str, str]] = {
        "ad_performance": "int_tiktok_ads__ad_performance",
        "account_totals": "int_tiktok_ads__account_totals",
        "country": "int_tiktok_ads__country",
        "platform": "int_tiktok_ads__platform",
    }

    def __init__(self, settings: ConnectorSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(settings, sleep=sleep)
        self._client: TikTokClient | None = None
        self._accounts = AccountCache()
        self._fatal: FatalAccounts[TikTokAdsError] = FatalAccounts(_stays_refused, _refused_again)

    def list_accounts(self) -> list[Account]:
        """The configured advertisers, or every active advertiser that authorised the app."""
        return self._accounts.listed(self.settings.accounts, self._discover)

    def _discover(self) -> list[Account]:
        client = self._session()
        assert self.settings.app_id is not None  # the settings require it when no account is listed
        listed = client.authorised_advertisers(self.settings.app_id)
        infos = client.advertiser_info([a.advertiser_id for a in listed]) if listed else []
        found = [_account_from(info) for info in infos if (info.status or "") not in INACTIVE_STATUSES]
        logger.info("TikTok Ads %s: discovered %d advertiser(s) of %d authorised", self.name, len(found), len(listed))
        return found

    def extract(self, stream: str, account: str, start: dt.date, end: dt.date) -> Iterator[Extracted]:
        """Every day of [start, end] for one advertiser and stream: one batch per report.

        Raises:
            TikTokAdsRetryableError: too many requests, system errors, HTTP 5xx, timeouts (after the retries).
            TikTokAdsError: token, permission or parameter errors (the advertiser's other chunks fail at once).
        """
        spec = self.stream(stream).table  # an unknown stream fails before any call
        try:
            advertiser_id = check_advertiser_id(account.strip())
        except ValueError as error:
            raise ConnectorError(f"TikTok Ads {self.name}: account {error}") from None
        if end < start:
            raise ConnectorError(f"TikTok Ads advertiser {advertiser_id}: end {end} is before start {start}")
        self._fatal.raise_if_failed_before(advertiser_id)
        began = time.monotonic()
        client = self._session()
        requests_before = client.requests
        what = f"advertiser {advertiser_id} {stream} {start}..{end}"
        try:
            info = self._account(client, advertiser_id)
            batch = ReportBatch(stream, info, start, end)
            for first, last in report_windows(start, end):
                for rows in client.report_pages(REPORT_QUERIES[stream], advertiser_id, first, last, what):
                    batch.add(rows)
        except TikTokAdsError as error:
            self._fatal.remember(advertiser_id, error)
            raise
        if batch.records or batch.quarantine:
            yield Extracted(batch.collector.table(), batch.quarantine)
        if stream == TOTALS_STREAM:  # the days the report had no row for: zero totals, to reconcile against
            zeros = zero_totals(spec, advertiser_id, start, end, (r["date"] for r in batch.records))
            if zeros.num_rows:
                yield Extracted(zeros)
        logger.info(
            "TikTok Ads %s: %d row(s), %d quarantined; %d request(s), %.1fs",
            what,
            len(batch.records),
            len(batch.quarantine),
            client.requests - requests_before,
            time.monotonic() - began,
        )

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def describe(self) -> dict[str, Any]:
        return super().describe() | {
            "endpoint": self.settings.endpoint or "TikTok's production Business API",
            "app_id": self.settings.app_id,
            "page_size": self.settings.page_size,
        }

    def _session(self) -> TikTokClient:
        with self._lock:
            if self._client is None:
                prefix = f"connectors.{self.name}.credentials"
                refs = self.settings.credentials
                token = resolve_secret(refs["access_token"], key=f"{prefix}.access_token")
                secret = resolve_secret(refs["secret"], key=f"{prefix}.secret") if "secret" in refs else None
                self._client = TikTokClient(self.settings, token, secret, sleep=self._sleep)
            return self._client

    def _account(self, client: TikTokClient, advertiser_id: str) -> Account:
        """The advertiser's name, currency and time zone (read once per connector instance)."""

        def read() -> Account:
            found = [i for i in client.advertiser_info([advertiser_id]) if i.advertiser_id == advertiser_id]
            if not found:
                raise TikTokAdsError(
                    f"TikTok Ads {self.name}: advertiser {advertiser_id} is not visible to this access token "
                    f"(connectors.{self.name}.accounts)"
                )
            return _account_from(found[0])

        return self._accounts.get(advertiser_id, read)


def report_windows(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """[start, end] cut into the longest ranges a daily report accepts (MAX_REPORT_DAYS days)."""
    windows = []
    first = start
    while first <= end:
        last = min(end, first + dt.timedelta(days=MAX_REPORT_DAYS - 1))
        windows.append((first, last))
        first = last + dt.timedelta(days=1)
    return windows


def _stays_refused(error: TikTokAdsError) -> bool:
    return error.code in TOKEN_CODES or error.code in PERMISSION_CODES


def _refused_again(earlier: TikTokAdsError, message: str) -> TikTokAdsError:
    return TikTokAdsError(message, earlier.code)


def _account_from(info: AdvertiserInfo) -> Account:
    currency = (info.currency or "").strip().upper() or None
    return Account(info.advertiser_id, info.name, currency, info.display_timezone or info.timezone)
