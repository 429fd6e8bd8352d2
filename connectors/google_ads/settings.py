"""Google Ads connector settings: API version, GAQL fields, defaults and the configuration model."""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from connectors.base import ConnectorSettings
from connectors.kit.retry import RetryPolicy
from connectors.kit.settings import listed_once
from mdp.config import StrictScalars
from mdp.identifiers import ascii_digits

API_VERSION = "v26"
SERVICE_NAME = "GoogleAdsService"
FAILURE_METADATA_KEY = f"google.ads.googleads.{API_VERSION}.errors.googleadsfailure-bin"
ERRORS_MODULE = f"google.ads.googleads.{API_VERSION}.errors.types.errors"
SERVICE_TYPES_MODULE = f"google.ads.googleads.{API_VERSION}.services.types.google_ads_service"
# The client's proto modules import each other lazily; two threads importing them at once can meet Python's
# import deadlock detection (_DeadlockError on google.ads.googleads.<version>.services.types). Every lazy import
# of them (and the client's get_service, which imports its own) takes this lock.
API_IMPORT_LOCK = threading.RLock()


def import_api_module(name: str) -> Any:
    """importlib.import_module of a google-ads proto module, one thread at a time."""
    with API_IMPORT_LOCK:
        return importlib.import_module(name)


REQUEST_ID_METADATA_KEY = "request-id"
OAUTH_SCOPE = "https://www.googleapis.com/auth/adwords"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret

DEFAULT_LOOKBACK_DAYS = 14  # Google Ads conversions keep arriving for about two weeks (Airbyte re-reads 14)
DEFAULT_REQUEST_TIMEOUT_SECONDS = 300.0  # one search_stream call, the whole stream included
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_INITIAL_DELAY_SECONDS = 1.0
DEFAULT_MAX_DELAY_SECONDS = 60.0
DEFAULT_MULTIPLIER = 2.0
DEFAULT_JITTER = 0.5

ROW_LEVEL_AD = "ad"
ROW_LEVEL_CAMPAIGN = "campaign"

# raw column -> GAQL field, for the ad-level query (FROM ad_group_ad). Order is the SELECT order.
AD_COLUMN_FIELDS: dict[str, str] = {
    "date": "segments.date",
    "customer_id": "customer.id",
    "customer_name": "customer.descriptive_name",
    "currency_code": "customer.currency_code",
    "account_timezone": "customer.time_zone",
    "campaign_id": "campaign.id",
    "campaign_name": "campaign.name",
    "campaign_status": "campaign.status",
    "campaign_channel_type": "campaign.advertising_channel_type",
    "ad_group_id": "ad_group.id",
    "ad_group_name": "ad_group.name",
    "ad_id": "ad_group_ad.ad.id",
    "impressions": "metrics.impressions",
    "clicks": "metrics.clicks",
    "cost_micros": "metrics.cost_micros",
    "conversions": "metrics.conversions",
    "conversions_value": "metrics.conversions_value",
    "view_through_conversions": "metrics.view_through_conversions",
}
_AD_ONLY_COLUMNS = ("ad_group_id", "ad_group_name", "ad_id")
# The campaign-level query (FROM campaign) carries spend that has no ad rows (Performance Max, ...).
CAMPAIGN_COLUMN_FIELDS: dict[str, str] = {
    column: path for column, path in AD_COLUMN_FIELDS.items() if column not in _AD_ONLY_COLUMNS
}
METRIC_COLUMNS: tuple[str, ...] = tuple(c for c, p in AD_COLUMN_FIELDS.items() if p.startswith("metrics."))
INTEGER_METRICS = frozenset({"impressions", "clicks", "cost_micros", "view_through_conversions"})
ID_COLUMNS_AD = ("customer_id", "campaign_id", "ad_group_id", "ad_id")
ID_COLUMNS_CAMPAIGN = ("customer_id", "campaign_id")

# The other streams: raw column -> GAQL field of one query per stream (several columns may read one field;
# the SELECT lists each field once). Id columns read from a resource name keep its last id.
_METRIC_FIELDS: dict[str, str] = {
    "impressions": "metrics.impressions",
    "clicks": "metrics.clicks",
    "cost_micros": "metrics.cost_micros",
    "conversions": "metrics.conversions",
    "conversions_value": "metrics.conversions_value",
}


@dataclass(frozen=True)
class StreamQuery:
    """One stream's GAQL: FROM `resource`, its columns' fields, the ids a row needs and its grain."""

    resource: str
    columns: Mapping[str, str]
    id_columns: tuple[str, ...]
    key_columns: tuple[str, ...]
    # columns not read from the API: filled from geo_target_constant names
    enriched: tuple[str, ...] = ()

    @property
    def fields(self) -> list[str]:
        return list(dict.fromkeys(self.columns.values()))

    def query(self, start: dt.date | None = None, end: dt.date | None = None) -> str:
        """GAQL between two days (a report), or without a date (a snapshot: the entities now)."""
        if start is None or end is None:
            return f"SELECT {', '.join(self.fields)} FROM {self.resource}"
        return _query(self.fields, self.resource, start, end)


