"""TikTok Ads errors: the API's return codes classified as fatal or retryable."""

from __future__ import annotations

from mdp.errors import ConnectorError, RetryableAPIError


class TikTokAdsError(ConnectorError):
    """A call failed for good (token, permission, parameter): the account's unit fails."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TikTokAdsRetryableError(RetryableAPIError):
    """A call failed for a reason that may pass (code 40100 too many requests, 5xxxx system errors, HTTP 5xx or
    429, timeouts)."""

    def __init__(self, message: str, code: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.code = code
