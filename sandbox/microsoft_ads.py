"""A local Microsoft Advertising API (v13) for the official bingads SDK (suds): the CustomerManagement service
(SearchAccounts), the Reporting service (SubmitGenerateReport, PollGenerateReport), the zipped CSV report
downloads and the OAuth token endpoint (refresh-token grant), with SOAP faults."""

from __future__ import annotations

import io
import itertools
import json
import logging
import secrets
import threading
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from sandbox.config import SandboxConfig
from sandbox.data import MICROSOFT, Account, SyntheticData
from sandbox.faults import CallCounter, Fault, FaultPlan, without_first_campaign
from sandbox.hashing import stable_hash
from sandbox.http_sandbox import HttpSandbox
from sandbox.microsoft_streams import (
    FORMAT_VERSION_1,
    FORMAT_VERSIONS,
    REPORT_TYPE_PATTERN,
    TIME_ZONE_TYPES,
    ReportWriter,
    report_csv,
)
from sandbox.truth import Truth

logger = logging.getLogger(__name__)

CUSTOMER_PATH = "/Api/CustomerManagement/v13/CustomerManagementService.svc"
REPORTING_PATH = "/Api/Advertiser/Reporting/v13/ReportingService.svc"
TOKEN_PATH = "/common/oauth2/v2.0/token"
REPORT_PATH = "/reports/"
CUSTOMER_NS = "https://bingads.microsoft.com/Customer/v13"
ENTITIES_NS = "https://bingads.microsoft.com/Customer/v13/Entities"
REPORTING_NS = "https://bingads.microsoft.com/Reporting/v13"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_ENVELOPE = (
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>'
    '<h:TrackingId xmlns:h="{ns}">{tracking}</h:TrackingId></s:Header><s:Body>{body}</s:Body></s:Envelope>'
)
# fault kind -> (code, ErrorCode, Message) of the AdApiError the call answers with
_FAULT_ERRORS: dict[str, tuple[int, str, str]] = {
    "throttle": (117, "CallRateExceeded", "You have exceeded the number of calls that you are allowed to make."),
    "internal": (0, "InternalError", "An internal error has occurred."),
    "permission_denied": (106, "UserIsNotAuthorized", "You are not authorized to call this operation."),
    "token_invalid": (105, "InvalidCredentials", "Authentication failed. Either supplied credentials are invalid."),
    "expired_token": (109, "AuthenticationTokenExpired", "Authentication token expired. Please renew it."),
}
_MALFORMED_COLUMNS = {"negative_cost": "Spend", "missing_id": "CampaignId", "non_numeric": "Impressions"}


def report_key(operation: ElementTree.Element) -> str | None:
    """The report a SubmitGenerateReport asks for as faults name it (`Fault.report`): its request type
    (`KeywordPerformanceReportRequest`); None for other operations."""
    request = _child(operation, "ReportRequest")
    if request is None:
        return None
    return (request.get(f"{{{XSI_NS}}}type") or "").split(":")[-1] or None


