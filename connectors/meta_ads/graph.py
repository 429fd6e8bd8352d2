"""A Graph API client for one thread: an explicit `FacebookAdsApi` session, a timeout on every request,
and retries (exponential backoff with jitter, throttle headers honoured) for retryable failures only."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

import requests
from facebook_business.api import FacebookAdsApi
from facebook_business.exceptions import FacebookRequestError
from facebook_business.session import FacebookSession

from connectors.kit.retry import GiveUp, Retry, call_with_retries
from connectors.meta_ads.exceptions import GraphFailure, MetaAdsError, MetaAdsRetryableError
from connectors.meta_ads.settings import (
    INVALID_PARAMETER_CODE,
    PERMISSION_CODES,
    THROTTLE_CODES,
    TOKEN_CODES,
    MetaAdsSettings,
)
from mdp.secrets import redact, register_secret

logger = logging.getLogger(__name__)

Path = tuple[str, ...]
_URL_SECRETS = re.compile(r"((?:access_token|appsecret_proof)=)[^&\s\"']+")


def throttle_wait(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the throttling headers ask to wait, if they name a time.

    `x-business-use-case-usage` gives `estimated_time_to_regain_access` in minutes per business and
    usage type; `x-ad-account-usage` gives `reset_time_duration` in seconds.
    """
    if not headers:
        return None
    lowered = {str(k).lower(): v for k, v in headers.items()}
    waits: list[float] = []
    usage = _json_header(lowered.get("x-business-use-case-usage"))
    if isinstance(usage, dict):
        for entries in usage.values():
            for entry in entries if isinstance(entries, list) else []:
                minutes = entry.get("estimated_time_to_regain_access") if isinstance(entry, dict) else None
                if isinstance(minutes, int | float) and not isinstance(minutes, bool) and minutes > 0:
                    waits.append(60.0 * minutes)
    account_usage = _json_header(lowered.get("x-ad-account-usage"))
    if isinstance(account_usage, dict):
        seconds = account_usage.get("reset_time_duration")
        if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0:
            waits.append(float(seconds))
    return max(waits) if waits else None


def insights_utilisation(headers: Mapping[str, str] | None) -> int | None:
    """The highest percentage in `x-fb-ads-insights-throttle` (app and account), if present."""
    if not headers:
        return None
    lowered = {str(k).lower(): v for k, v in headers.items()}
    value = _json_header(lowered.get("x-fb-ads-insights-throttle"))
    if not isinstance(value, dict):
        return None
    pcts = [
        v
        for k, v in value.items()
        if k.endswith("_util_pct") and isinstance(v, int | float) and not isinstance(v, bool)
    ]
    return int(max(pcts)) if pcts else None


