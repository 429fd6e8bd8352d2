"""The Google Ads connector: GAQL search_stream per account and date chunk, with bounded retries."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import pyarrow as pa
import requests
from google.ads.googleads.client import GoogleAdsClient
from google.auth.credentials import Credentials as BaseCredentials

from connectors.base import TOTALS_STREAM, Account, Connector, ConnectorSettings, Extracted, Stream, zero_totals
from connectors.google_ads.catalogue import load_catalogue
from connectors.google_ads.custom import CustomRowBuilder, convert, custom_queries, field_info, passthrough_columns
from connectors.google_ads.exceptions import (
    ApiFailure,
    GoogleAdsAPIError,
    GoogleAdsRetryableError,
    classify,
    failure_type,
)
from connectors.google_ads.gaql import CustomQuery
from connectors.google_ads.rows import (
    ChunkBuilder,
    PassthroughReader,
    Row,
    StreamBuilder,
    accessor,
    field_value,
    resource_id,
    row_type,
    stream_response_type,
)
from connectors.google_ads.schema import (
    ACCOUNT_TOTALS,
    AD_GROUP_SNAPSHOT,
    AD_PERFORMANCE,
    AD_SNAPSHOT,
    CAMPAIGN_SNAPSHOT,
    CONVERSION_ACTION_PERFORMANCE,
    CUSTOMER_SNAPSHOT,
    DEVICE_PERFORMANCE,
    GEO_PERFORMANCE,
    KEYWORD_PERFORMANCE,
    SEARCH_TERM_PERFORMANCE,
)
from connectors.google_ads.settings import (
    API_IMPORT_LOCK,
    API_VERSION,
    DEFAULT_LOOKBACK_DAYS,
    OAUTH_SCOPE,
    SERVICE_NAME,
    STREAM_QUERIES,
    GoogleAdsSettings,
    ad_query,
    campaign_query,
    customer_client_query,
    geo_target_query,
    normalize_customer_id,
)
from connectors.kit.custom import CustomColumn, CustomStream
from connectors.kit.retry import GiveUp, Retry, call_with_retries
from connectors.kit.rows import Reason
from mdp.errors import ConfigError, ConnectorError
from mdp.secrets import redact, resolve_secret

logger = logging.getLogger(__name__)
T = TypeVar("T")


GEO_STREAM = "geo_performance"
AD_STREAM = "ad_performance"


@dataclass(frozen=True)
class GeoName:
    """A geo target constant's name and country code."""

    name: str | None
    country_code: str | None


