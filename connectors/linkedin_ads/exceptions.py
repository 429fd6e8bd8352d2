"""LinkedIn Ads errors: HTTP answers and token refusals classified as fatal or retryable."""

from __future__ import annotations

from mdp.errors import ConnectorError, RetryableAPIError


class LinkedInAdsError(ConnectorError):
    """A call failed for good (token, permission, invalid request): the account's unit fails.

    `status` is the HTTP status (None for a refused refresh token before any API call)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LinkedInAdsRetryableError(RetryableAPIError):
    """A call failed for a reason that may pass: throttling (429, with the Retry-After it names), 5xx, timeouts,
    a token endpoint that is unavailable."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status = status