def _json_header(raw: str | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def classify_graph_error(error: FacebookRequestError, throttle_pause: float) -> GraphFailure:
    """A Graph error answer: throttling (waited for as the headers say, else `throttle_pause` seconds),
    transient and 5xx errors are retryable; token (190), permission (10, 200-299), invalid parameter (100)
    and any other 4xx are not."""
    code = _as_int(error.api_error_code())
    subcode = _as_int(error.api_error_subcode())
    status = _as_int(error.http_status())
    headers = error.http_headers()
    body = error.body()
    trace = body["error"].get("fbtrace_id") if isinstance(body, dict) and "error" in body else None
    if trace is None and headers:
        trace = {str(k).lower(): v for k, v in headers.items()}.get("x-fb-trace-id")
    message = error.api_error_message()
    common: dict[str, Any] = {
        "http_status": status,
        "code": code,
        "subcode": subcode,
        "fbtrace_id": str(trace) if trace else None,
        "message": redact(str(message)) if message else None,
    }
    if code in THROTTLE_CODES:
        wait = throttle_wait(headers)
        return GraphFailure(True, "throttled", retry_after=wait or throttle_pause, **common)
    if code in TOKEN_CODES:
        return GraphFailure(False, "access token rejected", **common)
    if code in PERMISSION_CODES:
        return GraphFailure(False, "permission denied", **common)
    if code == INVALID_PARAMETER_CODE:
        return GraphFailure(False, "invalid parameter", **common)
    if status is not None and status >= 500:
        return GraphFailure(True, "server error", **common)
    if error.api_transient_error() is True:
        return GraphFailure(True, "transient error", **common)
    return GraphFailure(False, "request rejected", **common)


def classify_transport_error(error: requests.RequestException, timeout: tuple[float, float]) -> GraphFailure:
    """No answer: timeouts and broken connections are retryable, anything else is not. The exception's
    own text is left out (it may hold the URL, and so the token)."""
    if isinstance(error, requests.ConnectTimeout):
        return GraphFailure(True, f"connect timeout after {timeout[0]:g}s")
    if isinstance(error, requests.Timeout):
        return GraphFailure(True, f"read timeout after {timeout[1]:g}s")
    if isinstance(error, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return GraphFailure(True, f"connection failed ({type(error).__name__})")
    return GraphFailure(False, f"request failed ({type(error).__name__})")


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class GraphClient:
    """One Graph API session. Not shared between threads: create one per extraction."""

    def __init__(
        self,
        settings: MetaAdsSettings,
        access_token: str,
        app_secret: str | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.policy = settings.retry_policy()
        self._sleep = sleep
        session = FacebookSession(access_token=access_token, app_secret=app_secret, timeout=settings.timeout)
        session.GRAPH = settings.base_url
        self._secrets = [access_token]
        if app_secret:
            self._secrets += [app_secret, session.appsecret_proof]
        for value in self._secrets:
            register_secret(value)  # the token and the proof travel in URLs that urllib3 logs at DEBUG
        self._session = session
        self._api = FacebookAdsApi(session, api_version=settings.api_version)
        self.requests = 0
        self.retries = 0

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._session.requests.close()

    def get(self, path: Sequence[str], params: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        return self.request("GET", path, params, what=what)

    def post(self, path: Sequence[str], params: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        return self.request("POST", path, params, what=what)

    def request(self, method: str, path: Sequence[str], params: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        """The JSON object answered, after retrying retryable failures.

        Raises:
            MetaAdsRetryableError: still failing after `max_retries` retries.
            MetaAdsError: a failure retrying cannot fix.
        """

        def attempt() -> dict[str, Any]:
            body, failure = self._attempt(method, tuple(path), params)
            if failure is not None:
                raise _Failed(failure)
            assert body is not None
            return body

        def verdict(error: Exception) -> Retry | BaseException:
            if not isinstance(error, _Failed):
                return error
            if not error.failure.retryable:
                return MetaAdsError(self.scrub(f"Meta Ads {what} failed: {error.failure.describe()}"), error.failure)
            return Retry(error.failure.retry_after, error.failure.describe())

        def give_up(error: Exception, stop: GiveUp) -> BaseException:
            # A wait over max_delay is not waited here: the unit is retried later by the flow, which honours it.
            assert isinstance(error, _Failed)
            text = self.scrub(f"Meta Ads {what} failed: {error.failure.describe()}")
            return MetaAdsRetryableError(f"{text} (after {stop.attempts - 1} retries)", error.failure)

        return call_with_retries(
            attempt, classify=verdict, policy=self.policy, what=f"Meta Ads {what}", give_up=give_up, sleep=self._pause
        )

    def _pause(self, seconds: float) -> None:
        self.retries += 1
        self._sleep(seconds)

    def _attempt(
        self, method: str, path: Path, params: Mapping[str, Any]
    ) -> tuple[dict[str, Any] | None, GraphFailure | None]:
        self.requests += 1
        try:
            response = self._api.call(method, path, params=dict(params))
        except FacebookRequestError as error:
            return None, classify_graph_error(error, self.settings.throttle_pause_seconds)
        except requests.RequestException as error:
            return None, classify_transport_error(error, self.settings.timeout)
        body = response.json()
        if not isinstance(body, dict):
            return None, GraphFailure(True, "unexpected answer (not a JSON object)", response.status())
        utilisation = insights_utilisation(response.headers())
        if utilisation is not None and utilisation >= 90:
            logger.info("Meta Ads insights throttle at %d%% for %s", utilisation, "/".join(path))
        return body, None

    def scrub(self, text: str) -> str:
        """`text` without this client's secrets (nor any registered one, nor token-like URL values)."""
        return _URL_SECRETS.sub(r"\1***", redact(text, self._secrets))


class _Failed(Exception):
    """A failed attempt, carrying only what it tells (never a URL nor a token)."""

    def __init__(self, failure: GraphFailure) -> None:
        super().__init__(failure.describe())
        self.failure = failure


def cursor_pages(
    client: GraphClient, path: Sequence[str], params: Mapping[str, Any], *, what: str
) -> Iterator[list[Any]]:
    """The `data` list of every page of a cursor-paged edge, following paging.cursors.after.

    Raises:
        MetaAdsRetryableError: a page without a `data` list (and what `get` raises).
        MetaAdsError: the cursor repeats itself (the paging would never end).
    """
    params = dict(params)
    seen: set[str] = set()
    while True:
        body = client.get(path, params, what=what)
        data = body.get("data")
        if not isinstance(data, list):
            raise MetaAdsRetryableError(f"Meta Ads {what}: a page carries no 'data' list")
        yield data
        paging = body.get("paging")
        cursors = paging.get("cursors") if isinstance(paging, dict) else None
        after = cursors.get("after") if isinstance(cursors, dict) else None
        if not (isinstance(paging, dict) and paging.get("next") and isinstance(after, str) and after):
            return
        if after in seen:
            raise MetaAdsError(f"Meta Ads {what}: the paging cursor repeats itself")
        seen.add(after)
        params["after"] = after
