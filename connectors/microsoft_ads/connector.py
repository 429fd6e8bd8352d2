"""The Microsoft Advertising connector: daily Reporting service reports of each account (ads, keywords, search
queries, geography, devices), the accounts found under the customer when none are configured.

One instance serves several threads: every `extract` call opens its own session.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import SecretStr

from connectors.base import TOTALS_STREAM, Account, Connector, ConnectorSettings, Extracted, Stream, zero_totals
from connectors.kit.accounts import AccountCache, FatalAccounts
from connectors.kit.custom import CustomColumn, CustomStream, custom_stream
from connectors.microsoft_ads import custom
from connectors.microsoft_ads.api import METRIC_KINDS
from connectors.microsoft_ads.exceptions import MicrosoftAdsError
from connectors.microsoft_ads.rows import FIELDS, BadReport, ReportBatch, ReportLayout
from connectors.microsoft_ads.schema import REPORT_TABLES
from connectors.microsoft_ads.settings import (
    CUSTOMER_SERVICE,
    DEFAULT_LOOKBACK_DAYS,
    PERMISSION_CODES,
    REPORT_QUERIES,
    TIME_ZONES,
    TOKEN_CODES,
    MicrosoftAdsSettings,
    ReportQuery,
    check_account_id,
)
from mdp.errors import ConnectorError
from mdp.secrets import resolve_secret

if TYPE_CHECKING:
    from connectors.microsoft_ads.client import Credentials, Session

logger = logging.getLogger(__name__)

STREAMS: tuple[Stream, ...] = tuple(Stream(name, spec) for name, spec in REPORT_TABLES.items())
INACTIVE_STATUSES = frozenset({"Inactive", "Draft"})
PAGE_SIZE = 1000
CHANNEL = "microsoft_ads"
PRIMARY_STREAM = "ad_performance"
# Report columns -> (raw column, kind) of the columns every custom report requests.
_CUSTOM_KEY_FIELDS = {name: FIELDS[name] for name in ("TimePeriod", "AccountId", "CurrencyCode")}


class MicrosoftAdsConnector(Connector):
    """`type: microsoft_ads`: raw_microsoft_ads.ad_performance (one row per day and ad, the primary stream) and
    the keyword, search query, geographic and device reports; the configuration's `custom_reports` (one raw
    table each) and passthrough fields (pt_ columns of ad_performance)."""

    type_name: ClassVar[str] = "microsoft_ads"
    display_name: ClassVar[str] = "Microsoft Ads"
    settings_model: ClassVar[type[ConnectorSettings]] = MicrosoftAdsSettings
    settings: MicrosoftAdsSettings
    streams: tuple[Stream, ...] = STREAMS
    default_lookback_days: ClassVar[int] = DEFAULT_LOOKBACK_DAYS
    totals_stream: ClassVar[str | None] = TOTALS_STREAM
    supports_passthrough: ClassVar[bool] = True
    dbt_models: ClassVar[Mapping[str, str]] = {
        "ad_performance": "int_microsoft_ads__ad_performance",
        "account_totals": "int_microsoft_ads__account_totals",
        "keyword": "int_microsoft_ads__keyword",
        "search_term": "int_microsoft_ads__search_term",
        "country": "int_microsoft_ads__country",
        "region": "int_microsoft_ads__region",
        "device": "int_microsoft_ads__device",
    }

    def __init__(
        self,
        settings: ConnectorSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(settings, sleep=sleep, clock=clock)
        self._credentials: Credentials | None = None
        self._accounts = AccountCache()
        self._fatal: FatalAccounts[MicrosoftAdsError] = FatalAccounts(_stays_refused, _refused_again)

    def custom_streams(self) -> tuple[Stream, ...]:
        """One raw table per `custom_reports` entry (validated with the settings, against the SDK's WSDL)."""
        return tuple(
            custom_stream(
                CHANNEL,
                report.name,
                custom.custom_columns(report),
                description=f"Microsoft Advertising {report.report.name} (Aggregation=Daily) of the columns "
                f"{', '.join(report.requested)}: one row per day x account x the attribute columns "
                f"(custom_reports {report.name!r} of connector {self.name!r}).",
                where=f"connectors.{self.name}.custom_reports[{index}]",
            )
            for index, report in enumerate(self.settings.custom_reports)
        )

    def passthrough_columns(self) -> tuple[CustomColumn, ...]:
        """The pt_ columns of `passthrough_fields`: AdPerformanceReport statistics requested with ad_performance."""
        return custom.passthrough_columns(self.settings.passthrough_fields, REPORT_QUERIES[PRIMARY_STREAM].columns)

    def report(self, stream: str) -> tuple[ReportQuery, ReportLayout]:
        """What the Reporting service is asked for on `stream` and how its file becomes records: a built-in report
        (ad_performance with the passthrough fields), or a custom report."""
        spec = self.stream(stream)
        if isinstance(spec, CustomStream):
            entry = next(r for r in self.settings.custom_reports if f"custom_{r.name}" == stream)
            fields = dict(_CUSTOM_KEY_FIELDS)
            for column in spec.columns:
                fields[column.source] = (column.name, _custom_kind(column))
            query = ReportQuery(entry.report_type, entry.report.scope_type, entry.requested)
            return query, ReportLayout(query.columns, fields, spec.table, spec.key)
        query = REPORT_QUERIES[stream]
        if stream != PRIMARY_STREAM or not self.settings.passthrough_fields:
            return query, ReportLayout(query.columns, FIELDS, spec.table)
        extra = self.passthrough_columns()
        fields = {**FIELDS, **{c.source: (c.name, _custom_kind(c)) for c in extra}}
        query = ReportQuery(query.request_type, query.scope_type, (*query.columns, *(c.source for c in extra)))
        return query, ReportLayout(query.columns, fields, spec.table)

    def list_accounts(self) -> list[Account]:
        """The configured accounts, or every active account of the customer (SearchAccounts)."""
        return self._accounts.listed(self.settings.accounts, self._discover)

    def _discover(self) -> list[Account]:
        session = self._session()
        searched = self._search(session, "CustomerId", self.settings.customer_id, "list the customer's accounts")
        found = [a for a, status in searched if status not in INACTIVE_STATUSES]
        logger.info("Microsoft Ads %s: discovered %d account(s)", self.name, len(found))
        return found

    def extract(self, stream: str, account: str, start: dt.date, end: dt.date) -> Iterator[Extracted]:
        """Every day of [start, end] for one account and stream: one batch per report.

        Raises:
            MicrosoftAdsRetryableError: throttling, internal errors, a report in status Error or not ready in time.
            MicrosoftAdsError: token, permission or request errors (the account's other chunks fail at once).
        """
        spec = self.stream(stream).table  # an unknown stream fails before any call
        query, layout = self.report(stream)
        try:
            account_id = check_account_id(account.strip())
        except ValueError as error:
            raise ConnectorError(f"Microsoft Ads {self.name}: account {error}") from None
        if end < start:
            raise ConnectorError(f"Microsoft Ads account {account_id}: end {end} is before start {start}")
        self._fatal.raise_if_failed_before(account_id)
        began = self._clock()
        session = self._session()
        try:
            info = self._account(session, account_id)
            from connectors.microsoft_ads.reports import ReportRunner  # the SDK, on first use (see _session)

            runner = ReportRunner(session, self.settings, account_id, sleep=self._sleep, clock=self._clock)
            text = runner.csv(stream, start, end, query)
        except MicrosoftAdsError as error:
            self._fatal.remember(account_id, error)
            raise
        batch = ReportBatch(stream, info, start, end, layout)
        if text is not None:
            try:
                batch.add(text)
            except BadReport as error:
                raise MicrosoftAdsError(f"Microsoft Ads account {account_id} {stream}: {error}") from None
        if batch.records or batch.quarantine:
            yield Extracted(batch.collector.table(), batch.quarantine)
        if stream == TOTALS_STREAM:  # the days the report had no row for: zero totals, to reconcile against
            zeros = zero_totals(spec, account_id, start, end, (r["date"] for r in batch.records))
            if zeros.num_rows:
                yield Extracted(zeros)
        logger.info(
            "Microsoft Ads account %s %s %s..%s: %d row(s), %d quarantined (%s); %d request(s), %d poll(s), %.1fs",
            account_id,
            stream,
            start,
            end,
            len(batch.records),
            len(batch.quarantine),
            ", ".join(batch.skipped) or "no header or footer lines",
            session.requests,
            runner.polls,
            self._clock() - began,
        )

    def describe(self) -> dict[str, Any]:
        return super().describe() | {
            "customer_id": self.settings.customer_id,
            "endpoint": self.settings.endpoint or "Microsoft's production services",
            "token_url": self.settings.token_url,
        }

    def _session(self) -> Session:
        # The SDK parses a WSDL when first imported (bingads.service_client, about a second): imported on first
        # use, so that listing connector types and their raw tables (dbt sources, `mdp check`) stays fast.
        from connectors.microsoft_ads.client import Session

        return Session(self.settings, self._secrets())

    def _secrets(self) -> Credentials:
        from connectors.microsoft_ads.client import Credentials

        with self._lock:
            if self._credentials is None:
                prefix = f"connectors.{self.name}.credentials"
                refs = self.settings.credentials

                def read(key: str) -> SecretStr:
                    return resolve_secret(refs[key], key=f"{prefix}.{key}")

                self._credentials = Credentials(
                    read("refresh_token"),
                    read("client_id"),
                    read("developer_token"),
                    read("client_secret") if "client_secret" in refs else None,
                )
            return self._credentials

    def _account(self, session: Session, account_id: str) -> Account:
        """The account's name, currency and time zone (read once per connector instance)."""

        def read() -> Account:
            found = self._search(session, "AccountId", account_id, f"read account {account_id}")
            if not found:
                raise MicrosoftAdsError(
                    f"Microsoft Ads {self.name}: account {account_id} is not visible to this user under customer "
                    f"{self.settings.customer_id} (connectors.{self.name}.accounts)"
                )
            return found[0][0]

        return self._accounts.get(account_id, read)

    def _search(self, session: Session, field: str, value: str, what: str) -> list[tuple[Account, str]]:
        """SearchAccounts with one Equals predicate, every page: (account, AccountLifeCycleStatus)."""
        service = session.service(CUSTOMER_SERVICE)
        found: list[tuple[Account, str]] = []
        index = 0
        while True:
            answer = session.call(
                service,
                "SearchAccounts",
                what,
                Predicates={"Predicate": [{"Field": field, "Operator": "Equals", "Value": value}]},
                Ordering=None,
                PageInfo={"Index": index, "Size": PAGE_SIZE},
            )
            items = getattr(answer, "AdvertiserAccount", None) or []
            for item in items:
                found.append((_account_from(item), str(getattr(item, "AccountLifeCycleStatus", "") or "")))
            if len(items) < PAGE_SIZE:
                return found
            index += 1


def _custom_kind(column: CustomColumn) -> str:
    """How rows.parse_row reads a custom column: a statistic by its kind, an id attribute as an id, else text."""
    kind = METRIC_KINDS.get(column.source)
    if kind is not None:
        return kind
    known = FIELDS.get(column.source)
    return known[1] if known is not None and known[1] in ("id", "text") else "text"


def _stays_refused(error: MicrosoftAdsError) -> bool:
    return error.code in TOKEN_CODES or error.code in PERMISSION_CODES


def _refused_again(earlier: MicrosoftAdsError, message: str) -> MicrosoftAdsError:
    return MicrosoftAdsError(message, earlier.code)


def _account_from(item: Any) -> Account:
    def text(key: str) -> str | None:
        value = getattr(item, key, None)
        return str(value) if value not in (None, "") else None

    zone = text("TimeZone")
    return Account(str(item.Id), text("Name"), text("CurrencyCode"), TIME_ZONES.get(zone or "", zone))