STREAM_QUERIES: dict[str, StreamQuery] = {
    "keyword_performance": StreamQuery(
        "keyword_view",
        {
            "date": "segments.date",
            "customer_id": "customer.id",
            "campaign_id": "campaign.id",
            "campaign_name": "campaign.name",
            "ad_group_id": "ad_group.id",
            "ad_group_name": "ad_group.name",
            "criterion_id": "ad_group_criterion.criterion_id",
            "keyword_text": "ad_group_criterion.keyword.text",
            "match_type": "ad_group_criterion.keyword.match_type",
            **_METRIC_FIELDS,
        },
        ("customer_id", "campaign_id", "ad_group_id", "criterion_id"),
        ("date", "ad_group_id", "criterion_id"),
    ),
    "search_term_performance": StreamQuery(
        "search_term_view",
        {
            "date": "segments.date",
            "customer_id": "customer.id",
            "campaign_id": "campaign.id",
            "ad_group_id": "ad_group.id",
            "criterion_id": "segments.keyword.ad_group_criterion",
            "keyword_text": "segments.keyword.info.text",
            "search_term": "search_term_view.search_term",
            "search_term_status": "search_term_view.status",
            **_METRIC_FIELDS,
        },
        ("customer_id", "campaign_id", "ad_group_id"),
        ("date", "ad_group_id", "criterion_id", "search_term"),
    ),
    "geo_performance": StreamQuery(
        "geographic_view",
        {
            "date": "segments.date",
            "customer_id": "customer.id",
            "campaign_id": "campaign.id",
            "campaign_name": "campaign.name",
            "country_criterion_id": "geographic_view.country_criterion_id",
            "region_criterion_id": "segments.geo_target_region",
            "location_type": "geographic_view.location_type",
            **_METRIC_FIELDS,
        },
        ("customer_id", "campaign_id", "country_criterion_id"),
        ("date", "campaign_id", "country_criterion_id", "location_type", "region_criterion_id"),
        enriched=("country_code", "country_name", "region_name"),
    ),
    "device_performance": StreamQuery(
        "campaign",
        {
            "date": "segments.date",
            "customer_id": "customer.id",
            "campaign_id": "campaign.id",
            "campaign_name": "campaign.name",
            "device": "segments.device",
            **_METRIC_FIELDS,
        },
        ("customer_id", "campaign_id"),
        ("date", "campaign_id", "device"),
    ),
    "conversion_action_performance": StreamQuery(
        "campaign",
        {
            "date": "segments.date",
            "customer_id": "customer.id",
            "campaign_id": "campaign.id",
            "conversion_action_id": "segments.conversion_action",
            "conversion_action_name": "segments.conversion_action_name",
            "conversion_action_category": "segments.conversion_action_category",
            "conversions": "metrics.conversions",
            "conversions_value": "metrics.conversions_value",
            "all_conversions": "metrics.all_conversions",
            "all_conversions_value": "metrics.all_conversions_value",
        },
        ("customer_id", "campaign_id", "conversion_action_id"),
        ("date", "campaign_id", "conversion_action_id"),
    ),
    "account_totals": StreamQuery(
        "customer",
        {
            "date": "segments.date",
            "customer_id": "customer.id",
            "currency_code": "customer.currency_code",
            **_METRIC_FIELDS,
        },
        ("customer_id",),
        ("date",),
    ),
    "campaign_snapshot": StreamQuery(
        "campaign",
        {
            "customer_id": "customer.id",
            "campaign_id": "campaign.id",
            "campaign_name": "campaign.name",
            "campaign_status": "campaign.status",
            "advertising_channel_type": "campaign.advertising_channel_type",
            "bidding_strategy_type": "campaign.bidding_strategy_type",
            "budget_id": "campaign_budget.id",
            "budget_amount_micros": "campaign_budget.amount_micros",
            "budget_period": "campaign_budget.period",
            "start_date": "campaign.start_date_time",
            "end_date": "campaign.end_date_time",
        },
        ("customer_id", "campaign_id"),
        ("campaign_id",),
    ),
    "ad_group_snapshot": StreamQuery(
        "ad_group",
        {
            "customer_id": "customer.id",
            "ad_group_id": "ad_group.id",
            "ad_group_name": "ad_group.name",
            "ad_group_status": "ad_group.status",
            "ad_group_type": "ad_group.type",
            "campaign_id": "campaign.id",
            "cpc_bid_micros": "ad_group.cpc_bid_micros",
        },
        ("customer_id", "ad_group_id", "campaign_id"),
        ("ad_group_id",),
    ),
    "ad_snapshot": StreamQuery(
        "ad_group_ad",
        {
            "customer_id": "customer.id",
            "ad_id": "ad_group_ad.ad.id",
            "ad_group_id": "ad_group.id",
            "campaign_id": "campaign.id",
            "ad_status": "ad_group_ad.status",
            "ad_type": "ad_group_ad.ad.type",
            "ad_name": "ad_group_ad.ad.name",
            "final_urls": "ad_group_ad.ad.final_urls",
            "final_url": "ad_group_ad.ad.final_urls",
        },
        ("customer_id", "ad_id", "ad_group_id", "campaign_id"),
        ("ad_group_id", "ad_id"),
    ),
    "customer_snapshot": StreamQuery(
        "customer",
        {
            "customer_id": "customer.id",
            "customer_name": "customer.descriptive_name",
            "currency_code": "customer.currency_code",
            "account_timezone": "customer.time_zone",
            "status": "customer.status",
            "manager": "customer.manager",
        },
        ("customer_id",),
        ("customer_id",),
    ),
}
# Repeated fields: these columns keep the first value; other columns hold the list as a JSON array.
FIRST_VALUE_COLUMNS = frozenset({"final_url"})
# Names of the geo targets the geographic_view rows point at (one query per extraction, cached).
GEO_TARGET_FIELDS: tuple[str, ...] = (
    "geo_target_constant.id",
    "geo_target_constant.name",
    "geo_target_constant.country_code",
    "geo_target_constant.target_type",
)

