"""Reporting service reports: SubmitGenerateReport, PollGenerateReport on a bounded doubling wait, and the
download of the zipped CSV the poll answer points at."""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import requests
from bingads.service_client import ServiceClient

from connectors.microsoft_ads.client import Session
from connectors.microsoft_ads.exceptions import MicrosoftAdsError, MicrosoftAdsRetryableError
from connectors.microsoft_ads.settings import (
    REPORT_FORMAT_VERSION,
    REPORT_QUERIES,
    REPORT_STATUS_ERROR,
    REPORT_STATUS_PENDING,
    REPORT_STATUS_SUCCESS,
    REPORTING_SERVICE,
    MicrosoftAdsSettings,
    ReportQuery,
)

logger = logging.getLogger(__name__)


def poll_waits(initial: float, maximum: float) -> Iterator[float]:
    """Waits between status polls: doubling from `initial`, capped at `maximum`."""
    wait = initial
    while True:
        yield wait
        wait = min(maximum, wait * 2 if wait > 0 else maximum)


def report_request(
    service: ServiceClient, stream: str, account_id: str, start: dt.date, end: dt.date, query: ReportQuery | None = None
) -> Any:
    """The SDK object of one daily report request of `stream` (its `query`, by default the built-in stream's) for
    one account over start..end."""
    query = query or REPORT_QUERIES[stream]
    factory = service.factory
    request = factory.create(query.request_type)
    request.Format = "Csv"
    request.FormatVersion = REPORT_FORMAT_VERSION
    request.ReportName = f"mdp {stream} {account_id} {start}..{end}"
    request.ReturnOnlyCompleteData = False
    request.ExcludeColumnHeaders = False
    request.ExcludeReportHeader = False
    request.ExcludeReportFooter = False
    request.Aggregation = "Daily"
    columns = factory.create(f"ArrayOf{query.column_type}")
    setattr(columns, query.column_type, list(query.columns))
    request.Columns = columns
    scope = factory.create(query.scope_type)
    scope.AccountIds = {"long": [int(account_id)]}
    request.Scope = scope
    request.Time = _report_time(factory, start, end)
    return request


def _report_time(factory: Any, start: dt.date, end: dt.date) -> Any:
    report_time = factory.create("ReportTime")
    for attribute, day in (("CustomDateRangeStart", start), ("CustomDateRangeEnd", end)):
        date = factory.create("Date")
        date.Day, date.Month, date.Year = day.day, day.month, day.year
        setattr(report_time, attribute, date)
    report_time.PredefinedTime = None
    report_time.ReportTimeZone = None  # the account's own time zone
    return report_time


class ReportRunner:
    """Runs the reports of one account through one session."""

    def __init__(
        self,
        session: Session,
        settings: MicrosoftAdsSettings,
        account_id: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.settings = settings
        self.account_id = account_id
        self.polls = 0
        self._sleep = sleep
        self._clock = clock
        self._service: ServiceClient | None = None

    @property
    def service(self) -> ServiceClient:
        if self._service is None:
            self._service = self.session.service(REPORTING_SERVICE, self.account_id)
        return self._service

    def csv(self, stream: str, start: dt.date, end: dt.date, query: ReportQuery | None = None) -> str | None:
        """The report file's text, or None when the report has no rows (no download URL).

        Raises:
            MicrosoftAdsRetryableError: throttling, a report ended in status Error, or not ready in time.
            MicrosoftAdsError: token, permission or request errors.
        """
        what = f"account {self.account_id} {stream} report {start}..{end}"
        request = report_request(self.service, stream, self.account_id, start, end, query)
        request_id = self.session.call(self.service, "SubmitGenerateReport", f"{what}: submit", ReportRequest=request)
        url = self._wait(str(request_id), what)
        return None if url is None else self._download(url, what)

    def _wait(self, request_id: str, what: str) -> str | None:
        began = self._clock()
        deadline = began + self.settings.report_timeout_seconds
        for wait in poll_waits(self.settings.poll_initial_seconds, self.settings.poll_max_seconds):
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            self._sleep(min(wait, remaining))
            status = self.session.call(self.service, "PollGenerateReport", f"{what}: poll", ReportRequestId=request_id)
            self.polls += 1
            state = str(getattr(status, "Status", "") or "")
            logger.debug("Microsoft Ads %s: report %s %s", what, request_id, state)
            if state == REPORT_STATUS_SUCCESS:
                url = getattr(status, "ReportDownloadUrl", None)
                return str(url) if url else None
            if state == REPORT_STATUS_ERROR:
                raise MicrosoftAdsRetryableError(
                    f"Microsoft Ads {self.settings.name}: {what}: the Reporting service ended report {request_id} in "
                    "status Error; try again later"
                )
            if state != REPORT_STATUS_PENDING:
                raise MicrosoftAdsError(f"Microsoft Ads {self.settings.name}: {what}: unknown report status {state!r}")
        raise MicrosoftAdsRetryableError(
            f"Microsoft Ads {self.settings.name}: {what}: report {request_id} not ready after "
            f"{self.settings.report_timeout_seconds:g}s ({self.polls} polls; report_timeout_seconds); try again later"
        )

    def _download(self, url: str, what: str) -> str:
        """The CSV inside the zip the download URL serves. Done with requests rather than the SDK's
        ReportingDownloadOperation, which writes the file to a working directory and polls on its own
        fixed interval; the URL is signed, so it is never logged."""
        prefix = f"Microsoft Ads {self.settings.name}: {what}: download"
        self.session.requests += 1
        try:
            response = requests.get(url, timeout=self.settings.request_timeout_seconds)
        except requests.RequestException as error:
            raise MicrosoftAdsRetryableError(f"{prefix}: {type(error).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise MicrosoftAdsRetryableError(f"{prefix}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise MicrosoftAdsError(f"{prefix}: HTTP {response.status_code}")
        try:
            with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
                members = [n for n in archive.namelist() if not n.endswith("/")]
                if not members:
                    raise MicrosoftAdsRetryableError(f"{prefix}: the zip file is empty")
                data = archive.read(members[0])
        except zipfile.BadZipFile:
            raise MicrosoftAdsRetryableError(f"{prefix}: not a zip file") from None
        return data.decode("utf-8-sig")
