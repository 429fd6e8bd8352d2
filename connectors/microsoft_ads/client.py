"""One authorised session with the Microsoft Advertising SOAP services (the bingads SDK's ServiceClient), the
refresh-token exchange against a configurable token URL, and the classification of every failure."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from bingads.authorization import AuthorizationData, OAuthTokens, OAuthWebAuthCodeGrant
from bingads.exceptions import OAuthTokenRequestException
from bingads.service_client import ServiceClient
from bingads.util import DictCache
from pydantic import SecretStr
from suds import WebFault
from suds.transport import TransportError

from connectors.microsoft_ads.exceptions import MicrosoftAdsError, MicrosoftAdsRetryableError
from connectors.microsoft_ads.settings import (
    API_VERSION,
    OAUTH_SCOPE,
    PERMISSION_CODES,
    RETRYABLE_CODES,
    RETRYABLE_OAUTH_ERRORS,
    TOKEN_CODES,
    MicrosoftAdsSettings,
)
from mdp.secrets import redact, register_secret

logger = logging.getLogger(__name__)

T = TypeVar("T")
_WSDL_CACHES = threading.local()


def wsdl_cache() -> DictCache:
    """This thread's cache of parsed WSDLs. The SDK gives every ServiceClient a cache of its own, so each one
    parses its service's WSDL again (about a second). Sharing one across threads is wrong: suds hands a cached
    WSDL the options of the client that opened it last, SOAP headers included (suds.reader.DefinitionsReader),
    so concurrent clients would send each other's CustomerAccountId and token. Within one thread, clients
    are used one after another."""
    cache = getattr(_WSDL_CACHES, "cache", None)
    if cache is None:
        cache = _WSDL_CACHES.cache = DictCache()
    return cache


@dataclass(frozen=True)
class Credentials:
    refresh_token: SecretStr
    client_id: SecretStr
    developer_token: SecretStr
    client_secret: SecretStr | None = None


class RefreshTokenGrant(OAuthWebAuthCodeGrant):  # type: ignore[misc]
    """The SDK's OAuth authorisation (it puts the access token in each request's AuthenticationToken header and,
    on AuthenticationTokenExpired, refreshes it through `request_oauth_tokens_by_refresh_token`), with only the
    refresh-token exchange itself done here: the SDK takes its token URL from a fixed table keyed by environment
    (bingads.authorization._UriOAuthService.AUTH_TOKEN_URI) that nothing can aim elsewhere, and the exchange
    must reach the configured `token_url` (a sandbox, a national cloud tenant)."""

    def __init__(self, client_id: str, client_secret: str | None, token_url: str, timeout: float) -> None:
        super().__init__(client_id, client_secret, None)
        self._token_url = token_url
        self._timeout = timeout

    def request_oauth_tokens_by_refresh_token(self, refresh_token: str) -> OAuthTokens:
        form = {
            "client_id": self.client_id,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "scope": OAUTH_SCOPE,
        }
        if self.client_secret:
            form["client_secret"] = self.client_secret
        response = requests.post(self._token_url, data=form, timeout=self._timeout)
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        token = body.get("access_token")
        if response.status_code >= 400 or not isinstance(token, str) or not token:
            error = body.get("error") or f"HTTP {response.status_code}"
            raise OAuthTokenRequestException(str(error), str(body.get("error_description") or ""))
        register_secret(token)
        new_refresh = body.get("refresh_token")
        if isinstance(new_refresh, str) and new_refresh:
            register_secret(new_refresh)
        # response_json is left out: it holds the tokens.
        self._oauth_tokens = OAuthTokens(token, int(body.get("expires_in") or 3600), new_refresh or refresh_token)
        return self._oauth_tokens


class Session:
    """Authorised calls to the SOAP services of one customer; counts requests. Not shared between threads."""

    def __init__(self, settings: MicrosoftAdsSettings, credentials: Credentials) -> None:
        self.settings = settings
        self._credentials = credentials
        secret = credentials.client_secret
        self._grant = RefreshTokenGrant(
            credentials.client_id.get_secret_value(),
            secret.get_secret_value() if secret else None,
            settings.token_url,
            settings.request_timeout_seconds,
        )
        self.requests = 0

    def authorize(self) -> None:
        """Exchange the refresh token for an access token (once per session)."""
        if self._grant.oauth_tokens is None:
            refresh = self._credentials.refresh_token.get_secret_value()
            self._guard(lambda: self._grant.request_oauth_tokens_by_refresh_token(refresh), "refresh the access token")

    def service(self, name: str, account_id: str | None = None) -> ServiceClient:
        """The SDK's client of one SOAP service, sent to the configured endpoint when there is one."""
        self.authorize()
        authorization = AuthorizationData(
            account_id=account_id,
            customer_id=self.settings.customer_id,
            developer_token=self._credentials.developer_token.get_secret_value(),
            authentication=self._grant,
        )
        options: dict[str, Any] = {"timeout": self.settings.request_timeout_seconds, "cache": wsdl_cache()}
        location = self.settings.service_location(name)
        if location is not None:
            options["location"] = location  # suds sends the calls there instead of the WSDL's soap:address
        return ServiceClient(name, API_VERSION, authorization_data=authorization, environment="production", **options)

    def call(self, service: ServiceClient, operation: str, what: str, **arguments: Any) -> Any:
        """`service.<operation>(**arguments)`, its failures classified."""
        self.requests += 1
        return self._guard(lambda: getattr(service, operation)(**arguments), what)

    def _guard(self, call: Callable[[], T], what: str) -> T:
        prefix = f"Microsoft Ads {self.settings.name}: {what}"
        try:
            return call()
        except WebFault as fault:
            raise classify_fault(fault, prefix, self.settings.name) from None
        except OAuthTokenRequestException as error:
            raise _token_refused(error, prefix, self.settings.name) from None
        except TransportError as error:
            status = getattr(error, "httpcode", None)
            reason = redact(str(getattr(error, "reason", "") or error))
            if status is not None and (status >= 500 or status == 429):
                raise MicrosoftAdsRetryableError(f"{prefix}: HTTP {status} ({reason})") from None
            raise MicrosoftAdsError(f"{prefix}: HTTP {status} ({reason})") from None
        except (requests.RequestException, OSError) as error:
            raise MicrosoftAdsRetryableError(f"{prefix}: {type(error).__name__} ({redact(str(error))})") from None
        except Exception as error:
            status = suds_http_status(error)
            if status is None:
                raise
            if status >= 500 or status == 429:
                raise MicrosoftAdsRetryableError(f"{prefix}: HTTP {status}") from None
            raise MicrosoftAdsError(f"{prefix}: HTTP {status}") from None


