"""The settings model of `type: tiktok_ads` (pipeline.yaml), validated once."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator, model_validator

from connectors.base import ConnectorSettings
from connectors.kit.retry import RetryPolicy
from connectors.kit.settings import listed_once
from connectors.tiktok_ads.api import BASE_URL, MAX_PAGE_SIZE
from mdp.identifiers import ascii_digits

# TikTok's default attribution is a 7-day click window: conversions of a day keep arriving for a week.
DEFAULT_LOOKBACK_DAYS = 7
CREDENTIAL_KEYS = frozenset({"access_token", "secret"})


def check_advertiser_id(value: str) -> str:
    """A TikTok advertiser_id: ASCII digits.

    Raises:
        ValueError: anything else.
    """
    return ascii_digits(value, "a TikTok advertiser_id (ASCII digits)")


class TikTokAdsSettings(ConnectorSettings):
    """`type: tiktok_ads` keys; credentials by reference: `access_token` (required) and `secret` (the app secret,
    required when `accounts` is empty: the authorised advertiser list needs it)."""

    accounts: list[Annotated[str, AfterValidator(check_advertiser_id)]] = Field(default_factory=list)
    app_id: Annotated[str, AfterValidator(lambda v: ascii_digits(v, "a TikTok app_id (ASCII digits)"))] | None = Field(
        None, description="the developer app whose authorised advertisers are discovered when `accounts` is empty"
    )
    endpoint: str | None = Field(
        None,
        description="base URL replacing https://business-api.tiktok.com (e.g. the sandbox's http://127.0.0.1:8702)",
    )
    page_size: int = Field(MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    request_timeout_seconds: float = Field(60.0, gt=0, le=600)
    max_retries: int = Field(3, ge=0, le=10, description="retries of one call on a rate limit or system error")
    retry_base_delay_seconds: float = Field(2.0, ge=0, le=600)
    retry_max_delay_seconds: float = Field(60.0, ge=0, le=3600)

    @field_validator("accounts")
    @classmethod
    def _unique_accounts(cls, accounts: list[str]) -> list[str]:
        return list(listed_once(accounts, "accounts"))

    @field_validator("credentials")
    @classmethod
    def _known_credentials(cls, credentials: dict[str, str]) -> dict[str, str]:
        if "access_token" not in credentials:
            raise ValueError("missing access_token (a secret reference, e.g. env:TIKTOK_ACCESS_TOKEN)")
        unknown = sorted(set(credentials) - CREDENTIAL_KEYS)
        if unknown:
            raise ValueError(f"unknown credentials {unknown}; known: {sorted(CREDENTIAL_KEYS)}")
        return credentials

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _discovery_needs_the_app(self) -> TikTokAdsSettings:
        if not self.accounts and (self.app_id is None or "secret" not in self.credentials):
            raise ValueError(
                "accounts is empty, so the authorised advertisers are discovered: set app_id and "
                "credentials.secret (the app secret, by reference), or list the accounts"
            )
        if self.retry_max_delay_seconds < self.retry_base_delay_seconds:
            raise ValueError("retry_max_delay_seconds must be >= retry_base_delay_seconds")
        return self

    @property
    def base_url(self) -> str:
        return self.endpoint or BASE_URL

    def retry_policy(self) -> RetryPolicy:
        """Exponential from `retry_base_delay_seconds`, half of each wait left to chance; a wait over
        `retry_max_delay_seconds` is handed up to the flow, which honours it."""
        return RetryPolicy(
            max_attempts=self.max_retries + 1,
            initial_delay=self.retry_base_delay_seconds,
            max_delay=self.retry_max_delay_seconds,
            jitter=0.5,
            max_wait=self.retry_max_delay_seconds,
        )
