"""Google Ads API failures: what the client raised, classified as retryable or fatal from the API's codes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import grpc
from google.ads.googleads.errors import GoogleAdsException
from google.api_core import exceptions as core_exceptions
from google.auth import exceptions as auth_exceptions
from google.protobuf.message import DecodeError

from connectors.google_ads.settings import (
    ERRORS_MODULE,
    FAILURE_METADATA_KEY,
    REQUEST_ID_METADATA_KEY,
    import_api_module,
)
from mdp.errors import ConnectorError, RetryableAPIError

RETRYABLE_STATUSES = frozenset({"INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"})
RETRYABLE_ERRORS = frozenset(
    {
        "quota_error.RESOURCE_TEMPORARILY_EXHAUSTED",
        "internal_error.INTERNAL_ERROR",
        "internal_error.TRANSIENT_ERROR",
        "internal_error.DEADLINE_EXCEEDED",
    }
)
# Error groups that no retry fixes (the daily quota resets at midnight Pacific, credentials need a human).
FATAL_ERROR_GROUPS = frozenset({"authentication_error", "authorization_error"})
FATAL_ERRORS = frozenset({"quota_error.RESOURCE_EXHAUSTED"})


@dataclass(frozen=True)
class ApiFailure:
    """One failed call as the API described it."""

    status: str
    errors: tuple[str, ...]
    request_id: str | None
    message: str
    retry_delay: float | None = None

    @property
    def retryable(self) -> bool:
        if any(e in FATAL_ERRORS or e.split(".")[0] in FATAL_ERROR_GROUPS for e in self.errors):
            return False
        return self.status in RETRYABLE_STATUSES or any(e in RETRYABLE_ERRORS for e in self.errors)

    def describe(self) -> str:
        """'PERMISSION_DENIED authorization_error.USER_PERMISSION_DENIED (request id X): message'."""
        codes = f" {', '.join(self.errors)}" if self.errors else ""
        request = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.status}{codes}{request}: {self.message}"


class GoogleAdsAPIError(ConnectorError):
    """A call failed in a way no retry fixes: permission, authentication, daily quota, bad request."""

    def __init__(self, message: str, *, account: str, failure: ApiFailure | None = None) -> None:
        super().__init__(message)
        self.account = account
        self.failure = failure


class GoogleAdsRetryableError(RetryableAPIError):
    """A retryable failure that persisted through the connector's own retries."""

    def __init__(self, message: str, *, account: str, failure: ApiFailure, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.account = account
        self.failure = failure


@cache
def failure_type() -> Any:
    return import_api_module(ERRORS_MODULE).GoogleAdsFailure.pb()


def parse_failure(data: bytes | str) -> Any | None:
    """The `GoogleAdsFailure` protobuf in a trailer value, or None when it does not parse."""
    raw = data.encode("latin-1") if isinstance(data, str) else data
    try:
        return failure_type().FromString(raw)
    except DecodeError:
        return None


def _failure_from_metadata(metadata: Iterable[Any] | None) -> tuple[Any | None, str | None]:
    failure, request_id = None, None
    for item in metadata or ():
        key, value = item[0], item[1]
        if key == FAILURE_METADATA_KEY:
            failure = parse_failure(value)
        elif key == REQUEST_ID_METADATA_KEY:
            request_id = value.decode() if isinstance(value, bytes) else str(value)
    return failure, request_id


def _errors(failure: Any | None) -> tuple[tuple[str, ...], str | None, float | None]:
    """Error names ('group.NAME'), the first message and the longest retry_delay of a failure pb."""
    if failure is None:
        return (), None, None
    names: list[str] = []
    messages: list[str] = []
    delay: float | None = None
    for error in failure.errors:
        group = error.error_code.WhichOneof("error_code")
        if group:
            number = getattr(error.error_code, group)
            enum = error.error_code.DESCRIPTOR.fields_by_name[group].enum_type
            value = enum.values_by_number.get(number)
            names.append(f"{group}.{value.name if value else number}")
        if error.message:
            messages.append(error.message)
        if error.details.HasField("quota_error_details"):
            retry = error.details.quota_error_details.retry_delay
            seconds = retry.seconds + retry.nanos / 1e9
            delay = seconds if delay is None else max(delay, seconds)
    return tuple(names), (messages[0] if messages else None), delay


def _trailing_metadata(call: Any) -> Sequence[Any] | None:
    getter = getattr(call, "trailing_metadata", None)
    if getter is None:
        return None
    try:
        result = getter()
    except (grpc.RpcError, ValueError, AttributeError):
        return None
    return result if isinstance(result, Sequence) else None


def _status_name(code: Any) -> str:
    name = getattr(code, "name", None)
    return str(name) if name else "UNKNOWN"


def classify(exc: BaseException) -> ApiFailure | None:
    """Describe an exception raised by the google-ads client, or None when it is not an API failure."""
    if isinstance(exc, GoogleAdsException):
        names, message, delay = _errors(_as_pb(exc.failure))
        status = _status_name(exc.error.code()) if hasattr(exc.error, "code") else "UNKNOWN"
        details = exc.error.details() if hasattr(exc.error, "details") else None
        return ApiFailure(status, names, exc.request_id, message or str(details or "no details"), delay)
    if isinstance(exc, core_exceptions.GoogleAPICallError):
        failure, request_id = _failure_from_metadata(_trailing_metadata(exc.response))
        names, message, delay = _errors(failure)
        status = _status_name(exc.grpc_status_code)
        return ApiFailure(status, names, request_id, message or exc.message or status, delay)
    if isinstance(exc, grpc.RpcError):
        failure, request_id = _failure_from_metadata(_trailing_metadata(exc))
        names, message, delay = _errors(failure)
        code = getattr(exc, "code", None)
        status = _status_name(code()) if callable(code) else "UNKNOWN"
        details = getattr(exc, "details", None)
        text = message or (str(details()) if callable(details) else status)
        return ApiFailure(status, names, request_id, text, delay)
    if isinstance(exc, auth_exceptions.RefreshError):
        status = "UNAVAILABLE" if getattr(exc, "retryable", False) else "UNAUTHENTICATED"
        name = () if status == "UNAVAILABLE" else ("authentication_error.OAUTH_TOKEN_REFRESH_FAILED",)
        return ApiFailure(status, name, None, _auth_message(exc))
    if isinstance(exc, auth_exceptions.TransportError):
        return ApiFailure("UNAVAILABLE", (), None, f"cannot reach the OAuth token endpoint ({type(exc).__name__})")
    return None


def _auth_message(exc: auth_exceptions.RefreshError) -> str:
    # google-auth puts the token endpoint's JSON answer in args[1]; keep only the short reason.
    first = exc.args[0] if exc.args else ""
    return f"OAuth token refresh failed: {str(first)[:200]}"


def _as_pb(message: Any) -> Any:
    if message is None:
        return None
    pb = getattr(type(message), "pb", None)
    return pb(message) if callable(pb) else message