class GoogleAdsConnector(Connector):
    """Google Ads accounts: ad-level daily performance (plus campaign-level spend without ads), keyword,
    search term, geographic, device and conversion action reports, and campaign, ad group, ad and account
    snapshots. One search_stream per stream, account and chunk.

    Thread-safe: the flow runs several (stream, account, chunk) units at once on one instance; they share
    one gRPC channel, built on first use (never at construction), and one cache of geo target names.
    """

    type_name: ClassVar[str] = "google_ads"
    display_name: ClassVar[str] = "Google Ads"
    settings_model: ClassVar[type[ConnectorSettings]] = GoogleAdsSettings
    settings: GoogleAdsSettings
    streams: tuple[Stream, ...] = (
        Stream(AD_STREAM, AD_PERFORMANCE),
        Stream("keyword_performance", KEYWORD_PERFORMANCE),
        Stream("search_term_performance", SEARCH_TERM_PERFORMANCE),
        Stream(GEO_STREAM, GEO_PERFORMANCE),
        Stream("device_performance", DEVICE_PERFORMANCE),
        Stream("conversion_action_performance", CONVERSION_ACTION_PERFORMANCE),
        Stream(TOTALS_STREAM, ACCOUNT_TOTALS),
        Stream("campaign_snapshot", CAMPAIGN_SNAPSHOT, kind="snapshot"),
        Stream("ad_group_snapshot", AD_GROUP_SNAPSHOT, kind="snapshot"),
        Stream("ad_snapshot", AD_SNAPSHOT, kind="snapshot"),
        Stream("customer_snapshot", CUSTOMER_SNAPSHOT, kind="snapshot"),
    )
    default_lookback_days: ClassVar[int] = DEFAULT_LOOKBACK_DAYS
    totals_stream: ClassVar[str | None] = TOTALS_STREAM
    supports_passthrough: ClassVar[bool] = True
    dbt_models: ClassVar[Mapping[str, str]] = {
        "ad_performance": "int_google_ads__ad_performance",
        "account_totals": "int_google_ads__account_totals",
        "keyword": "int_google_ads__keyword",
        "search_term": "int_google_ads__search_term",
        "country": "int_google_ads__country",
        "region": "int_google_ads__region",
        "device": "int_google_ads__device",
        "conversion_action": "int_google_ads__conversion_action",
        "campaign_snapshot": "int_google_ads__campaign_snapshot",
        "ad_group_snapshot": "int_google_ads__ad_group_snapshot",
        "ad_snapshot": "int_google_ads__ad_snapshot",
    }

    def __init__(self, settings: ConnectorSettings) -> None:
        refuse_grpc_tracing(settings.name)
        super().__init__(settings)
        self._auth_lock = threading.Lock()
        self._service: Any = None
        self._credentials: BaseCredentials | None = None
        self._http: requests.Session | None = None
        self._random = random.Random()  # noqa: S311 - backoff jitter, not security
        self._geo_names: dict[int, GeoName] = {}
        self._geo_lock = threading.Lock()

    def custom_streams(self) -> tuple[Stream, ...]:
        """One stream per `custom_queries` entry (raw_google_ads.custom_<name>), its query kept for extract."""
        self._custom_queries: dict[str, tuple[CustomStream, CustomQuery]] = custom_queries(self.settings)
        return tuple(stream for stream, _ in self._custom_queries.values())

    def passthrough_columns(self) -> tuple[CustomColumn, ...]:
        """pt_ columns on ad_performance: each passthrough field a metric selectable with ad_group_ad."""
        self._passthrough: tuple[CustomColumn, ...] = passthrough_columns(self.settings.passthrough_fields)
        return self._passthrough

    def _passthrough_reader(self) -> PassthroughReader | None:
        if not self._passthrough:
            return None
        readers = [(column, field_info(column), accessor(column.source)) for column in self._passthrough]

        def read(row: Any) -> tuple[Row, list[Reason]]:
            values: Row = {}
            problems: list[Reason] = []
            for column, info, get in readers:
                value, problem = convert(column, info, get(row))
                values[column.name] = value
                if problem is not None:
                    problems.append(problem)
            return values, problems

        return read

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        if not self.settings.accounts:
            info["accounts"] = f"discovered under manager {self.settings.discovery_root}"
        info |= {
            "endpoint": self.settings.endpoint or "Google Ads API",
            "api_version": API_VERSION,
            "login_customer_id": self.login_customer_id,
            "auth": self.settings.auth_method,
        }
        return info

    @property
    def login_customer_id(self) -> str | None:
        """Sent as login-customer-id: the configured one, else the manager used for discovery."""
        return self.settings.login_customer_id or self.settings.manager_customer_id

    def list_accounts(self) -> list[Account]:
        if self.settings.accounts:
            return [Account(a) for a in self.settings.accounts]
        root = self.settings.discovery_root
        assert root is not None  # the settings require accounts or a manager
        found: list[Account] = []
        for row in self._stream(root, customer_client_query(), "customer_client discovery"):
            account_id = str(field_value(row, "customer_client.id") or "").zfill(10)
            status = field_value(row, "customer_client.status")
            manager = bool(field_value(row, "customer_client.manager"))
            hidden = bool(field_value(row, "customer_client.hidden"))
            if account_id == root or manager:
                continue
            if status != "ENABLED" or hidden:
                logger.info("google_ads: skipping account %s under %s (status %s)", account_id, root, status)
                continue
            found.append(
                Account(
                    account_id,
                    field_value(row, "customer_client.descriptive_name") or None,
                    field_value(row, "customer_client.currency_code") or None,
                    field_value(row, "customer_client.time_zone") or None,
                )
            )
        logger.info("google_ads: %d enabled client account(s) under manager %s", len(found), root)
        return sorted(found, key=lambda a: a.id)

    def extract(self, stream: str, account: str, start: dt.date, end: dt.date) -> Iterator[Extracted]:
        """One search_stream per stream for the whole chunk (two for ad_performance: ads, then campaigns for
        spend without ads; one more for geo_performance when names are missing); all or nothing."""
        spec = self.stream(stream)  # an unknown stream fails before any call
        try:
            normalize_customer_id(account)
        except ValueError as error:
            raise ConnectorError(f"Google Ads {self.name}: account {error}") from None
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        if spec.kind == "snapshot" and start != end:
            raise ValueError(f"{stream} is a snapshot: ask for one day, not {start}..{end}")
        if stream in self._custom_queries:
            custom, custom_query = self._custom_queries[stream]
            gaql = custom_query.gaql(start, end) if custom_query.report else custom_query.gaql()
            custom_builder = CustomRowBuilder(account, start, end, custom, custom_query)
            for row in self._stream(account, gaql, f"custom query FROM {custom_query.resource}", stream):
                custom_builder.add(row)
            table, quarantine = custom_builder.table(), custom_builder.quarantine
        elif stream == AD_STREAM:
            pt_fields = [c.source for c in self._passthrough]
            with_campaign = load_catalogue().selectable_with("campaign")
            builder = ChunkBuilder(
                account,
                start,
                end,
                spec.table,
                self._passthrough_reader(),
                tuple(c.name for c in self._passthrough if c.additive and c.source in with_campaign),
            )
            for row in self._stream(account, ad_query(start, end, pt_fields), "ad_group_ad stream", stream):
                builder.add_ad_row(row)
            campaign_fields = [f for f in pt_fields if f in with_campaign]
            for row in self._stream(account, campaign_query(start, end, campaign_fields), "campaign stream", stream):
                builder.add_campaign_row(row)
            table, quarantine = builder.table(), builder.quarantine
        else:
            query = STREAM_QUERIES[stream]
            snapshot = spec.kind == "snapshot"
            gaql = query.query() if snapshot else query.query(start, end)
            rows = self._stream(account, gaql, f"{query.resource} stream", stream)
            enrich = self._geo_enricher(account, rows, stream) if stream == GEO_STREAM else None
            stream_builder = StreamBuilder(account, start, end, query, spec.table, snapshot=snapshot, enrich=enrich)
            for row in rows:
                stream_builder.add(row)
            table, quarantine = stream_builder.table(), stream_builder.quarantine
            if stream == TOTALS_STREAM:
                present = table.column(spec.table.date_column).to_pylist()
                table = pa.concat_tables([table, zero_totals(spec.table, account, start, end, present)])
        if quarantine:
            logger.warning(
                "google_ads %s account %s %s..%s: %d row(s) quarantined (%s)",
                stream,
                account,
                start,
                end,
                len(quarantine),
                ", ".join(sorted({q.reason for q in quarantine})),
            )
        yield Extracted(table, quarantine)

    def _geo_enricher(self, account: str, rows: list[Any], stream: str) -> Callable[[Row], None]:
        """Country code and country and region names for geographic_view rows, from geo_target_constant:
        at most one query per extraction, for the ids this connector has not seen yet."""
        wanted: set[int] = set()
        for row in rows:
            for path in ("geographic_view.country_criterion_id", "segments.geo_target_region"):
                found = resource_id(field_value(row, path))
                if found and found.isascii() and found.isdigit():
                    wanted.add(int(found))
        with self._geo_lock:
            missing = wanted - set(self._geo_names)
        if missing:
            found_names: dict[int, GeoName] = {}
            for row in self._stream(account, geo_target_query(missing), "geo_target_constant names", stream):
                target = field_value(row, "geo_target_constant.id")
                found_names[int(target)] = GeoName(
                    field_value(row, "geo_target_constant.name") or None,
                    field_value(row, "geo_target_constant.country_code") or None,
                )
            unknown = missing - set(found_names)
            if unknown:
                logger.warning("google_ads: no geo target constant for id(s) %s", sorted(unknown))
            with self._geo_lock:
                self._geo_names.update(found_names)
        with self._geo_lock:
            names = dict(self._geo_names)

        def enrich(values: Row) -> None:
            country = _name(names, values.get("country_criterion_id"))
            region = _name(names, values.get("region_criterion_id"))
            values["country_code"] = country.country_code if country else None
            values["country_name"] = country.name if country else None
            values["region_name"] = region.name if region else None

        return enrich

    def close(self) -> None:
        with self._lock:
            service, self._service = self._service, None
        with self._auth_lock:
            http, self._http = self._http, None
        if service is not None:
            service.transport.close()
        if http is not None:
            http.close()

    def _stream(self, customer_id: str, query: str, what: str, stream: str | None = None) -> list[Any]:
        """Every row of one search_stream (raw protobuf GoogleAdsRow), the call retried as a whole."""
        service = self._get_service()
        response_type = stream_response_type()
        timeout = self.settings.request_timeout_seconds

        def attempt() -> list[Any]:
            self._refresh_credentials()
            rows: list[Any] = []
            # Keep the stream (and the service) referenced while iterating: see API_NOTES.
            stream = service.search_stream(customer_id=customer_id, query=query, timeout=timeout)
            for batch in stream:
                rows.extend(response_type.pb(batch).results)
            return rows

        label = f"{stream} account" if stream else "account"
        rows = self._with_retries(customer_id, f"{label} {customer_id}: {what}", attempt)
        logger.debug("google_ads account %s: %s returned %d row(s)", customer_id, what, len(rows))
        return rows

    def _with_retries(self, account: str, what: str, call: Callable[[], T]) -> T:
        """Run `call`, retrying retryable API errors; `what` names the call in messages."""
        where = f"google_ads {what} failed"

        def verdict(exc: Exception) -> Retry | BaseException:
            failure = classify(exc)
            if failure is None:
                return exc
            if not failure.retryable:
                return GoogleAdsAPIError(
                    self._message(where, failure, _fatal_hint(failure)), account=account, failure=failure
                )
            return Retry(failure.retry_delay, redact(failure.describe()))

        def give_up(exc: Exception, stop: GiveUp) -> BaseException:
            failure = classify(exc)
            assert failure is not None  # only retryable API errors are retried
            reason = (
                f"the API asks to wait {failure.retry_delay:g}s, over max_delay_seconds"
                if stop.too_long
                else f"still failing after {stop.attempts} attempt(s)"
            )
            return GoogleAdsRetryableError(
                self._message(where, failure, reason), account=account, failure=failure, retry_after=failure.retry_delay
            )

        return call_with_retries(
            call,
            classify=verdict,
            policy=self.settings.retry.policy(),
            what=where,
            give_up=give_up,
            sleep=self._sleep,
            draw=self._random.random,
        )

    @staticmethod
    def _message(where: str, failure: ApiFailure, hint: str) -> str:
        return redact(f"{where}: {failure.describe()} [{hint}]")

    def _get_service(self) -> Any:
        with self._lock:
            if self._service is None:
                self._service = self._new_service()
            return self._service

    def _new_service(self) -> Any:
        """The GoogleAdsService client, with the proto modules the units parse rows and failures with imported
        before any unit needs them, under the import lock (settings.API_IMPORT_LOCK)."""
        with API_IMPORT_LOCK:
            client = GoogleAdsClient(
                credentials=self._get_credentials(),
                developer_token=self._secret("developer_token"),
                login_customer_id=self.login_customer_id,
                endpoint=self.settings.endpoint,
                use_proto_plus=True,
                version=API_VERSION,
            )
            service = client.get_service(SERVICE_NAME, version=API_VERSION)
            row_type()
            stream_response_type()
            failure_type()
            return service

    def _get_credentials(self) -> BaseCredentials:
        if self._credentials is None:
            self._credentials = self._build_credentials()
        return self._credentials

    def _build_credentials(self) -> BaseCredentials:
        """google-auth credentials from the configured references; no call to Google here."""
        method = self.settings.auth_method
        if method == "access_token":
            from google.oauth2.credentials import Credentials

            return Credentials(token=self._secret("access_token"))  # type: ignore[no-untyped-call]
        if method == "oauth":
            from google.oauth2.credentials import Credentials

            return Credentials(  # type: ignore[no-untyped-call]
                token=None,
                refresh_token=self._secret("refresh_token"),
                client_id=self._secret("client_id"),
                client_secret=self._secret("client_secret"),
                token_uri=self.settings.token_uri,
                scopes=[OAUTH_SCOPE],
            )
        from google.oauth2 import service_account

        key = self._secret("service_account_key")
        try:
            info = json.loads(key)
        except json.JSONDecodeError:
            raise ConfigError(
                f"connectors.{self.name}.credentials.service_account_key: not a JSON service account key"
            ) from None
        try:
            return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call,no-any-return]
                info, scopes=[OAUTH_SCOPE], subject=self.settings.impersonated_email
            )
        except (ValueError, KeyError) as exc:
            raise ConfigError(
                f"connectors.{self.name}.credentials.service_account_key: unusable service account key "
                f"({type(exc).__name__})"
            ) from None

    def _refresh_credentials(self) -> None:
        """Fetch an access token before the call (once, shared by every thread) when one is needed."""
        credentials = self._get_credentials()
        if credentials.valid:
            return
        with self._auth_lock:
            if credentials.valid:
                return
            from google.auth.transport.requests import Request

            if self._http is None:
                self._http = requests.Session()
            credentials.refresh(Request(self._http))  # type: ignore[no-untyped-call]

    def _secret(self, key: str) -> str:
        reference = self.settings.credentials[key]
        return resolve_secret(reference, key=f"connectors.{self.name}.credentials.{key}").get_secret_value()


