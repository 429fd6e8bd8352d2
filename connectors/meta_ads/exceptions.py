"""Meta Ads errors: Graph failures classified as fatal or retryable, and a report run that did not finish."""

from __future__ import annotations

from dataclasses import dataclass

from mdp.errors import ConnectorError, RetryableAPIError


@dataclass(frozen=True)
class GraphFailure:
    """What one failed Graph request tells: enough to decide on a retry and to explain it (never a secret)."""

    retryable: bool
    reason: str
    http_status: int | None = None
    code: int | None = None
    subcode: int | None = None
    fbtrace_id: str | None = None
    message: str | None = None
    retry_after: float | None = None  # seconds the API asked for (throttling headers)

    def describe(self) -> str:
        details = [
            f"{name} {value}"
            for name, value in (
                ("HTTP", self.http_status),
                ("code", self.code),
                ("subcode", self.subcode),
                ("fbtrace_id", self.fbtrace_id),
            )
            if value is not None
        ]
        text = self.reason + (f" ({', '.join(details)})" if details else "")
        return f"{text}: {self.message}" if self.message else text


class MetaAdsError(ConnectorError):
    """A Graph request failed for good (token, permission, invalid parameter): the account's unit fails."""

    def __init__(self, message: str, failure: GraphFailure | None = None) -> None:
        super().__init__(message)
        self.failure = failure


class MetaAdsRetryableError(RetryableAPIError):
    """A Graph request kept failing for a reason that may pass (throttling, 5xx, timeouts)."""

    def __init__(self, message: str, failure: GraphFailure | None = None) -> None:
        super().__init__(message, retry_after=failure.retry_after if failure else None)
        self.failure = failure


class ReportRunFailed(Exception):
    """An async insights report run ended "Job Failed"/"Job Skipped" or outlived its timeout."""
