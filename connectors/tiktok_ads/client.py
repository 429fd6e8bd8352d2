"""The TikTok Business API over plain httpx: typed answers, the return codes classified, every call retried on
the kit's policy, report pages followed to the last."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from connectors.kit.retry import GiveUp, Retry, call_with_retries
from connectors.tiktok_ads.api import (
    ADVERTISER_GET_PATH,
    ADVERTISER_INFO_BATCH,
    ADVERTISER_INFO_FIELDS,
    ADVERTISER_INFO_PATH,
    PARAMETER_CODES,
    PERMISSION_CODES,
    RATE_LIMIT_CODES,
    REPORT_PATH,
    TOKEN_CODES,
    TOKEN_HEADER,
    ReportQuery,
    is_retryable,
)
from connectors.tiktok_ads.exceptions import TikTokAdsError, TikTokAdsRetryableError
from connectors.tiktok_ads.settings import TikTokAdsSettings
from mdp.secrets import redact

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Envelope(_Answer):
    """Every answer: HTTP 200 with a return code (0: OK), a message, a request id and the data."""

    code: int
    message: str = ""
    request_id: str | None = None
    data: dict[str, Any] | None = None


class PageInfo(_Answer):
    page: int
    page_size: int
    total_number: int
    total_page: int


class ReportPage(_Answer):
    """One page of report/integrated/get. The rows stay untyped here: a bad row is quarantined, not the page."""

    rows: list[Any] = Field(alias="list")
    page_info: PageInfo


class AuthorisedAdvertiser(_Answer):
    advertiser_id: str
    advertiser_name: str | None = None


class AdvertiserList(_Answer):
    advertisers: list[AuthorisedAdvertiser] = Field(alias="list")


class AdvertiserInfo(_Answer):
    advertiser_id: str
    name: str | None = None
    currency: str | None = None
    timezone: str | None = None
    display_timezone: str | None = None
    status: str | None = None


class AdvertiserInfoList(_Answer):
    advertisers: list[AdvertiserInfo] = Field(alias="list")


@dataclass(frozen=True)
class Failure:
    """What one failed attempt tells (never a URL nor a token)."""

    retryable: bool
    description: str
    code: int | None = None
    retry_after: float | None = None


class _Failed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.description)
        self.failure = failure


def classify_code(code: int, message: str, request_id: str | None) -> Failure:
    """The failure a non-zero return code stands for: rate limits and system errors may pass, the rest stay."""
    where = f" (request_id {request_id})" if request_id else ""
    text = f"code {code}: {message}{where}"
    if is_retryable(code):
        return Failure(True, text, code)
    return Failure(False, text, code)


def classify_status(status: int, headers: Mapping[str, str]) -> Failure:
    """An HTTP status other than 200 (TikTok answers 200 even for errors; gateways do not): 429 and 5xx may pass."""
    retry_after = _retry_after(headers.get("Retry-After"))
    return Failure(status == 429 or status >= 500, f"HTTP {status}", None, retry_after)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def fatal_message(failure: Failure, prefix: str, name: str) -> str:
    """The one-line text of a fatal failure, with the fix when the code says what it is."""
    code = failure.code
    if code in TOKEN_CODES:
        return (
            f"{prefix}: the access token was refused ({failure.description}: {TOKEN_CODES[code]}); renew "
            f"connectors.{name}.credentials.access_token (and check app_id / credentials.secret)"
        )
    if code in PERMISSION_CODES:
        return (
            f"{prefix}: permission denied ({failure.description}); check that the app is authorised for the advertiser"
        )
    if code in PARAMETER_CODES:
        return f"{prefix}: the API refused a parameter ({failure.description})"
    return f"{prefix}: {failure.description}"


class TikTokClient:
    """Calls of one connector instance; counts requests and retries. Thread-safe (httpx.Client is)."""

    def __init__(
        self,
        settings: TikTokAdsSettings,
        access_token: SecretStr,
        secret: SecretStr | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._secret = secret
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=settings.base_url,
            timeout=settings.request_timeout_seconds,
            headers={TOKEN_HEADER: access_token.get_secret_value(), "Accept": "application/json"},
            transport=transport,
        )
        self._secrets = [access_token.get_secret_value()] + ([secret.get_secret_value()] if secret else [])
        self.requests = 0
        self.retries = 0

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: Mapping[str, Any], what: str) -> dict[str, Any]:
        """The `data` of a GET, retried while the failure may pass.

        Raises:
            TikTokAdsRetryableError: still failing when the retries ran out (or the wait asked is too long).
            TikTokAdsError: a fatal return code or HTTP status.
        """
        prefix = f"TikTok Ads {self.settings.name}: {what}"

        def attempt() -> dict[str, Any]:
            data, failure = self._attempt(path, params)
            if failure is not None:
                raise _Failed(failure)
            assert data is not None
            return data

        def verdict(error: Exception) -> Retry | BaseException:
            if not isinstance(error, _Failed):
                return error
            failure = error.failure
            if not failure.retryable:
                return TikTokAdsError(self.scrub(fatal_message(failure, prefix, self.settings.name)), failure.code)
            return Retry(failure.retry_after, self.scrub(failure.description))

        def give_up(error: Exception, stop: GiveUp) -> BaseException:
            assert isinstance(error, _Failed)
            failure = error.failure
            hint = "; too many requests, try again later" if failure.code in RATE_LIMIT_CODES else "; try again later"
            return TikTokAdsRetryableError(
                self.scrub(f"{prefix}: {failure.description} (after {stop.attempts - 1} retries){hint}"),
                failure.code,
                failure.retry_after,
            )

        return call_with_retries(
            attempt,
            classify=verdict,
            policy=self.settings.retry_policy(),
            what=prefix,
            give_up=give_up,
            sleep=self._pause,
        )

    def _pause(self, seconds: float) -> None:
        self.retries += 1
        self._sleep(seconds)

    def _attempt(self, path: str, params: Mapping[str, Any]) -> tuple[dict[str, Any] | None, Failure | None]:
        self.requests += 1
        try:
            response = self._http.get(path, params=dict(params))
        except httpx.TimeoutException as error:
            return None, Failure(True, f"timed out ({type(error).__name__})")
        except httpx.TransportError as error:
            return None, Failure(True, f"transport error ({type(error).__name__})")
        if response.status_code != 200:
            return None, classify_status(response.status_code, response.headers)
        try:
            envelope = Envelope.model_validate(response.json())
        except (ValueError, ValidationError):
            return None, Failure(True, "the answer is not a JSON envelope with a return code")
        if envelope.code != 0:
            return None, classify_code(envelope.code, envelope.message, envelope.request_id)
        if envelope.data is None:
            return None, Failure(True, f"the answer has no data (request_id {envelope.request_id})")
        return envelope.data, None

    def scrub(self, text: str) -> str:
        return redact(text, self._secrets)

    def authorised_advertisers(self, app_id: str) -> list[AuthorisedAdvertiser]:
        """The advertisers that authorised the app (oauth2/advertiser/get, which takes the app secret)."""
        if self._secret is None:
            raise TikTokAdsError(f"TikTok Ads {self.settings.name}: credentials.secret is needed to list advertisers")
        params = {"app_id": app_id, "secret": self._secret.get_secret_value()}
        data = self.get(ADVERTISER_GET_PATH, params, "list the authorised advertisers")
        return _parse(AdvertiserList, data, "advertiser list", self).advertisers

    def advertiser_info(self, advertiser_ids: Sequence[str]) -> list[AdvertiserInfo]:
        """Name, currency, time zone and status of the advertisers (advertiser/info, 100 a call)."""
        found: list[AdvertiserInfo] = []
        for at in range(0, len(advertiser_ids), ADVERTISER_INFO_BATCH):
            batch = list(advertiser_ids[at : at + ADVERTISER_INFO_BATCH])
            params = {"advertiser_ids": json.dumps(batch), "fields": json.dumps(list(ADVERTISER_INFO_FIELDS))}
            data = self.get(ADVERTISER_INFO_PATH, params, f"read advertiser info of {', '.join(batch)}")
            found += _parse(AdvertiserInfoList, data, "advertiser info", self).advertisers
        return found

    def report_pages(
        self, query: ReportQuery, advertiser_id: str, start: dt.date, end: dt.date, what: str
    ) -> Iterator[list[Any]]:
        """The rows of every page of one synchronous report, page 1 to `total_page`.

        Raises:
            TikTokAdsRetryableError: a page that does not parse, or whose paging changed midway.
        """
        page = 1
        total_page: int | None = None
        while True:
            params = {
                "advertiser_id": advertiser_id,
                "report_type": query.report_type,
                "data_level": query.data_level,
                "dimensions": json.dumps(list(query.dimensions)),
                "metrics": json.dumps(list(query.metrics)),
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "page": page,
                "page_size": self.settings.page_size,
            }
            data = self.get(REPORT_PATH, params, f"{what} page {page}")
            answer = _parse(ReportPage, data, f"{what} page {page}", self)
            info = answer.page_info
            if total_page is not None and info.total_page != total_page:
                raise TikTokAdsRetryableError(
                    f"TikTok Ads {self.settings.name}: {what}: the report changed while paging "
                    f"(total_page {total_page} then {info.total_page}); try again"
                )
            total_page = info.total_page
            yield answer.rows
            if page >= total_page or not answer.rows:
                return
            page += 1


def _parse(model: type[M], data: Mapping[str, Any], what: str, client: TikTokClient) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:3])
        raise TikTokAdsRetryableError(
            client.scrub(f"TikTok Ads {client.settings.name}: {what}: unexpected answer ({problems})")
        ) from None
