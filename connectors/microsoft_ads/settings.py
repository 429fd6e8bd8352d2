"""Microsoft Advertising constants (API version, report types and columns, error codes, time zones) and the
settings model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator

from connectors.base import ConnectorSettings
from connectors.kit.settings import listed_once
from connectors.microsoft_ads.custom import CustomReport, check_unique_names
from mdp.identifiers import ascii_digits

API_VERSION = 13
# The SDK's production token endpoint (bingads.authorization._UriOAuthService, msads.manage scope).
TOKEN_URL = "https://login.microsoftonline.com/common/oauth2/v2.0/token"  # noqa: S105 - a URL, not a secret
OAUTH_SCOPE = "https://ads.microsoft.com/msads.manage offline_access"
DEFAULT_LOOKBACK_DAYS = 30  # Microsoft conversions keep arriving for up to 30 days (conversion window)

CUSTOMER_SERVICE = "CustomerManagementService"
REPORTING_SERVICE = "ReportingService"
# Where each SOAP service listens, below the API host: kept when `endpoint` replaces the host.
SERVICE_PATHS: dict[str, str] = {
    CUSTOMER_SERVICE: "/Api/CustomerManagement/v13/CustomerManagementService.svc",
    REPORTING_SERVICE: "/Api/Advertiser/Reporting/v13/ReportingService.svc",
}

# AdApiError / OperationError codes (https://learn.microsoft.com/advertising/guides/operation-error-codes).
RETRYABLE_CODES: dict[int, str] = {0: "InternalError", 117: "CallRateExceeded", 207: "ConcurrentRequestOverLimit"}
TOKEN_CODES: dict[int, str] = {105: "InvalidCredentials", 109: "AuthenticationTokenExpired"}
PERMISSION_CODES: dict[int, str] = {106: "UserIsNotAuthorized"}
# OAuth token endpoint errors that may pass when asked again.
RETRYABLE_OAUTH_ERRORS = frozenset({"temporarily_unavailable", "server_error"})

# ReportRequest.FormatVersion: left out, a report is written in 1.0, where some columns (Revenue among them) carry
# thousands separators ("1,234.56"); 2.0 writes plain numbers. Always sent; the parser still reads both.
REPORT_FORMAT_VERSION = "2.0"

REPORT_STATUS_SUCCESS = "Success"
REPORT_STATUS_PENDING = "Pending"
REPORT_STATUS_ERROR = "Error"


@dataclass(frozen=True)
class ReportQuery:
    """One report stream: the SOAP report request type, its scope type and the columns asked for."""

    request_type: str
    scope_type: str
    columns: tuple[str, ...]

    @property
    def column_type(self) -> str:
        return self.request_type.removesuffix("Request") + "Column"


_METRICS = ("CurrencyCode", "Impressions", "Clicks", "Spend", "Conversions", "Revenue")
_AD_GROUP_SCOPE = "AccountThroughAdGroupReportScope"
REPORT_QUERIES: dict[str, ReportQuery] = {
    "ad_performance": ReportQuery(
        "AdPerformanceReportRequest",
        _AD_GROUP_SCOPE,
        (
            "TimePeriod",
            "AccountId",
            "AccountName",
            "CampaignId",
            "CampaignName",
            "AdGroupId",
            "AdGroupName",
            "AdId",
            "AdTitle",
            "AdType",
            *_METRICS,
        ),
    ),
    "keyword_performance": ReportQuery(
        "KeywordPerformanceReportRequest",
        _AD_GROUP_SCOPE,
        (
            "TimePeriod",
            "AccountId",
            "CampaignId",
            "CampaignName",
            "AdGroupId",
            "AdGroupName",
            "KeywordId",
            "Keyword",
            "BidMatchType",
            *_METRICS,
        ),
    ),
    "search_query_performance": ReportQuery(
        "SearchQueryPerformanceReportRequest",
        _AD_GROUP_SCOPE,
        (
            "TimePeriod",
            "AccountId",
            "CampaignId",
            "CampaignName",
            "AdGroupId",
            "AdGroupName",
            "KeywordId",
            "Keyword",
            "SearchQuery",
            "DeliveredMatchType",
            "Impressions",
            "Clicks",
            "Spend",
            "Conversions",
            "Revenue",
        ),
    ),
    "geographic_performance": ReportQuery(
        "GeographicPerformanceReportRequest",
        _AD_GROUP_SCOPE,
        ("TimePeriod", "AccountId", "CampaignId", "CampaignName", "Country", "State", "LocationType", *_METRICS),
    ),
    "device_performance": ReportQuery(
        "CampaignPerformanceReportRequest",
        "AccountThroughCampaignReportScope",
        ("TimePeriod", "AccountId", "CampaignId", "CampaignName", "DeviceType", *_METRICS),
    ),
    # The account's own daily totals, for the reconciliation.
    "account_totals": ReportQuery(
        "AccountPerformanceReportRequest", "AccountReportScope", ("TimePeriod", "AccountId", *_METRICS)
    ),
}

# Microsoft's TimeZoneType values (account TimeZone) -> IANA names; an unknown one is kept as Microsoft names it.
TIME_ZONES: dict[str, str] = {
    "AmsterdamBerlinBernRomeStockholmVienna": "Europe/Berlin",
    "BrusselsCopenhagenMadridParis": "Europe/Paris",
    "GreenwichMeanTimeDublinEdinburghLisbonLondon": "Europe/London",
    "BelgradeBratislavaBudapestLjubljanaPrague": "Europe/Budapest",
    "AthensBucharestIstanbul": "Europe/Athens",
    "HelsinkiKyivRigaSofiaTallinnVilnius": "Europe/Helsinki",
    "MoscowStPetersburgVolgograd": "Europe/Moscow",
    "EasternTimeUSCanada": "America/New_York",
    "CentralTimeUSCanada": "America/Chicago",
    "MountainTimeUSCanada": "America/Denver",
    "PacificTimeUSCanadaTijuana": "America/Los_Angeles",
    "Arizona": "America/Phoenix",
    "Alaska": "America/Anchorage",
    "Hawaii": "Pacific/Honolulu",
    "AtlanticTimeCanada": "America/Halifax",
    "Brasilia": "America/Sao_Paulo",
    "BuenosAiresGeorgetown": "America/Argentina/Buenos_Aires",
    "MexicoCity": "America/Mexico_City",
    "CanberraMelbourneSydney": "Australia/Sydney",
    "Brisbane": "Australia/Brisbane",
    "Perth": "Australia/Perth",
    "AucklandWellington": "Pacific/Auckland",
    "OsakaSapporoTokyo": "Asia/Tokyo",
    "Seoul": "Asia/Seoul",
    "BeijingChongqingHongKongUrumqi": "Asia/Shanghai",
    "KualaLumpurSingapore": "Asia/Singapore",
    "Bangkok": "Asia/Bangkok",
    "ChennaiKolkataMumbaiNewDelhi": "Asia/Kolkata",
    "AbuDhabiMuscat": "Asia/Dubai",
    "KuwaitRiyadh": "Asia/Kuwait",
    "Jerusalem": "Asia/Jerusalem",
    "CairoEgypt": "Africa/Cairo",
    "HarareEgypt": "Africa/Harare",
}

# Country names as the geographic report writes them -> ISO 3166-1 alpha-2 (unlisted: no code, name kept).
COUNTRY_CODES: dict[str, str] = {
    "Australia": "AU",
    "Austria": "AT",
    "Belgium": "BE",
    "Brazil": "BR",
    "Canada": "CA",
    "China": "CN",
    "Denmark": "DK",
    "Finland": "FI",
    "France": "FR",
    "Germany": "DE",
    "India": "IN",
    "Ireland": "IE",
    "Italy": "IT",
    "Japan": "JP",
    "Kuwait": "KW",
    "Luxembourg": "LU",
    "Mexico": "MX",
    "Netherlands": "NL",
    "New Zealand": "NZ",
    "Norway": "NO",
    "Poland": "PL",
    "Portugal": "PT",
    "Singapore": "SG",
    "Spain": "ES",
    "Sweden": "SE",
    "Switzerland": "CH",
    "United Kingdom": "GB",
    "United States": "US",
}


def check_account_id(value: str) -> str:
    """A Microsoft Advertising AccountId: ASCII digits (not the account number).

    Raises:
        ValueError: anything else.
    """
    return ascii_digits(value, "a Microsoft Advertising AccountId (ASCII digits; not the account number)")


def check_customer_id(value: str) -> str:
    """A Microsoft Advertising CustomerId: ASCII digits.

    Raises:
        ValueError: anything else.
    """
    return ascii_digits(value, "a Microsoft Advertising CustomerId (ASCII digits)")


class MicrosoftAdsSettings(ConnectorSettings):
    """`type: microsoft_ads` keys; credentials by reference: `refresh_token`, `client_id`, `developer_token`
    (required) and `client_secret` (web applications only)."""

    accounts: list[Annotated[str, AfterValidator(check_account_id)]] = Field(default_factory=list)
    customer_id: Annotated[str, AfterValidator(check_customer_id)] = Field(
        description="the customer (manager) whose accounts are read; sent as the CustomerId header"
    )
    endpoint: str | None = Field(
        None,
        description="base URL replacing the API hosts of the SOAP services (e.g. the sandbox's "
        "http://127.0.0.1:8701); absent: Microsoft's production services",
    )
    token_url: str = Field(TOKEN_URL, description="OAuth token endpoint for the refresh-token exchange")
    request_timeout_seconds: float = Field(60.0, gt=0, le=600)
    poll_initial_seconds: float = Field(2.0, ge=0, le=600)
    poll_max_seconds: float = Field(60.0, gt=0, le=3600)
    report_timeout_seconds: float = Field(1800.0, gt=0, le=86400)
    custom_reports: list[CustomReport] = Field(
        default_factory=list,
        description="reports of the user's columns, each landed as raw_microsoft_ads.custom_<name> "
        "(connectors/microsoft_ads/custom.py)",
    )

    @field_validator("custom_reports")
    @classmethod
    def _unique_reports(cls, reports: list[CustomReport]) -> list[CustomReport]:
        return check_unique_names(reports)

    @field_validator("accounts")
    @classmethod
    def _unique_accounts(cls, accounts: list[str]) -> list[str]:
        return list(listed_once(accounts, "accounts"))

    @field_validator("credentials")
    @classmethod
    def _required_credentials(cls, credentials: dict[str, str]) -> dict[str, str]:
        missing = [k for k in ("refresh_token", "client_id", "developer_token") if k not in credentials]
        if missing:
            raise ValueError(f"missing {', '.join(missing)} (secret references, e.g. env:MSADS_REFRESH_TOKEN)")
        unknown = sorted(set(credentials) - {"refresh_token", "client_id", "client_secret", "developer_token"})
        if unknown:
            raise ValueError(f"unknown credentials {unknown}")
        return credentials

    @field_validator("endpoint", "token_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value.rstrip("/")

    def service_location(self, service: str) -> str | None:
        """Where the SOAP calls of `service` go: None keeps the WSDL's own (production) address."""
        return None if self.endpoint is None else self.endpoint + SERVICE_PATHS[service]
