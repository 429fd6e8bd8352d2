"""Microsoft Advertising errors: SOAP faults and token refusals classified as fatal or retryable."""

from __future__ import annotations

from mdp.errors import ConnectorError, RetryableAPIError


class MicrosoftAdsError(ConnectorError):
    """A call failed for good (token, permission, invalid request): the account's unit fails."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class MicrosoftAdsRetryableError(RetryableAPIError):
    """A call failed for a reason that may pass (throttling code 117, internal errors, 5xx, timeouts, a report
    that ended in status Error)."""

    def __init__(self, message: str, code: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.code = code