GRPC_TRACE_ENV = "GRPC_TRACE"


def refuse_grpc_tracing(name: str) -> None:
    """gRPC core tracing (GRPC_TRACE, e.g. `api` or `http`) prints request metadata, the developer token
    and the OAuth token included, straight to stderr, where no Python log redaction can reach it.

    Raises:
        ConfigError: while GRPC_TRACE is set to anything but empty or "none".
    """
    trace = os.environ.get(GRPC_TRACE_ENV, "").strip()
    if trace and trace.lower() not in {"none", "-all"}:
        raise ConfigError(
            f"connectors.{name}: {GRPC_TRACE_ENV}={trace} would print the Google Ads developer token and access "
            f"token to stderr (gRPC core tracing bypasses log redaction); unset {GRPC_TRACE_ENV} to run this connector"
        )


def _name(names: dict[int, GeoName], criterion: str | None) -> GeoName | None:
    return names.get(int(criterion)) if criterion and criterion.isascii() and criterion.isdigit() else None


def _fatal_hint(failure: ApiFailure) -> str:
    errors = set(failure.errors)
    if "quota_error.RESOURCE_EXHAUSTED" in errors:
        return "daily quota exhausted: not retried; it resets at midnight Pacific time"
    if failure.status == "UNAUTHENTICATED" or any(e.startswith("authentication_error") for e in errors):
        return "authentication failed: check the connector's credentials; not retried"
    if failure.status == "PERMISSION_DENIED" or any(e.startswith("authorization_error") for e in errors):
        return "permission denied: check account access and login_customer_id; not retried"
    return "not retryable"