# Manager (MCC) discovery: every account below the manager, filtered in Python (enabled, not manager).
CUSTOMER_CLIENT_FIELDS: tuple[str, ...] = (
    "customer_client.id",
    "customer_client.descriptive_name",
    "customer_client.currency_code",
    "customer_client.time_zone",
    "customer_client.manager",
    "customer_client.status",
    "customer_client.level",
    "customer_client.hidden",
)


def ad_query(start: dt.date, end: dt.date, extra: Iterable[str] = ()) -> str:
    """GAQL for ad-level daily metrics of one account between two ISO dates (inclusive), plus `extra`
    (validated passthrough metrics)."""
    return _query(dict.fromkeys([*AD_COLUMN_FIELDS.values(), *extra]), "ad_group_ad", start, end)


def campaign_query(start: dt.date, end: dt.date, extra: Iterable[str] = ()) -> str:
    """GAQL for campaign-level daily metrics (all spend, Performance Max included), plus `extra`."""
    return _query(dict.fromkeys([*CAMPAIGN_COLUMN_FIELDS.values(), *extra]), "campaign", start, end)


def customer_client_query() -> str:
    """GAQL listing the accounts under a manager (no metrics: never query metrics on a manager)."""
    return f"SELECT {', '.join(CUSTOMER_CLIENT_FIELDS)} FROM customer_client"


def geo_target_query(ids: Iterable[int]) -> str:
    """GAQL for the names of some geo target constants (countries, regions)."""
    listed = ", ".join(str(i) for i in sorted(set(ids)))
    return f"SELECT {', '.join(GEO_TARGET_FIELDS)} FROM geo_target_constant WHERE geo_target_constant.id IN ({listed})"


def _query(fields: Iterable[str], resource: str, start: dt.date, end: dt.date) -> str:
    return (
        f"SELECT {', '.join(fields)} FROM {resource} "
        f"WHERE segments.date BETWEEN '{start.isoformat()}' AND '{end.isoformat()}'"
    )


_ENDPOINT = r"^[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5}$"
AUTH_KEYS = {
    "access_token": frozenset({"access_token"}),
    "oauth": frozenset({"client_id", "client_secret", "refresh_token"}),
    "service_account": frozenset({"service_account_key"}),
}
CREDENTIAL_KEYS = frozenset({"developer_token"}).union(*AUTH_KEYS.values())


def normalize_customer_id(value: str) -> str:
    """'123-456-7890' -> '1234567890'.

    Raises:
        ValueError: when the result is not 10 ASCII digits.
    """
    cleaned = value.strip().replace("-", "") if isinstance(value, str) else value
    return ascii_digits(
        cleaned, "a 10-digit Google Ads customer id (ASCII digits, dashes allowed)", length=10, shown=value
    )


CustomerId = Annotated[str, AfterValidator(normalize_customer_id)]