class SoapFault(Exception):
    def __init__(self, code: int, error_code: str, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.code, self.error_code, self.message, self.status = code, error_code, message, status


@dataclass
class _Report:
    """A submitted report: what to write, how many polls remain, and the faults it carries."""

    report_type: str
    account: Account
    columns: tuple[str, ...]
    start: date
    end: date
    as_of: date | None
    name: str
    header: bool
    footer: bool
    polls_left: int
    format_version: str = FORMAT_VERSION_1
    status: str = "Pending"
    empty: bool = False
    malformed: list[Fault] = field(default_factory=list)
    rows_missing: bool = False


class _State:
    def __init__(self, truth: Truth, config: SandboxConfig, calls: CallCounter) -> None:
        self.truth = truth
        self.config = config
        self.calls = calls
        self.lock = threading.Lock()
        self.reports: dict[str, _Report] = {}
        self.tokens: set[str] = set()
        self._ids = itertools.count(1)

    @property
    def faults(self) -> FaultPlan:
        return self.truth.faults

    def customer_id(self) -> str:
        return customer_id_of(self.truth.data)

    def new_report_id(self) -> str:
        with self.lock:
            return f"{next(self._ids)}{secrets.token_hex(4)}"


def customer_id_of(data: SyntheticData) -> str:
    """The sandbox's one customer (manager), owner of every Microsoft account."""
    return str(100_000_000 + stable_hash(data.seed, MICROSOFT, "customer") % 900_000_000)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: _State

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("microsoft sandbox: " + format, *args)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if not path.startswith(REPORT_PATH):
            self._send(404, b"not found", "text/plain")
            return
        report = self.state.reports.get(path[len(REPORT_PATH) :].removesuffix(".zip"))
        if report is None:
            self._send(404, b"no such report", "text/plain")
            return
        self.state.calls.record(report.account.account_id, "download")
        self._send(200, _zip(self._csv(report)), "application/zip")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        path = urlsplit(self.path).path
        try:
            if path == TOKEN_PATH:
                self._token(dict(parse_qsl(body.decode())))
            elif path in (CUSTOMER_PATH, REPORTING_PATH):
                self._soap(path, body)
            else:
                self._send(404, b"not found", "text/plain")
        except SoapFault as fault:
            self._send(fault.status, _fault_xml(fault).encode(), "text/xml; charset=utf-8")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _token(self, form: Mapping[str, str]) -> None:
        self.state.calls.record(None, "token")
        for fault in self.state.faults.on_call(MICROSOFT, None, "token"):
            if fault.kind == "revoked":
                answer = {
                    "error": "invalid_grant",
                    "error_description": "AADSTS70000: The refresh token has expired or was revoked.",
                }
                self._send(400, json.dumps(answer).encode(), "application/json")
                return
            if fault.kind in ("unavailable", "internal") and fault.method == "token":  # aimed at it only
                answer = {"error": "temporarily_unavailable", "error_description": "try again later"}
                self._send(503, json.dumps(answer).encode(), "application/json")
                return
        if form.get("grant_type") != "refresh_token" or not form.get("refresh_token") or not form.get("client_id"):
            answer = {"error": "invalid_request", "error_description": "refresh_token and client_id are required"}
            self._send(400, json.dumps(answer).encode(), "application/json")
            return
        token = "sandbox-msads-access-" + secrets.token_hex(12)
        with self.state.lock:
            self.state.tokens.add(token)
        answer = {
            "token_type": "Bearer",
            "expires_in": 3600,
            "access_token": token,
            "refresh_token": form["refresh_token"],
        }
        self._send(200, json.dumps(answer).encode(), "application/json")

    def _soap(self, path: str, body: bytes) -> None:
        try:
            envelope = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            raise SoapFault(0, "InternalError", "The request is not well-formed XML.") from None
        headers = {_local(e.tag): (e.text or "").strip() for e in _child(envelope, "Header") or []}
        operation_element = next(iter(_child(envelope, "Body") or []), None)
        if operation_element is None:
            raise SoapFault(0, "InternalError", "The request has no operation.")
        operation = _local(operation_element.tag).removesuffix("Request")
        account_id = headers.get("CustomerAccountId") or None
        if operation == "SearchAccounts":
            account_id = _predicate(operation_element, "AccountId")
        self.state.calls.record(account_id, operation)
        active = self.state.faults.on_call(MICROSOFT, account_id, operation, report_key(operation_element))
        for fault in active:
            if fault.kind == "slow":
                time.sleep(float(fault.param("delay_seconds", 1.0)))
            elif fault.kind == "unavailable":
                raise SoapFault(0, "", "Service Unavailable", status=503)
            elif fault.kind in _FAULT_ERRORS:
                raise SoapFault(*_FAULT_ERRORS[fault.kind])
        token = headers.get("AuthenticationToken", "")
        if not token or token not in self.state.tokens:
            raise SoapFault(*_FAULT_ERRORS["token_invalid"])
        if not headers.get("DeveloperToken"):
            raise SoapFault(105, "InvalidCredentials", "The developer token is missing.")
        if path == CUSTOMER_PATH and operation == "SearchAccounts":
            payload = self._search_accounts(operation_element)
        elif path == REPORTING_PATH and operation == "SubmitGenerateReport":
            payload = self._submit(operation_element, account_id, active)
        elif path == REPORTING_PATH and operation == "PollGenerateReport":
            payload = self._poll(operation_element)
        else:
            raise SoapFault(0, "InternalError", f"The sandbox does not serve {operation}.")
        ns = CUSTOMER_NS if path == CUSTOMER_PATH else REPORTING_NS
        self._send(200, _ENVELOPE.format(ns=ns, tracking=_tracking(), body=payload).encode(), "text/xml; charset=utf-8")

    def _search_accounts(self, request: ElementTree.Element) -> str:
        accounts = self.state.truth.accounts(MICROSOFT)
        by_account = _predicate(request, "AccountId")
        by_customer = _predicate(request, "CustomerId")
        if by_account is not None:
            accounts = [a for a in accounts if a.account_id == by_account]
        elif by_customer is not None and by_customer != self.state.customer_id():
            accounts = []
        elif by_account is None and by_customer is None:
            raise SoapFault(1, "InvalidPredicate", "SearchAccounts needs an AccountId or CustomerId predicate.")
        index = int(_text(request, "Index") or 0)
        size = int(_text(request, "Size") or 100)
        page = accounts[index * size : (index + 1) * size]
        items = "".join(_advertiser_account(a, self.state.customer_id()) for a in page)
        return (
            f'<SearchAccountsResponse xmlns="{CUSTOMER_NS}"><Accounts xmlns:a="{ENTITIES_NS}" '
            f'xmlns:i="{XSI_NS}">{items}</Accounts></SearchAccountsResponse>'
        )

    def _submit(self, request: ElementTree.Element, account_id: str | None, active: Sequence[Fault]) -> str:
        report_request = _child(request, "ReportRequest")
        if report_request is None:
            raise SoapFault(2100, "ReportingServiceNullReportRequest", "The report request is null.")
        report_type = (report_request.get(f"{{{XSI_NS}}}type") or "").split(":")[-1]
        if not REPORT_TYPE_PATTERN.fullmatch(report_type):
            raise SoapFault(2101, "ReportingServiceInvalidReportType", f"Unknown report type {report_type!r}.")
        aggregation = _text(report_request, "Aggregation") or "Summary"
        if aggregation != "Daily":
            raise SoapFault(
                2013,
                "ReportingServiceInvalidReportAggregation",
                f"The sandbox writes Daily reports, not {aggregation}.",
            )
        account_ids = [e.text or "" for e in report_request.iter() if _local(e.tag) == "long"]
        if len(account_ids) != 1 or account_ids[0] != account_id:
            raise SoapFault(2004, "ReportingServiceInvalidAccountIdInScope", "Scope.AccountIds must be the account.")
        account = self.state.truth.data.account(MICROSOFT, account_ids[0])
        if account is None:
            raise SoapFault(106, "UserIsNotAuthorized", "You are not authorized to access this account.")
        columns_element = _child(report_request, "Columns")
        columns = tuple((e.text or "").strip() for e in (columns_element if columns_element is not None else []))
        if not columns or "TimePeriod" not in columns:
            raise SoapFault(2015, "ReportingServiceInvalidReportColumns", "The report needs columns with TimePeriod.")
        start, end = (
            _custom_date(report_request, "CustomDateRangeStart"),
            _custom_date(report_request, "CustomDateRangeEnd"),
        )
        if end < start:
            raise SoapFault(2017, "ReportingServiceInvalidCustomDateRangeStart", "The date range is invalid.")
        format_version = _text(report_request, "FormatVersion") or FORMAT_VERSION_1
        if format_version not in FORMAT_VERSIONS:
            raise SoapFault(
                0,
                "InvalidFormatVersion",
                f"FormatVersion {format_version!r} is not one of {', '.join(FORMAT_VERSIONS)}.",
            )
        report = _Report(
            report_type,
            account,
            columns,
            start,
            end,
            self.state.truth.as_of,
            _text(report_request, "ReportName") or report_type,
            header=(_text(report_request, "ExcludeReportHeader") or "false") != "true",
            footer=(_text(report_request, "ExcludeReportFooter") or "false") != "true",
            polls_left=self.state.config.microsoft_report_polls,
            format_version=format_version,
            empty=any(f.kind == "empty_report" for f in active),
            malformed=[f for f in active if f.kind == "malformed"],
            rows_missing=any(f.kind == "rows_missing" for f in active),
        )
        if any(f.kind == "report_error" for f in active):
            report.status = "Error"
        report_id = self.state.new_report_id()
        with self.state.lock:
            self.state.reports[report_id] = report
        return (
            f'<SubmitGenerateReportResponse xmlns="{REPORTING_NS}"><ReportRequestId>{report_id}</ReportRequestId>'
            "</SubmitGenerateReportResponse>"
        )

    def _poll(self, request: ElementTree.Element) -> str:
        report_id = _text(request, "ReportRequestId") or ""
        with self.state.lock:
            report = self.state.reports.get(report_id)
            if report is None:
                raise SoapFault(2003, "ReportingServiceInvalidReportId", "The report request id is invalid.")
            if report.status == "Pending":
                if report.polls_left > 0:
                    report.polls_left -= 1
                else:
                    report.status = "Success"
            status = report.status
        url = None
        if status == "Success" and not report.empty and self._rows(report):
            url = f"{self._base_url()}{REPORT_PATH}{report_id}.zip"
        link = f"<ReportDownloadUrl>{escape(url)}</ReportDownloadUrl>" if url else '<ReportDownloadUrl i:nil="true"/>'
        return (
            f'<PollGenerateReportResponse xmlns="{REPORTING_NS}"><ReportRequestStatus xmlns:i="{XSI_NS}">'
            f"{link}<Status>{status}</Status></ReportRequestStatus></PollGenerateReportResponse>"
        )

    def _rows(self, report: _Report) -> list[dict[str, str]]:
        writer = ReportWriter(self.state.truth, report.account)
        rows = writer.rows(report.columns, report.start, report.end, report.as_of, report.format_version)
        return without_first_campaign(rows, "CampaignId") if report.rows_missing else rows

    def _csv(self, report: _Report) -> str:
        rows = self._rows(report)
        for fault in report.malformed:
            column = _MALFORMED_COLUMNS[str(fault.param("mode", "negative_cost"))]
            if rows:
                rows[0][column] = {"Spend": "-1.00", "CampaignId": "", "Impressions": "n/a"}[column]
        today = report.as_of or date.today()
        zone = TIME_ZONE_TYPES.get(report.account.time_zone, report.account.time_zone)
        return report_csv(
            rows,
            report.columns,
            name=report.name,
            time_zone=zone,
            header=report.header,
            footer=report.footer,
            today=today,
        )

    def _base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"


def _advertiser_account(account: Account, customer: str) -> str:
    values = (
        ("BillToCustomerId", customer),
        ("CurrencyCode", account.currency),
        ("Id", account.account_id),
        ("Name", escape(account.name)),
        ("Number", f"F{account.account_id[-7:]}"),
        ("ParentCustomerId", customer),
        ("AccountLifeCycleStatus", "Active"),
        ("TimeZone", TIME_ZONE_TYPES.get(account.time_zone, account.time_zone)),
    )
    return "<a:AdvertiserAccount>" + "".join(f"<a:{k}>{v}</a:{k}>" for k, v in values) + "</a:AdvertiserAccount>"


def _fault_xml(fault: SoapFault) -> str:
    tracking = _tracking()
    return (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
        "<faultcode>s:Server</faultcode>"
        f'<faultstring xml:lang="en-US">Invalid client data. Check the SOAP fault details for more information. '
        f"TrackingId: {tracking}.</faultstring>"
        f'<detail><AdApiFaultDetail xmlns="https://adapi.microsoft.com" xmlns:i="{XSI_NS}">'
        f"<TrackingId>{tracking}</TrackingId><Errors><AdApiError><Code>{fault.code}</Code>"
        f'<Detail i:nil="true"/><ErrorCode>{escape(fault.error_code)}</ErrorCode>'
        f"<Message>{escape(fault.message)}</Message></AdApiError></Errors></AdApiFaultDetail></detail>"
        "</s:Fault></s:Body></s:Envelope>"
    )


def _tracking() -> str:
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ElementTree.Element, name: str) -> ElementTree.Element | None:
    return next((e for e in element.iter() if _local(e.tag) == name and e is not element), None)


