"""LinkedIn Ads settings: the API version, endpoints, analytics fields and the settings model."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator

from connectors.base import ConnectorSettings
from connectors.kit.settings import listed_once
from mdp.identifiers import ascii_digits

# The Marketing API's versioned REST base and OAuth token endpoint (production).
API_URL = "https://api.linkedin.com/rest"
TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"  # noqa: S105 - a URL, not a secret
# `LinkedIn-Version` header (YYYYMM). LinkedIn sunsets a version about a year after its release: set
# `api_version` in pipeline.yaml to a live one.
API_VERSION = "202610"
RESTLI_PROTOCOL_VERSION = "2.0.0"
DEFAULT_LOOKBACK_DAYS = 30  # website conversions keep arriving for the 30-day click-through window
REQUIRED_CREDENTIALS = ("client_id", "client_secret", "refresh_token")
# A token is renewed this many seconds before LinkedIn says it expires.
TOKEN_MARGIN_SECONDS = 300.0

# adAnalytics metrics asked for with every pivot (LinkedIn reports days in UTC).
METRICS = (
    "costInLocalCurrency",
    "impressions",
    "clicks",
    "externalWebsiteConversions",
    "conversionValueInLocalCurrency",
)
ANALYTICS_FIELDS = ("dateRange", "pivotValues", *METRICS)
# stream -> the adAnalytics pivots that serve it: one is the analytics finder (q=analytics&pivot=), several the
# statistics finder (q=statistics&pivots=List(...), up to three; pivotValues in the same order)
PIVOTS: dict[str, tuple[str, ...]] = {
    "ad_performance": ("CREATIVE",),
    "country_performance": ("CAMPAIGN_GROUP", "MEMBER_COUNTRY_V2"),
    "account_totals": ("ACCOUNT",),
}
ACCOUNT_URN = "urn:li:sponsoredAccount:"
CREATIVE_URN = "urn:li:sponsoredCreative:"
CAMPAIGN_URN = "urn:li:sponsoredCampaign:"
CAMPAIGN_GROUP_URN = "urn:li:sponsoredCampaignGroup:"
GEO_URN = "urn:li:geo:"
# The ad accounts discovery reads (adAccounts search by status).
DISCOVERED_STATUSES = ("ACTIVE",)


def check_account_id(value: str) -> str:
    """A LinkedIn ad account id: ASCII digits (the number in urn:li:sponsoredAccount:<id>).

    Raises:
        ValueError: anything else.
    """
    return ascii_digits(value, "a LinkedIn ad account id (ASCII digits, without the urn:li:sponsoredAccount: prefix)")


class LinkedInAdsSettings(ConnectorSettings):
    """`type: linkedin_ads` keys; credentials by reference: `client_id`, `client_secret`, `refresh_token`."""

    accounts: list[Annotated[str, AfterValidator(check_account_id)]] = Field(default_factory=list)
    endpoint: str = Field(API_URL, description="the REST base URL (the sandbox's http://127.0.0.1:8703/rest locally)")
    token_url: str = Field(TOKEN_URL, description="OAuth token endpoint for the refresh-token exchange")
    api_version: str = Field(API_VERSION, description="the LinkedIn-Version header, YYYYMM")
    page_size: int = Field(100, ge=1, le=1000, description="pageSize of the ad account and entity searches")
    request_timeout_seconds: float = Field(60.0, gt=0, le=600)

    @field_validator("accounts")
    @classmethod
    def _unique_accounts(cls, accounts: list[str]) -> list[str]:
        return list(listed_once(accounts, "accounts"))

    @field_validator("credentials")
    @classmethod
    def _required_credentials(cls, credentials: dict[str, str]) -> dict[str, str]:
        missing = [k for k in REQUIRED_CREDENTIALS if k not in credentials]
        if missing:
            raise ValueError(f"missing {', '.join(missing)} (secret references, e.g. env:LINKEDIN_REFRESH_TOKEN)")
        unknown = sorted(set(credentials) - set(REQUIRED_CREDENTIALS))
        if unknown:
            raise ValueError(f"unknown credentials {unknown}")
        return credentials

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"20[0-9]{2}(0[1-9]|1[0-2])", value, re.ASCII):
            raise ValueError(f"must be a LinkedIn-Version as YYYYMM (e.g. {API_VERSION}), got {value!r}")
        return value

    @field_validator("endpoint", "token_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value.rstrip("/")
