"""Meta Ads constants (Graph API version, insights fields, error codes, defaults) and the settings model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from connectors.base import ConnectorSettings
from connectors.kit.retry import RetryPolicy
from connectors.kit.settings import listed_once
from connectors.meta_ads.conversions import (
    ACTION_TYPE_PATTERN,
    DEFAULT_CONVERSION_ACTION_TYPES,
    DEFAULT_CONVERSION_AGGREGATION,
    Aggregation,
    ConversionRule,
    rule_problem,
)
from mdp.config import StrictScalars
from mdp.currency import minor_units
from mdp.identifiers import ascii_match

GRAPH_API_VERSION = "v26.0"
GRAPH_URL = "https://graph.facebook.com"

INSIGHTS_LEVEL = "ad"
INSIGHTS_FIELDS: tuple[str, ...] = (
    "account_id",
    "account_name",
    "account_currency",
    "campaign_id",
    "campaign_name",
    "adset_id",
    "adset_name",
    "ad_id",
    "ad_name",
    "impressions",
    "clicks",
    "spend",
    "reach",
    "actions",
    "action_values",
    "date_start",
    "date_stop",
)
ACCOUNT_FIELDS: tuple[str, ...] = ("account_id", "name", "currency", "timezone_name", "account_status")
# Campaign-level rows of the breakdown streams (the breakdown values come with each row unasked: naming them
# in `fields` is an error).
BREAKDOWN_FIELDS: tuple[str, ...] = (
    "account_id",
    "account_currency",
    "campaign_id",
    "campaign_name",
    "impressions",
    "clicks",
    "spend",
    "reach",
    "actions",
    "action_values",
    "date_start",
    "date_stop",
)
# The account's own daily totals (level=account), with the same attribution setting and action lists as the
# ad-level rows, for the reconciliation.
ACCOUNT_TOTALS_FIELDS: tuple[str, ...] = (
    "account_id",
    "account_currency",
    "impressions",
    "clicks",
    "spend",
    "actions",
    "action_values",
    "date_start",
    "date_stop",
)
ACTION_FIELDS: tuple[str, ...] = ("account_id", "campaign_id", "actions", "action_values", "date_start", "date_stop")


@dataclass(frozen=True)
class InsightsQuery:
    """The insights parameters of one report stream (one report run per account and date chunk)."""

    level: str
    fields: tuple[str, ...]
    breakdowns: tuple[str, ...] = ()
    action_breakdowns: tuple[str, ...] = ()
    attribution_windows: bool = False  # ask for the configured `action_attribution_windows`


INSIGHTS_QUERIES: dict[str, InsightsQuery] = {
    "ad_insights": InsightsQuery(INSIGHTS_LEVEL, INSIGHTS_FIELDS),
    "country_insights": InsightsQuery("campaign", BREAKDOWN_FIELDS, ("country",)),
    "region_insights": InsightsQuery("campaign", BREAKDOWN_FIELDS, ("region",)),
    "platform_insights": InsightsQuery("campaign", BREAKDOWN_FIELDS, ("publisher_platform", "platform_position")),
    "device_insights": InsightsQuery("campaign", BREAKDOWN_FIELDS, ("device_platform",)),
    "age_gender_insights": InsightsQuery("campaign", BREAKDOWN_FIELDS, ("age", "gender")),
    "action_insights": InsightsQuery(
        "campaign", ACTION_FIELDS, action_breakdowns=("action_type",), attribution_windows=True
    ),
    "account_totals": InsightsQuery("account", ACCOUNT_TOTALS_FIELDS),
}

# Entity snapshots: the account's Graph edge and the fields asked for (paged with `limit` / `after`).
SNAPSHOT_EDGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "campaign_snapshot": (
        "campaigns",
        (
            "id",
            "name",
            "status",
            "effective_status",
            "objective",
            "daily_budget",
            "lifetime_budget",
            "bid_strategy",
            "start_time",
            "stop_time",
            "created_time",
            "updated_time",
        ),
    ),
    "adset_snapshot": (
        "adsets",
        (
            "id",
            "name",
            "campaign_id",
            "status",
            "effective_status",
            "daily_budget",
            "lifetime_budget",
            "optimization_goal",
            "billing_event",
            "targeting",
        ),
    ),
    "ad_snapshot": ("ads", ("id", "name", "adset_id", "campaign_id", "status", "effective_status", "creative")),
    "creative_snapshot": (
        "adcreatives",
        ("id", "name", "object_type", "object_story_spec", "asset_feed_spec", "url_tags", "title", "body"),
    ),
}

# `action_attribution_windows` (https://developers.facebook.com/docs/marketing-api/reference/ads-action-stats/):
# 7d_view and 28d_view are no longer returned since 2026-01-12. "default" is the account's (unified)
# attribution setting, which Graph returns as each action's `value`: it is always extracted.
ATTRIBUTION_WINDOWS: tuple[str, ...] = ("1d_click", "7d_click", "28d_click", "1d_view", "1d_ev", "dda", "default")
RETIRED_ATTRIBUTION_WINDOWS: tuple[str, ...] = ("7d_view", "28d_view")
DEFAULT_ATTRIBUTION_WINDOW = "default"
DEFAULT_ACTION_ATTRIBUTION_WINDOWS: tuple[str, ...] = ("1d_click", "7d_click", "1d_view")

# Budgets and bids come as strings in the currency's minor units: amount = value / offset
# (https://developers.facebook.com/docs/marketing-api/currencies). Graph's offset is 1 for the currencies listed
# here, some of which have two decimals in ISO 4217 (COP, CRC, HUF, IDR, TWD); every other currency has its ISO
# minor unit (mdp.currency): 100 for EUR, 1 for the other zero-decimal ones, 1000 for KWD, BHD, JOD, OMR, TND.
CURRENCY_OFFSET_ONE = frozenset({"CLP", "COP", "CRC", "HUF", "ISK", "IDR", "JPY", "KRW", "PYG", "TWD", "VND"})


def currency_offset(currency: str | None) -> int:
    """Minor units per unit of `currency` in Graph budgets: 1 for JPY, 100 for EUR, 1000 for KWD."""
    return 1 if (currency or "").strip().upper() in CURRENCY_OFFSET_ONE else minor_units(currency)


# Ads Manager's numbers: each ad set's own attribution setting rather than the API default windows.
INSIGHTS_EXTRA_PARAMS: dict[str, Any] = {"use_unified_attribution_setting": True}

DEFAULT_LOOKBACK_DAYS = 28  # Meta attribution windows restate up to 28 days

# Graph error codes (https://developers.facebook.com/docs/graph-api/guides/error-handling,
# https://developers.facebook.com/docs/marketing-api/insights/best-practices).
THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
TOKEN_CODES = frozenset({102, 190})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
INVALID_PARAMETER_CODE = 100

# Async report run states (`async_status`).
JOB_COMPLETED = "Job Completed"
JOB_FAILED_STATES = frozenset({"Job Failed", "Job Skipped"})

# Ad account statuses left out of discovery (2 disabled, 100 pending closure, 101 closed).
INACTIVE_ACCOUNT_STATUSES = frozenset({2, 100, 101})

ACCOUNT_ID_PATTERN = r"(?:act_)?([0-9]+)"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
CREDENTIAL_KEYS = frozenset({"access_token", "app_secret"})


def normalize_account_id(account: str) -> str:
    """`act_123` or `123` -> `123`.

    Raises:
        ValueError: the id is neither (in ASCII).
    """
    cleaned = account.strip() if isinstance(account, str) else account
    expected = "a Meta ad account id such as 'act_123' or '123' (ASCII digits)"
    return ascii_match(cleaned, ACCOUNT_ID_PATTERN, expected, shown=account).group(1)


AccountId = Annotated[str, AfterValidator(normalize_account_id)]


# Custom insights (`custom_insights:`) ------------------------------------------------------------------------
# The checks live in connectors.meta_ads.custom, which reads the SDK's field lists (and rows.py, which reads this
# module): imported when a value is checked.


def _custom() -> Any:
    from connectors.meta_ads import custom

    return custom


def _check_field(value: Any, info: ValidationInfo) -> str:
    return str(_custom().check_field(value, info.data.get("level"), info.data.get("breakdowns") or ()))


def _check_breakdown(value: Any) -> str:
    return str(_custom().check_breakdown(value))


def _check_action_breakdown(value: Any) -> str:
    return str(_custom().check_action_breakdown(value))


def _check_window(value: Any) -> str:
    return str(_custom().check_window(value))


InsightsLevel = Literal["account", "campaign", "adset", "ad"]
ActionReportTime = Literal["conversion", "impression", "lifetime", "mixed"]


class CustomInsight(StrictScalars):
    """One `custom_insights` entry: a daily insights report of the user's fields, landed as
    raw_meta_ads.custom_<name>. Left out, the breakdowns, action breakdowns, attribution windows and report
    time are Graph's defaults (none, action_type, the account's attribution setting, Graph's report time)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    level: InsightsLevel = "ad"
    breakdowns: list[Annotated[str, AfterValidator(_check_breakdown)]] = Field(default_factory=list)
    action_breakdowns: list[Annotated[str, AfterValidator(_check_action_breakdown)]] = Field(default_factory=list)
    action_attribution_windows: list[Annotated[str, AfterValidator(_check_window)]] = Field(default_factory=list)
    action_report_time: ActionReportTime | None = None
    fields: list[Annotated[str, AfterValidator(_check_field)]] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return str(_custom().check_name(value))

    @field_validator("breakdowns")
    @classmethod
    def _breakdowns(cls, value: list[str]) -> list[str]:
        return list(_custom().check_breakdowns(value))

    @field_validator("action_breakdowns", "action_attribution_windows", "fields")
    @classmethod
    def _once(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return list(listed_once(value, (info.field_name or "").replace("_", " ")))

    @model_validator(mode="after")
    def _whole(self) -> CustomInsight:
        _custom().check_entry(self.entry())
        return self

    def entry(self) -> Any:
        """The entry as connectors.meta_ads.custom.Entry."""
        return _custom().Entry(
            self.name,
            self.level,
            tuple(self.fields),
            tuple(self.breakdowns),
            tuple(self.action_breakdowns),
            tuple(self.action_attribution_windows),
            self.action_report_time,
        )


class MetaAdsSettings(ConnectorSettings):
    """The `type: meta_ads` section of pipeline.yaml."""

    # A unit spends most of its time waiting for its async report run: more of them at once overlap the
    # waits (Meta paces report runs per ad account through its throttling headers, which the client honours).
    max_concurrency: int = Field(16, ge=1, le=64, description="units running at once for this connector")
    accounts: list[AccountId] = Field(default_factory=list)
    graph_url: str | None = Field(
        None, description="Graph API base URL; absent means the real API (https://graph.facebook.com)"
    )
    api_version: str = Field(GRAPH_API_VERSION, pattern=r"^v[0-9]+\.[0-9]+$")
    # The conversion rule (connectors/meta_ads/conversions.py): applied to every insights row, the totals too.
    conversion_action_types: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CONVERSION_ACTION_TYPES),
        min_length=1,
        description="action types counted as conversions, in priority order (see conversion_aggregation)",
    )
    conversion_aggregation: Aggregation = Field(
        DEFAULT_CONVERSION_AGGREGATION,
        description="first_match: the first listed type present on a row counts; sum: all listed types add up",
    )
    action_attribution_windows: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ACTION_ATTRIBUTION_WINDOWS),
        min_length=1,
        description="attribution windows of action_insights, beside the account's default setting",
    )
    page_limit: int = Field(500, ge=1, le=5000, description="rows per results page")
    connect_timeout_seconds: float = Field(10.0, gt=0, le=300)
    read_timeout_seconds: float = Field(120.0, gt=0, le=3600)
    max_retries: int = Field(5, ge=0, le=20, description="retries of one request before giving up")
    retry_base_delay_seconds: float = Field(2.0, ge=0, le=600)
    retry_max_delay_seconds: float = Field(300.0, ge=0, le=3600)
    throttle_pause_seconds: float = Field(
        60.0, ge=0, le=3600, description="least wait after throttling that names no time"
    )
    poll_initial_seconds: float = Field(2.0, ge=0, le=600)
    poll_max_seconds: float = Field(30.0, ge=0, le=600)
    job_timeout_seconds: float = Field(1800.0, gt=0, le=86400, description="then the run is split")
    job_attempts: int = Field(3, ge=1, le=10, description="report runs tried for a single day")
    custom_insights: list[CustomInsight] = Field(
        default_factory=list, description="insights reports of the user's fields, each its own raw table"
    )

    @field_validator("custom_insights")
    @classmethod
    def _unique_custom_names(cls, entries: list[CustomInsight]) -> list[CustomInsight]:
        listed_once([e.name for e in entries], "custom insights names")
        return entries

    @field_validator("accounts")
    @classmethod
    def _unique_accounts(cls, accounts: list[str]) -> list[str]:
        return list(listed_once(accounts, "accounts", " (with or without 'act_')"))

    @field_validator("graph_url")
    @classmethod
    def _graph_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http(s) URL such as {GRAPH_URL}, got {value!r}")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
            raise ValueError("plain http is accepted for loopback only: the access token travels in the URL")
        if parts.query or parts.fragment or parts.path.strip("/"):
            raise ValueError(f"expected a base URL without path or query, got {value!r}")
        return value.rstrip("/")

    @field_validator("conversion_action_types")
    @classmethod
    def _unique_types(cls, types: list[str]) -> list[str]:
        if any(not t.strip() for t in types):
            raise ValueError("action types must not be empty")
        odd = [t for t in types if not ACTION_TYPE_PATTERN.fullmatch(t)]
        if odd:
            raise ValueError(f"action types may hold only letters, digits and _ . : - ; got {odd}")
        return list(listed_once(types, "action types"))

    @model_validator(mode="after")
    def _conversion_rule(self) -> MetaAdsSettings:
        problem = rule_problem(self.conversion_action_types, self.conversion_aggregation)
        if problem:
            raise ValueError(f"conversion_action_types: {problem}")
        return self

    @property
    def conversion_rule(self) -> ConversionRule:
        """The one conversion rule of this connector instance."""
        return ConversionRule(tuple(self.conversion_action_types), self.conversion_aggregation)

    @field_validator("action_attribution_windows")
    @classmethod
    def _known_windows(cls, windows: list[str]) -> list[str]:
        retired = [w for w in windows if w in RETIRED_ATTRIBUTION_WINDOWS]
        if retired:
            raise ValueError(
                f"{retired} are no longer returned by Meta (since 2026-01-12); "
                f"allowed: {', '.join(ATTRIBUTION_WINDOWS)}"
            )
        unknown = [w for w in windows if w not in ATTRIBUTION_WINDOWS]
        if unknown:
            raise ValueError(f"unknown attribution window(s) {unknown}; allowed: {', '.join(ATTRIBUTION_WINDOWS)}")
        return list(listed_once(windows, "attribution windows"))

    @property
    def requested_windows(self) -> tuple[str, ...]:
        """The windows asked for beside `default` (which every action carries as `value`)."""
        return tuple(w for w in self.action_attribution_windows if w != DEFAULT_ATTRIBUTION_WINDOW)

    @field_validator("credentials")
    @classmethod
    def _credential_keys(cls, credentials: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(credentials) - CREDENTIAL_KEYS)
        if unknown:
            raise ValueError(f"unknown credential keys {unknown}; known: {sorted(CREDENTIAL_KEYS)}")
        if "access_token" not in credentials:
            raise ValueError("access_token is required (e.g. 'env:META_ACCESS_TOKEN' or 'block:NAME')")
        return credentials

    @model_validator(mode="after")
    def _bounds(self) -> MetaAdsSettings:
        if self.retry_max_delay_seconds < self.retry_base_delay_seconds:
            raise ValueError("retry_max_delay_seconds must be >= retry_base_delay_seconds")
        if self.poll_max_seconds < self.poll_initial_seconds:
            raise ValueError("poll_max_seconds must be >= poll_initial_seconds")
        return self

    @property
    def base_url(self) -> str:
        return self.graph_url or GRAPH_URL

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout_seconds, self.read_timeout_seconds)

    def retry_policy(self) -> RetryPolicy:
        """Exponential from `retry_base_delay_seconds` with equal jitter (half of each wait left to chance);
        an asked wait over `retry_max_delay_seconds` is handed up to the flow, which honours it."""
        return RetryPolicy(
            max_attempts=self.max_retries + 1,
            initial_delay=self.retry_base_delay_seconds,
            max_delay=self.retry_max_delay_seconds,
            jitter=0.5,
            max_wait=self.retry_max_delay_seconds,
        )