class RetrySettings(StrictScalars):
    """In-connector retries of one API call (quota, INTERNAL, UNAVAILABLE, deadline exceeded)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(DEFAULT_MAX_ATTEMPTS, ge=1, le=20, description="attempts per call, first included")
    initial_delay_seconds: float = Field(DEFAULT_INITIAL_DELAY_SECONDS, ge=0, le=600)
    max_delay_seconds: float = Field(
        DEFAULT_MAX_DELAY_SECONDS,
        ge=0,
        le=3600,
        description="cap of one wait; a longer retry_delay asked by the API ends the retries at once",
    )
    multiplier: float = Field(DEFAULT_MULTIPLIER, ge=1, le=10)
    jitter: float = Field(DEFAULT_JITTER, ge=0, le=1, description="each backoff wait is cut by up to this share")

    def policy(self) -> RetryPolicy:
        """A retry_delay over `max_delay_seconds` ends the retries at once: the flow's unit retry waits it."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            initial_delay=self.initial_delay_seconds,
            max_delay=self.max_delay_seconds,
            multiplier=self.multiplier,
            jitter=self.jitter,
            max_wait=self.max_delay_seconds,
        )


class CustomQuerySettings(StrictScalars):
    """One `custom_queries` entry: a GAQL query as written in the Ads query builder, landed as
    raw_google_ads.custom_<name>. The query is parsed and checked against the bundled field catalogue here,
    so a bad one fails `mdp check` naming connectors[i].custom_queries[j].query."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="lower_snake_case; the table is custom_<name>")
    query: str = Field(min_length=1, max_length=10_000, description="SELECT ... FROM ... [WHERE ...] (GAQL)")

    @field_validator("query")
    @classmethod
    def _valid_gaql(cls, query: str) -> str:
        from connectors.google_ads.gaql import GaqlError, custom_query  # gaql reads this module's constants

        try:
            custom_query(query)
        except GaqlError as error:
            raise ValueError(str(error)) from None
        return query


class GoogleAdsSettings(ConnectorSettings):
    """The `type: google_ads` section of pipeline.yaml."""

    type: Literal["google_ads"] = "google_ads"
    endpoint: str | None = Field(
        None, pattern=_ENDPOINT, description="'host:port' of the API; absent means the real Google Ads API"
    )
    accounts: list[CustomerId] = Field(default_factory=list)
    login_customer_id: CustomerId | None = Field(None, description="manager account sent as login-customer-id")
    manager_customer_id: CustomerId | None = Field(
        None, description="discover the enabled client accounts of this manager when `accounts` is empty"
    )
    token_uri: str = Field(DEFAULT_TOKEN_URI, description="OAuth token endpoint (refresh-token credentials)")
    impersonated_email: str | None = Field(
        None, description="user a service account acts for (domain-wide delegation), if any"
    )
    request_timeout_seconds: float = Field(DEFAULT_REQUEST_TIMEOUT_SECONDS, gt=0, le=3600)
    retry: RetrySettings = Field(default_factory=lambda: RetrySettings())
    custom_queries: list[CustomQuerySettings] = Field(
        default_factory=list, description="GAQL queries of your own, each landed as raw_google_ads.custom_<name>"
    )

    @field_validator("custom_queries")
    @classmethod
    def _unique_query_names(cls, queries: list[CustomQuerySettings]) -> list[CustomQuerySettings]:
        names = [q.name for q in queries]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"custom query name(s) {twice} listed twice; each lands as its own table")
        return queries

    @field_validator("accounts")
    @classmethod
    def _unique_accounts(cls, accounts: list[str]) -> list[str]:
        return list(listed_once(accounts, "accounts"))

    @model_validator(mode="after")
    def _check(self) -> GoogleAdsSettings:
        if not self.accounts and not self.discovery_root:
            raise ValueError(
                "set `accounts` (customer ids) or `manager_customer_id` (or `login_customer_id`) "
                "to discover the manager's client accounts"
            )
        unknown = sorted(set(self.credentials) - CREDENTIAL_KEYS)
        if unknown:
            raise ValueError(f"credentials: unknown key(s) {unknown}; known: {sorted(CREDENTIAL_KEYS)}")
        if "developer_token" not in self.credentials:
            raise ValueError("credentials: developer_token is required")
        methods = [m for m, keys in AUTH_KEYS.items() if keys & set(self.credentials)]
        if len(methods) != 1:
            raise ValueError(
                "credentials: give exactly one of access_token; client_id + client_secret + refresh_token; "
                f"service_account_key (got {methods or 'none'})"
            )
        missing = sorted(AUTH_KEYS[methods[0]] - set(self.credentials))
        if missing:
            raise ValueError(f"credentials: {methods[0]} credentials also need {missing}")
        return self

    @property
    def discovery_root(self) -> str | None:
        """The manager whose client accounts are discovered when no account is listed."""
        return self.manager_customer_id or self.login_customer_id

    @property
    def auth_method(self) -> str:
        return next(m for m, keys in AUTH_KEYS.items() if keys & set(self.credentials))
