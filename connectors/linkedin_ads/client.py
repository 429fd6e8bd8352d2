"""One authorised httpx session with the LinkedIn Marketing API (versioned REST, Rest.li 2.0): the refresh-token
exchange (ahead of expiry and once on a 401), cursor-paged searches, ad analytics, and the classification of
every failure. LinkedIn publishes no maintained Python client, so the few calls are made here over httpx."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from connectors.linkedin_ads.exceptions import LinkedInAdsError, LinkedInAdsRetryableError
from connectors.linkedin_ads.settings import (
    ACCOUNT_URN,
    ANALYTICS_FIELDS,
    RESTLI_PROTOCOL_VERSION,
    TOKEN_MARGIN_SECONDS,
    LinkedInAdsSettings,
)
from mdp.secrets import redact, register_secret

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TokenAnswer(_Model):
    access_token: str
    expires_in: int = 3600
    refresh_token: str | None = None


class AdAccount(_Model):
    id: int
    name: str | None = None
    currency: str | None = None
    status: str | None = None


class CampaignGroup(_Model):
    id: int
    name: str | None = None


class Campaign(_Model):
    id: int
    name: str | None = None
    campaignGroup: str | None = None


class Creative(_Model):
    id: str  # urn:li:sponsoredCreative:<id>
    name: str | None = None
    campaign: str | None = None  # urn:li:sponsoredCampaign:<id>


class _PageMetadata(_Model):
    nextPageToken: str | None = None


class _Page(_Model):
    elements: list[dict[str, Any]] = []
    metadata: _PageMetadata = _PageMetadata()


class Credentials(_Model):
    client_id: SecretStr
    client_secret: SecretStr
    refresh_token: SecretStr


def restli_date(day: dt.date) -> str:
    return f"(year:{day.year},month:{day.month},day:{day.day})"


def analytics_query(pivots: tuple[str, ...], account_id: str, start: dt.date, end: dt.date) -> str:
    """The adAnalytics query string: the analytics finder for one pivot, the statistics finder for several;
    Rest.li 2.0 structure (parentheses, colons, commas) kept as is, the URN inside List() percent-encoded."""
    urn = quote(ACCOUNT_URN + account_id, safe="")
    finder = f"q=analytics&pivot={pivots[0]}" if len(pivots) == 1 else f"q=statistics&pivots=List({','.join(pivots)})"
    return (
        f"{finder}&timeGranularity=DAILY"
        f"&dateRange=(start:{restli_date(start)},end:{restli_date(end)})"
        f"&accounts=List({urn})&fields={','.join(ANALYTICS_FIELDS)}"
    )


def retry_after_seconds(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


def classify(
    status: int, body: str, headers: Mapping[str, str], prefix: str, name: str
) -> LinkedInAdsError | LinkedInAdsRetryableError:
    """The error an HTTP answer other than 2xx stands for: 429 and 5xx are retryable, the rest fatal."""
    detail = redact(_message(body))
    if status == 429:
        wait = retry_after_seconds(headers.get("retry-after"))
        return LinkedInAdsRetryableError(f"{prefix}: HTTP 429 throttled ({detail}); try again later", status, wait)
    if status >= 500:
        return LinkedInAdsRetryableError(f"{prefix}: HTTP {status} ({detail})", status)
    if status == 401:
        return LinkedInAdsError(
            f"{prefix}: HTTP 401, the access token was refused ({detail}); renew connectors.{name}.credentials."
            "refresh_token (and check client_id and client_secret)",
            status,
        )
    if status == 403:
        return LinkedInAdsError(
            f"{prefix}: HTTP 403 permission denied ({detail}); the user needs a role on the ad account and the "
            "app the r_ads_reporting and r_ads scopes",
            status,
        )
    return LinkedInAdsError(f"{prefix}: HTTP {status} ({detail})", status)


def _message(body: str) -> str:
    """The `message` of a LinkedIn error body (JSON with status, serviceErrorCode, code, message), else its start."""
    try:
        data = httpx.Response(200, content=body.encode()).json()
    except ValueError:
        return body[:200].strip() or "no body"
    if isinstance(data, dict):
        parts = [str(data[k]) for k in ("code", "message", "error", "error_description") if data.get(k)]
        if parts:
            return ": ".join(parts)
    return body[:200].strip() or "no body"


class LinkedInClient:
    """Authorised calls for one connector instance, shared by its threads (httpx.Client is thread-safe; the
    token is renewed under a lock). A refused refresh token stays refused for the instance: it fails every
    account alike, and is not asked again."""

    def __init__(
        self,
        settings: LinkedInAdsSettings,
        credentials: Credentials,
        *,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._credentials = credentials
        self._clock = clock
        self._http = httpx.Client(timeout=settings.request_timeout_seconds, transport=transport)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._refused: LinkedInAdsError | None = None
        self.requests = 0
        self.refreshes = 0

    def close(self) -> None:
        self._http.close()

    def access_token(self, stale: str | None = None) -> str:
        """A live access token: the current one, or a new one when there is none, it is about to expire, or it
        is `stale` (a call just had it refused)."""
        with self._lock:
            if self._refused is not None:
                raise LinkedInAdsError(f"{self._refused} (earlier in this run; not asked again)", self._refused.status)
            expiring = self._clock() >= self._expires_at - TOKEN_MARGIN_SECONDS
            if self._token is None or expiring or (stale is not None and stale == self._token):
                self._refresh()
            assert self._token is not None
            return self._token

    def _refresh(self) -> None:
        prefix = f"LinkedIn Ads {self.settings.name}: refresh the access token"
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._credentials.refresh_token.get_secret_value(),
            "client_id": self._credentials.client_id.get_secret_value(),
            "client_secret": self._credentials.client_secret.get_secret_value(),
        }
        try:
            response = self._http.post(self.settings.token_url, data=form)
        except httpx.HTTPError as error:
            raise LinkedInAdsRetryableError(f"{prefix}: {type(error).__name__} ({redact(str(error))})") from None
        self.refreshes += 1
        if response.status_code >= 500 or response.status_code == 429:
            raise classify(response.status_code, response.text, response.headers, prefix, self.settings.name)
        try:
            answer = TokenAnswer.model_validate_json(response.content) if response.status_code == 200 else None
        except ValidationError:
            answer = None
        if answer is None or not answer.access_token:
            refused = LinkedInAdsError(
                f"{prefix}: the token endpoint refused the refresh token (HTTP {response.status_code}: "
                f"{redact(_message(response.text))}); it is expired or revoked: renew connectors."
                f"{self.settings.name}.credentials.refresh_token (and check client_id/client_secret)",
                response.status_code,
            )
            self._refused = refused
            raise refused
        register_secret(answer.access_token)
        if answer.refresh_token:
            register_secret(answer.refresh_token)
        self._token = answer.access_token
        self._expires_at = self._clock() + answer.expires_in

    def get(self, path: str, query: str, what: str) -> Any:
        """GET endpoint + path + "?" + query (already encoded), its JSON body; a 401 renews the token once."""
        url = f"{self.settings.endpoint}{path}" + (f"?{query}" if query else "")
        prefix = f"LinkedIn Ads {self.settings.name}: {what}"
        token = self.access_token()
        for attempt in (1, 2):
            headers = {
                "Authorization": f"Bearer {token}",
                "LinkedIn-Version": self.settings.api_version,
                "X-Restli-Protocol-Version": RESTLI_PROTOCOL_VERSION,
            }
            self.requests += 1
            try:
                response = self._http.get(url, headers=headers)
            except httpx.HTTPError as error:
                raise LinkedInAdsRetryableError(f"{prefix}: {type(error).__name__} ({redact(str(error))})") from None
            if response.status_code == 401 and attempt == 1:
                logger.info(
                    "LinkedIn Ads %s: %s: access token refused (401); renewing it once", self.settings.name, what
                )
                token = self.access_token(stale=token)
                continue
            if response.status_code >= 300:
                raise classify(response.status_code, response.text, response.headers, prefix, self.settings.name)
            try:
                return response.json()
            except ValueError:
                raise LinkedInAdsRetryableError(f"{prefix}: the answer is not JSON") from None
        raise AssertionError("unreachable")

    def model(self, path: str, query: str, what: str, model: type[M]) -> M:
        """One GET answer as `model`."""
        try:
            return model.model_validate(self.get(path, query, what))
        except ValidationError as error:
            raise LinkedInAdsError(f"LinkedIn Ads {self.settings.name}: {what}: unexpected answer ({error})") from None

    def search(self, path: str, query: str, what: str, model: type[M]) -> list[M]:
        """Every page of a cursor-paged search (pageSize, pageToken <- metadata.nextPageToken), as `model`."""
        found: list[M] = []
        token: str | None = None
        while True:
            paged = f"{query}&pageSize={self.settings.page_size}"
            if token is not None:
                paged += f"&pageToken={quote(token, safe='')}"
            page = self.model(path, paged, what, _Page)
            try:
                found += [model.model_validate(e) for e in page.elements]
            except ValidationError as error:
                raise LinkedInAdsError(
                    f"LinkedIn Ads {self.settings.name}: {what}: unexpected element ({error})"
                ) from None
            token = page.metadata.nextPageToken
            if not token or not page.elements:
                return found

    def analytics(self, pivots: tuple[str, ...], account_id: str, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """The adAnalytics elements of one account, pivots and days (one request: the finders have no paging);
        kept as JSON objects, each parsed (or quarantined) on its own."""
        what = f"adAnalytics pivot={','.join(pivots)} account {account_id} {start}..{end}"
        page = self.model("/adAnalytics", analytics_query(pivots, account_id, start, end), what, _Page)
        return page.elements