def suds_http_status(error: Exception) -> int | None:
    """The HTTP status of suds' bare `Exception((status, reason))`, raised for an answer other than 200 and
    500 (suds.client._SoapClient.process_reply); None for any other exception."""
    if type(error) is Exception and len(error.args) == 1:
        (detail,) = error.args
        if isinstance(detail, tuple) and len(detail) == 2 and isinstance(detail[0], int):
            return detail[0]
    return None


def fault_errors(fault: WebFault) -> list[tuple[int | None, str, str]]:
    """(code, error code, message) of each AdApiError / OperationError / BatchError in a SOAP fault's detail."""
    found: list[tuple[int | None, str, str]] = []

    def walk(node: Any, depth: int) -> None:
        if node is None or depth > 8:
            return
        if isinstance(node, list):
            for item in node:
                walk(item, depth + 1)
            return
        keys = getattr(node, "__keylist__", None)
        if keys is None:
            return
        if "Code" in keys and ("ErrorCode" in keys or "Message" in keys):
            raw = str(getattr(node, "Code", "") or "").strip()
            code = int(raw) if raw.lstrip("-").isascii() and raw.lstrip("-").isdigit() else None
            found.append((code, str(getattr(node, "ErrorCode", "") or ""), str(getattr(node, "Message", "") or "")))
            return
        for key in keys:
            walk(getattr(node, key, None), depth + 1)

    walk(getattr(getattr(fault, "fault", None), "detail", None), 0)
    return found


def classify_fault(fault: WebFault, prefix: str, name: str) -> MicrosoftAdsError | MicrosoftAdsRetryableError:
    """The error a SOAP fault stands for: throttling and internal errors are retryable, the rest fatal."""
    errors = fault_errors(fault)
    if not errors:
        text = redact(str(getattr(getattr(fault, "fault", None), "faultstring", "") or fault))
        return MicrosoftAdsError(f"{prefix}: SOAP fault: {text}")
    code = errors[0][0]
    described = "; ".join(redact(f"code {c} {e}: {m}".strip()) for c, e, m in errors)
    if all(c in RETRYABLE_CODES for c, _, _ in errors):
        # CallRateExceeded carries no wait of its own: the flow's backoff spaces the next attempts.
        return MicrosoftAdsRetryableError(f"{prefix}: {described}; try again later", code)
    if code in TOKEN_CODES:
        return MicrosoftAdsError(
            f"{prefix}: the access token was refused ({described}); renew the refresh token in "
            f"connectors.{name}.credentials.refresh_token (and check client_id and developer_token)",
            code,
        )
    if code in PERMISSION_CODES:
        return MicrosoftAdsError(f"{prefix}: permission denied ({described}); check the user's access", code)
    return MicrosoftAdsError(f"{prefix}: {described}", code)


def _token_refused(
    error: OAuthTokenRequestException, prefix: str, name: str
) -> MicrosoftAdsError | MicrosoftAdsRetryableError:
    code = str(error.error_code or "")
    description = redact(str(error.error_description or ""))
    if code in RETRYABLE_OAUTH_ERRORS or code.startswith("HTTP 5"):
        return MicrosoftAdsRetryableError(f"{prefix}: the token endpoint answered {code} ({description})")
    return MicrosoftAdsError(
        f"{prefix}: the token endpoint refused the refresh token ({code}: {description}); the refresh token is "
        f"expired or revoked: renew connectors.{name}.credentials.refresh_token (and check client_id/client_secret)"
    )