def _text(element: ElementTree.Element, name: str) -> str | None:
    found = _child(element, name)
    return None if found is None or found.text is None else found.text.strip()


def _predicate(request: ElementTree.Element, field_name: str) -> str | None:
    for predicate in (e for e in request.iter() if _local(e.tag) == "Predicate"):
        if _text(predicate, "Field") == field_name:
            return _text(predicate, "Value")
    return None


def _custom_date(request: ElementTree.Element, name: str) -> date:
    element = _child(request, name)
    try:
        assert element is not None
        return date(
            int(_text(element, "Year") or ""), int(_text(element, "Month") or ""), int(_text(element, "Day") or "")
        )
    except (AssertionError, ValueError):
        raise SoapFault(2017, "ReportingServiceInvalidCustomDateRange", f"{name} is missing or invalid.") from None


def _zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.csv", text.encode("utf-8"))
    return buffer.getvalue()


class MicrosoftAdsSandbox(HttpSandbox):
    """The Microsoft Advertising sandbox server in a background thread of this process.

    The connector reaches it with `endpoint: <base_url>` and `token_url: <token_url>`."""

    label = "Microsoft Advertising"
    handler = _Handler

    def make_state(self) -> _State:
        return _State(self.truth, self.config, self.calls)

    def configured_port(self) -> int:
        return self.config.microsoft_port

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def customer_id(self) -> str:
        return customer_id_of(self.truth.data)

    @property
    def account_ids(self) -> list[str]:
        return [a.account_id for a in self.truth.accounts(MICROSOFT)]
