"""A local LinkedIn Marketing API (versioned REST, Rest.li 2.0) for the linkedin_ads connector: the OAuth token
endpoint (refresh-token grant), the ad account search and read, the campaign group, campaign and creative
searches (cursor paging) and adAnalytics (q=analytics, DAILY, by creative or account), with faults."""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import date
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sandbox.config import SandboxConfig
from sandbox.data import LINKEDIN, Account, DailyRecord, SyntheticData, money_text, money_unit_micros
from sandbox.faults import CallCounter, Fault, FaultPlan, without_first_campaign
from sandbox.http_sandbox import HttpSandbox
from sandbox.segments import segment_weights, split_integer, split_record
from sandbox.truth import Truth, daterange

logger = logging.getLogger(__name__)

REST_PATH = "/rest"
TOKEN_PATH = "/oauth/v2/accessToken"
ACCOUNT_URN = "urn:li:sponsoredAccount:"
CREATIVE_URN = "urn:li:sponsoredCreative:"
CAMPAIGN_URN = "urn:li:sponsoredCampaign:"
GROUP_URN = "urn:li:sponsoredCampaignGroup:"
PIVOTS = ("CREATIVE", "ACCOUNT", "CAMPAIGN_GROUP,MEMBER_COUNTRY_V2")
GEO_URN = "urn:li:geo:"
# Member countries (LinkedIn geo ids) an account's traffic spreads over, by account currency.
MARKETS: dict[str, tuple[str, ...]] = {
    "EUR": ("101282230", "105015875", "102890719"),  # Germany, France, Netherlands
    "USD": ("103644278", "101174742"),  # United States, Canada
    "SEK": ("105117694", "103819153"),  # Sweden, Norway
    "GBP": ("101165590",),  # United Kingdom
    "CHF": ("106693272", "101282230"),  # Switzerland, Germany
    "AUD": ("101452733",),  # Australia
    "JPY": ("101355337",),  # Japan
}
_OTHER_GEO = "90000000"  # a geo id the connector has no country for
METRICS = (
    "costInLocalCurrency",
    "impressions",
    "clicks",
    "externalWebsiteConversions",
    "conversionValueInLocalCurrency",
)
_ENTITY_PATH = re.compile(r"/adAccounts/([0-9]+)(?:/(adCampaigns|adCampaignGroups|creatives))?")
_DATE = re.compile(r"\(year:(\d{4}),month:(\d{1,2}),day:(\d{1,2})\)")
_MAX_PAGE_SIZE = 1000


class ApiError(Exception):
    """An error answer: HTTP status, LinkedIn's error code and message."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})


class _State:
    def __init__(self, truth: Truth, config: SandboxConfig, calls: CallCounter) -> None:
        self.truth = truth
        self.config = config
        self.calls = calls
        self.lock = threading.Lock()
        self.tokens: set[str] = set()

    @property
    def faults(self) -> FaultPlan:
        return self.truth.faults


def restli_query(raw: str) -> dict[str, str]:
    """A Rest.li 2.0 query string as name -> value: split on & and = only (the structure inside a value keeps
    its parentheses, colons and commas), each value percent-decoded after the split."""
    out: dict[str, str] = {}
    for part in raw.split("&"):
        if part:
            name, _, value = part.partition("=")
            out[unquote(name)] = value
    return out


def report_key(query: Mapping[str, str]) -> str | None:
    """The analytics pivot (`CREATIVE`, `ACCOUNT`; the statistics finder's pivots joined by commas,
    `CAMPAIGN_GROUP,MEMBER_COUNTRY_V2`) as faults name it (`Fault.report`); None for other calls."""
    if query.get("q") == "analytics":
        return query.get("pivot")
    if query.get("q") == "statistics":
        return query.get("pivots", "").removeprefix("List(").removesuffix(")") or None
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: _State

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("linkedin sandbox: " + format, *args)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if urlsplit(self.path).path != TOKEN_PATH:
            self._json(404, {"status": 404, "message": "not found"})
            return
        self._token(dict(parse_qsl(body.decode())))

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = restli_query(parts.query)
        path = parts.path.removeprefix(REST_PATH)
        account_id, method = self._route(path, query)
        self.state.calls.record(account_id, method)
        try:
            active = self.state.faults.on_call(LINKEDIN, account_id, method, report_key(query))
            self._call_faults(active)
            self._check_headers()
            payload = self._answer(path, query, account_id, method, active)
        except ApiError as error:
            body = {"status": error.status, "serviceErrorCode": 0, "code": error.code, "message": error.message}
            self._json(error.status, body, error.headers)
            return
        self._json(200, payload)

    def _route(self, path: str, query: Mapping[str, str]) -> tuple[str | None, str]:
        """(account id, method) of a GET, as faults and call counters name them."""
        if path == "/adAnalytics":
            found = re.search(r"sponsoredAccount:([0-9]+)", unquote(query.get("accounts", "")))
            return (found.group(1) if found else None), "adAnalytics"
        match = _ENTITY_PATH.fullmatch(path)
        if match:
            return match.group(1), match.group(2) or "adAccounts"
        return None, "adAccounts" if path == "/adAccounts" else path

    def _call_faults(self, active: Sequence[Fault]) -> None:
        for fault in active:
            if fault.kind == "slow":
                time.sleep(float(fault.param("delay_seconds", 1.0)))
            elif fault.kind == "throttle":
                wait = str(fault.param("retry_after", 1))
                raise ApiError(429, "TOO_MANY_REQUESTS", "Resource level throttle limit reached", {"Retry-After": wait})
            elif fault.kind == "unavailable":
                raise ApiError(503, "SERVICE_UNAVAILABLE", "Service Unavailable")
            elif fault.kind == "internal":
                raise ApiError(int(fault.param("status", 500)), "INTERNAL_SERVER_ERROR", "Internal Server Error")
            elif fault.kind == "permission_denied":
                raise ApiError(403, "ACCESS_DENIED", "Not enough permissions to access: adAnalytics.GET.20241101")
            elif fault.kind == "token_invalid":
                raise ApiError(401, "INVALID_ACCESS_TOKEN", "Invalid access token")
            elif fault.kind == "expired_token":
                raise ApiError(401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired")

    def _check_headers(self) -> None:
        authorization = self.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ")
        with self.state.lock:
            known = token in self.state.tokens
        if not authorization.startswith("Bearer ") or not known:
            raise ApiError(401, "INVALID_ACCESS_TOKEN", "Invalid access token")
        version = self.headers.get("LinkedIn-Version", "")
        if not re.fullmatch(r"20[0-9]{4}", version):
            raise ApiError(400, "VERSION_MISSING", "A version must be present. Please specify a version.")
        if self.headers.get("X-Restli-Protocol-Version") != "2.0.0":
            raise ApiError(400, "ILLEGAL_ARGUMENT", "X-Restli-Protocol-Version 2.0.0 is required")

    def _answer(
        self, path: str, query: Mapping[str, str], account_id: str | None, method: str, active: Sequence[Fault]
    ) -> dict[str, Any]:
        if method == "adAnalytics":
            return self._analytics(query, account_id, active)
        if path == "/adAccounts":
            if query.get("q") != "search":
                raise ApiError(400, "ILLEGAL_ARGUMENT", "q=search is required")
            return self._page([_account_json(a) for a in self.state.truth.accounts(LINKEDIN)], query)
        account = self._account(account_id)
        if method == "adAccounts":
            return _account_json(account)
        structure = self.state.truth.data.structure(LINKEDIN, account.account_id)
        if method == "adCampaignGroups":
            as_of = self.state.truth.resolve_as_of()
            items = [
                {
                    "id": int(c.campaign_id),
                    "name": c.name,
                    "status": self.state.truth.data.campaign_status(LINKEDIN, account.account_id, c.campaign_id, as_of),
                }
                for c in structure.campaigns
            ]
        elif method == "adCampaigns":
            items = [
                {"id": int(g.ad_group_id), "name": g.name, "campaignGroup": GROUP_URN + g.campaign_id}
                for g in structure.ad_groups
            ]
        else:
            if query.get("q") != "criteria":
                raise ApiError(400, "ILLEGAL_ARGUMENT", "q=criteria is required")
            items = [
                {"id": CREATIVE_URN + a.ad_id, "name": a.name, "campaign": CAMPAIGN_URN + a.ad_group_id}
                for a in structure.ads
            ]
        return self._page(items, query)

    def _account(self, account_id: str | None) -> Account:
        account = self.state.truth.data.account(LINKEDIN, account_id or "")
        if account is None:
            raise ApiError(404, "NOT_FOUND", f"Ad account {account_id} does not exist or is not visible")
        return account

    def _page(self, items: list[dict[str, Any]], query: Mapping[str, str]) -> dict[str, Any]:
        """Cursor paging: pageSize (default 100) and pageToken (the next index, opaque to clients)."""
        size = min(int(query.get("pageSize") or 100), _MAX_PAGE_SIZE)
        start = int(unquote(query.get("pageToken") or "0").removeprefix("cursor-") or 0)
        page = items[start : start + size]
        metadata: dict[str, Any] = {}
        if start + size < len(items):
            metadata["nextPageToken"] = f"cursor-{start + size}"
        return {"elements": page, "metadata": metadata, "paging": {"count": size, "links": []}}

    def _analytics(self, query: Mapping[str, str], account_id: str | None, active: Sequence[Fault]) -> dict[str, Any]:
        if query.get("q") not in ("analytics", "statistics") or query.get("timeGranularity") != "DAILY":
            raise ApiError(400, "ILLEGAL_ARGUMENT", "the sandbox serves q=analytics|statistics, timeGranularity=DAILY")
        pivot = report_key(query) or ""
        if pivot not in PIVOTS:
            raise ApiError(400, "ILLEGAL_ARGUMENT", f"the sandbox does not serve pivot {pivot!r}")
        days = _DATE.findall(query.get("dateRange", ""))
        if len(days) != 2:
            raise ApiError(400, "ILLEGAL_ARGUMENT", "dateRange=(start:(year:..,month:..,day:..),end:(..)) is required")
        start, end = (date(int(y), int(m), int(d)) for y, m, d in days)
        account = self._account(account_id)
        fields = [f for f in query.get("fields", "").split(",") if f]
        rows = self._rows(account, pivot, start, end)
        if any(f.kind == "rows_missing" for f in active):
            rows = without_first_campaign(rows, "_group")
        elements = [_element(row, fields, account.currency) for row in rows]
        for fault in active:
            if fault.kind == "malformed" and elements:
                mode = str(fault.param("mode", "negative_cost"))
                if mode == "negative_cost":
                    elements[0]["costInLocalCurrency"] = "-1.00"
                elif mode == "missing_id":
                    elements[0]["pivotValues"] = []
                else:
                    elements[0]["impressions"] = "n/a"
            elif fault.kind == "schema_drift":
                for element in elements:
                    element["averageDwellTime"] = 1.5
        return {"elements": elements, "paging": {"start": 0, "count": 10, "links": []}}

    def _rows(self, account: Account, pivot: str, start: date, end: date) -> list[dict[str, Any]]:
        """Summed truth records per (day, creative), (day, campaign group, country) or day; `_group` carries the
        campaign group. The country split of each record is exact (sandbox.segments)."""
        truth = self.state.truth
        rows: dict[tuple[date, str], dict[str, Any]] = {}
        geos = (*MARKETS.get(account.currency, ("103644278",)), _OTHER_GEO)
        unit = money_unit_micros(account.currency)
        for day in daterange(start, end):
            for record in truth.records(LINKEDIN, account.account_id, day, truth.as_of):
                parts: list[tuple[str, list[str], str, DailyRecord, int]]
                whole = record.conversions_centi // 100
                if pivot == "CREATIVE":
                    assert record.ad_id is not None
                    parts = [(record.ad_id, [CREATIVE_URN + record.ad_id], record.campaign_id, record, whole)]
                elif pivot == "ACCOUNT":
                    parts = [(account.account_id, [ACCOUNT_URN + account.account_id], "", record, whole)]
                else:
                    weights = segment_weights(list(geos), 0.5, "linkedin-geo", record.ad_id, record.day)
                    pieces = split_record(record, weights, unit)
                    conversions = split_integer(whole, weights)
                    group = GROUP_URN + record.campaign_id
                    parts = [
                        (f"{record.campaign_id}/{geo}", [group, GEO_URN + geo], record.campaign_id, piece, conv)
                        for geo, piece, conv in zip(geos, pieces, conversions, strict=True)
                        if piece.impressions or piece.cost_micros
                    ]
                for key, urns, group_id, part, conversions_whole in parts:
                    empty = {"_day": day, "_urns": urns, "_group": group_id, "cost": 0, "imp": 0, "clk": 0}
                    row = rows.setdefault((day, key), empty | {"conv": 0, "val": 0})
                    row["cost"] += part.cost_micros
                    row["imp"] += part.impressions
                    row["clk"] += part.clicks
                    row["conv"] += conversions_whole
                    row["val"] += part.conversions_value_micros
        return list(rows.values())

    def _token(self, form: Mapping[str, str]) -> None:
        self.state.calls.record(None, "token")
        for fault in self.state.faults.on_call(LINKEDIN, None, "token"):
            if fault.kind == "revoked":
                self._json(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "The provided authorization grant or refresh token is invalid, "
                        "expired or revoked",
                    },
                )
                return
            if fault.kind in ("unavailable", "internal") and fault.method == "token":  # aimed at it only
                self._json(503, {"error": "temporarily_unavailable", "error_description": "try again later"})
                return
        required = ("refresh_token", "client_id", "client_secret")
        if form.get("grant_type") != "refresh_token" or not all(form.get(k) for k in required):
            self._json(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "grant_type=refresh_token, refresh_token, client_id and client_secret "
                    "are required",
                },
            )
            return
        token = "AQV" + secrets.token_hex(24)
        with self.state.lock:
            self.state.tokens.add(token)
        self._json(
            200,
            {
                "access_token": token,
                "expires_in": 5_184_000,
                "refresh_token": form["refresh_token"],
                "refresh_token_expires_in": 31_536_000,
            },
        )

    def _json(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _account_json(account: Account) -> dict[str, Any]:
    return {
        "id": int(account.account_id),
        "name": account.name,
        "currency": account.currency,
        "status": "ACTIVE",
        "type": "BUSINESS",
        "test": False,
        "reference": "urn:li:organization:" + account.account_id[-6:],
    }


def _element(row: Mapping[str, Any], fields: Sequence[str], currency: str) -> dict[str, Any]:
    """One adAnalytics element with the requested fields (LinkedIn writes money as strings)."""
    day: date = row["_day"]
    parts = {"year": day.year, "month": day.month, "day": day.day}
    values: dict[str, Any] = {
        "dateRange": {"start": parts, "end": parts},
        "pivotValues": list(row["_urns"]),
        "costInLocalCurrency": money_text(row["cost"], currency),
        "impressions": row["imp"],
        "clicks": row["clk"],
        "externalWebsiteConversions": row["conv"],
        "conversionValueInLocalCurrency": money_text(row["val"], currency),
    }
    return {name: values[name] for name in fields if name in values}


def account_ids_of(data: SyntheticData) -> list[str]:
    return [a.account_id for a in data.accounts(LINKEDIN)]


class LinkedInAdsSandbox(HttpSandbox):
    """The LinkedIn Marketing API sandbox server in a background thread of this process.

    The connector reaches it with `endpoint: <api_url>` and `token_url: <token_url>`."""

    label = "LinkedIn Marketing"
    handler = _Handler

    def make_state(self) -> _State:
        return _State(self.truth, self.config, self.calls)

    def configured_port(self) -> int:
        return self.config.linkedin_port

    @property
    def api_url(self) -> str:
        return self.base_url + REST_PATH

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def account_ids(self) -> list[str]:
        return account_ids_of(self.truth.data)
