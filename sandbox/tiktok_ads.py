"""A local TikTok Business API (v1.3) over HTTP: the authorised advertiser list, advertiser info and synchronous
integrated reports (BASIC and AUDIENCE, paged), from the shared truth, with TikTok's return codes as faults."""

from __future__ import annotations

import json
import logging
import math
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.config import SandboxConfig
from sandbox.data import TIKTOK, Account, DailyRecord, money_text, money_unit_micros
from sandbox.faults import CallCounter, Fault, FaultPlan, without_first_campaign
from sandbox.http_sandbox import HttpSandbox
from sandbox.segments import segment_weights, split_record
from sandbox.truth import Truth, daterange

logger = logging.getLogger(__name__)

ADVERTISER_GET_PATH = "/open_api/v1.3/oauth2/advertiser/get/"
ADVERTISER_INFO_PATH = "/open_api/v1.3/advertiser/info/"
REPORT_PATH = "/open_api/v1.3/report/integrated/get/"
APP_ID = "7100000000000000001"  # the sandbox's developer app (any app_id with a non-empty secret is accepted)
MAX_DAYS = 30  # the longest start_date..end_date a daily (stat_time_day) report accepts
VALUE_METRIC = "total_complete_payment_rate"
METRICS = frozenset({"spend", "impressions", "clicks", "conversion", VALUE_METRIC})
ATTRIBUTES = {
    "AUCTION_AD": frozenset({"campaign_id", "campaign_name", "adgroup_id", "adgroup_name", "ad_name"}),
    "AUCTION_CAMPAIGN": frozenset({"campaign_name"}),
    "AUCTION_ADVERTISER": frozenset(),
}
# data level -> its id dimension
ID_DIMENSION = {"AUCTION_AD": "ad_id", "AUCTION_CAMPAIGN": "campaign_id", "AUCTION_ADVERTISER": "advertiser_id"}
AUDIENCE_DIMENSIONS = ("country_code", "placement")
PLACEMENTS = ("PLACEMENT_TIKTOK", "PLACEMENT_PANGLE", "PLACEMENT_GLOBAL_APP_BUNDLE")
# Market (by time zone) -> countries an advertiser's traffic spreads over, home first.
COUNTRIES = {
    "Europe/Paris": ("FR", "BE", "CH"),
    "America/New_York": ("US", "CA"),
    "Europe/London": ("GB", "IE"),
    "Europe/Berlin": ("DE", "AT", "CH"),
    "America/Los_Angeles": ("US", "MX"),
    "Europe/Stockholm": ("SE", "NO", "DK"),
    "Europe/Zurich": ("CH", "DE", "FR"),
    "Australia/Sydney": ("AU", "NZ"),
    "Asia/Tokyo": ("JP",),
    "Asia/Kuwait": ("KW", "SA", "AE"),
}
# fault kind -> (code, message) of the answer
_FAULT_CODES: dict[str, tuple[int, str]] = {
    "throttle": (40100, "Too many requests. Please retry in some time."),
    "internal": (50000, "System error. Please try again later."),
    "permission_denied": (40001, "No permission to operate advertiser."),
    "token_invalid": (40105, "The access token is invalid."),
    "revoked": (40105, "Access token has been revoked by the user."),
}
_MALFORMED = {"negative_cost": ("spend", "-1.00"), "missing_id": (None, ""), "non_numeric": ("impressions", "n/a")}


class ApiError(Exception):
    """An answer with a non-zero return code (HTTP 200, as the API answers)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def report_key(data_level: str, dimensions: Sequence[str]) -> str:
    """The report a call asks for as faults name it (`Fault.report`): its data level, plus the audience
    dimension of a breakdown (`AUCTION_AD`, `AUCTION_CAMPAIGN:country_code`, `AUCTION_ADVERTISER`)."""
    audience = [d for d in dimensions if d in AUDIENCE_DIMENSIONS]
    return ":".join([data_level, *audience])


@dataclass(frozen=True)
class _Report:
    advertiser: Account
    report_type: str
    data_level: str
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    start: date
    end: date


class _State:
    def __init__(self, truth: Truth, config: SandboxConfig, calls: CallCounter) -> None:
        self.truth = truth
        self.config = config
        self.calls = calls

    @property
    def faults(self) -> FaultPlan:
        return self.truth.faults


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: _State

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("tiktok sandbox: " + format, *args)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        routes = {
            ADVERTISER_GET_PATH: ("advertiser_get", self._advertisers),
            ADVERTISER_INFO_PATH: ("advertiser_info", self._advertiser_info),
            REPORT_PATH: ("report", self._report),
        }
        if parts.path not in routes:
            self._send(404, b'{"message": "not found"}')
            return
        method, handler = routes[parts.path]
        account = query.get("advertiser_id") or _single_id(query.get("advertiser_ids"))
        self.state.calls.record(account, method)
        try:
            report = None
            if method == "report":
                report = report_key(query.get("data_level", ""), _json_list(query, "dimensions", required=False))
            active = self.state.faults.on_call(TIKTOK, account, method, report)
            for fault in active:
                if fault.kind == "slow":
                    time.sleep(float(fault.param("delay_seconds", 1.0)))
                elif fault.kind == "unavailable":
                    self._send(503, b"<html><body>503 Service Temporarily Unavailable</body></html>", "text/html")
                    return
                elif fault.kind in _FAULT_CODES:
                    raise ApiError(*_FAULT_CODES[fault.kind])
            token = self.headers.get("Access-Token", "")
            if not token:
                raise ApiError(40104, "Access token is empty.")
            data = handler(query, active)
        except ApiError as error:
            self._answer(error.code, error.message, None)
            return
        self._answer(0, "OK", data)

    def _answer(self, code: int, message: str, data: Any) -> None:
        body = {"code": code, "message": message, "request_id": secrets.token_hex(16), "data": data or {}}
        self._send(200, json.dumps(body).encode())

    def _send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _advertisers(self, query: Mapping[str, str], active: Sequence[Fault]) -> dict[str, Any]:
        if not query.get("app_id") or not query.get("secret"):
            raise ApiError(40101, "The app_id or secret is invalid.")
        accounts = self.state.truth.accounts(TIKTOK)
        return {"list": [{"advertiser_id": a.account_id, "advertiser_name": a.name} for a in accounts]}

    def _advertiser_info(self, query: Mapping[str, str], active: Sequence[Fault]) -> dict[str, Any]:
        ids = _json_list(query, "advertiser_ids")
        if not ids or len(ids) > 100:
            raise ApiError(40002, "advertiser_ids: between 1 and 100 advertiser ids are required.")
        found = []
        for advertiser_id in ids:
            account = self.state.truth.data.account(TIKTOK, str(advertiser_id))
            if account is None:
                raise ApiError(40001, f"No permission to operate advertiser {advertiser_id}.")
            found.append(
                {
                    "advertiser_id": account.account_id,
                    "name": account.name,
                    "currency": account.currency,
                    "timezone": account.time_zone,
                    "display_timezone": account.time_zone,
                    "status": "STATUS_ENABLE",
                }
            )
        return {"list": found}

    def _report(self, query: Mapping[str, str], active: Sequence[Fault]) -> dict[str, Any]:
        report = self._parse_report(query)
        try:
            page = int(query.get("page") or 1)
            page_size = int(query.get("page_size") or 10)
        except ValueError:
            raise ApiError(40002, "page and page_size must be integers.") from None
        if page < 1 or not 1 <= page_size <= self.state.config.tiktok_max_page_size:
            raise ApiError(40002, f"page_size must be between 1 and {self.state.config.tiktok_max_page_size}.")
        rows = ReportRows(self.state.truth, report.advertiser).rows(report)
        if any(f.kind == "rows_missing" for f in active) and report.data_level != "AUCTION_ADVERTISER":
            rows = without_first_campaign(rows, "_campaign_id")
        pages = math.ceil(len(rows) / page_size)
        chunk = [_public(r) for r in rows[(page - 1) * page_size : page * page_size]]
        for fault in active:
            if fault.kind == "malformed" and chunk:
                field, value = _MALFORMED[str(fault.param("mode", "negative_cost"))]
                if field is None:
                    chunk[0]["dimensions"][ID_DIMENSION[report.data_level]] = value
                else:
                    chunk[0]["metrics"][field] = value
            elif fault.kind == "schema_drift":
                for row in chunk:
                    row["metrics"]["unrequested_metric"] = "1"
        return {
            "list": chunk,
            "page_info": {"page": page, "page_size": page_size, "total_number": len(rows), "total_page": pages},
        }

    def _parse_report(self, query: Mapping[str, str]) -> _Report:
        advertiser_id = query.get("advertiser_id", "")
        advertiser = self.state.truth.data.account(TIKTOK, advertiser_id) if advertiser_id else None
        if advertiser is None:
            raise ApiError(40001, f"No permission to operate advertiser {advertiser_id}.")
        report_type, data_level = query.get("report_type", ""), query.get("data_level", "")
        if report_type not in ("BASIC", "AUDIENCE") or data_level not in ID_DIMENSION:
            raise ApiError(40002, f"report_type {report_type!r} or data_level {data_level!r} is not supported.")
        dimensions = tuple(str(d) for d in _json_list(query, "dimensions"))
        metrics = tuple(str(m) for m in _json_list(query, "metrics"))
        audience = [d for d in dimensions if d in AUDIENCE_DIMENSIONS]
        expected = {ID_DIMENSION[data_level], "stat_time_day", *audience}
        if set(dimensions) != expected or (report_type == "AUDIENCE") != (len(audience) == 1):
            raise ApiError(40002, f"dimensions {list(dimensions)} are invalid for {report_type} {data_level}.")
        unknown = set(metrics) - METRICS - ATTRIBUTES[data_level]
        if not metrics or unknown:
            raise ApiError(40002, f"metrics {sorted(unknown)} are invalid for {data_level}.")
        try:
            start, end = date.fromisoformat(query["start_date"]), date.fromisoformat(query["end_date"])
        except (KeyError, ValueError):
            raise ApiError(40002, "start_date and end_date (YYYY-MM-DD) are required.") from None
        if end < start or (end - start).days >= MAX_DAYS:
            raise ApiError(40002, f"The time range must be 1 to {MAX_DAYS} days when stat_time_day is a dimension.")
        return _Report(advertiser, report_type, data_level, dimensions, metrics, start, end)


class ReportRows:
    """The rows of one advertiser's report from the truth, keyed and summed at the report's grain."""

    def __init__(self, truth: Truth, advertiser: Account) -> None:
        self.truth = truth
        self.advertiser = advertiser
        self.structure = truth.data.structure(TIKTOK, advertiser.account_id)
        self.unit = money_unit_micros(advertiser.currency)

    def rows(self, report: _Report) -> list[dict[str, Any]]:
        grouped: dict[tuple[str, ...], tuple[dict[str, str], dict[str, str], list[DailyRecord]]] = {}
        for day in daterange(report.start, report.end):
            for record in self.truth.records(TIKTOK, self.advertiser.account_id, day):
                for dims, attributes, part in self._slices(report, record):
                    dims = {**dims, "stat_time_day": f"{day.isoformat()} 00:00:00"}
                    key = tuple(dims[d] for d in report.dimensions)
                    grouped.setdefault(key, (dims, attributes, []))[2].append(part)
        out = []
        for key in sorted(grouped):
            dims, attributes, parts = grouped[key]
            metrics = {**attributes, **self._metrics(parts)}
            out.append(
                {
                    "dimensions": {d: dims[d] for d in report.dimensions},
                    "metrics": {m: metrics[m] for m in report.metrics},
                    "_campaign_id": attributes.get("campaign_id") or dims.get("campaign_id"),
                }
            )
        return out

    def _slices(self, report: _Report, record: DailyRecord) -> list[tuple[dict[str, str], dict[str, str], DailyRecord]]:
        campaign = self.structure.campaign_by_id[record.campaign_id]
        if report.data_level == "AUCTION_ADVERTISER":
            return [({"advertiser_id": self.advertiser.account_id}, {}, record)]
        if report.data_level == "AUCTION_AD":
            assert record.ad_id is not None
            assert record.ad_group_id is not None
            group = self.structure.ad_group_by_id[record.ad_group_id]
            attributes = {
                "campaign_id": campaign.campaign_id,
                "campaign_name": campaign.name,
                "adgroup_id": group.ad_group_id,
                "adgroup_name": group.name,
                "ad_name": self.structure.ad_by_id[record.ad_id].name,
            }
            return [({"ad_id": record.ad_id}, attributes, record)]
        dimension = next(d for d in report.dimensions if d in AUDIENCE_DIMENSIONS)
        segments = COUNTRIES.get(self.advertiser.time_zone, ("US",)) if dimension == "country_code" else PLACEMENTS
        weights = segment_weights(list(segments), 0.5, dimension, record.ad_id, record.day)
        parts = split_record(record, weights, self.unit)
        base = {"campaign_id": campaign.campaign_id}
        return [
            ({**base, dimension: s}, {"campaign_name": campaign.name}, p) for s, p in zip(segments, parts, strict=True)
        ]

    def _metrics(self, parts: Sequence[DailyRecord]) -> dict[str, str]:
        currency = self.advertiser.currency
        conversions = Decimal(sum(p.conversions_centi for p in parts)) / 100
        return {
            "spend": money_text(sum(p.cost_micros for p in parts), currency),
            "impressions": str(sum(p.impressions for p in parts)),
            "clicks": str(sum(p.clicks for p in parts)),
            "conversion": f"{conversions:.0f}"
            if conversions == conversions.to_integral_value()
            else f"{conversions:.2f}",
            VALUE_METRIC: money_text(sum(p.conversions_value_micros for p in parts), currency),
        }


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"dimensions": dict(row["dimensions"]), "metrics": dict(row["metrics"])}


def _json_list(query: Mapping[str, str], name: str, *, required: bool = True) -> list[Any]:
    raw = query.get(name)
    if raw is None and not required:
        return []
    try:
        value = json.loads(raw or "")
    except ValueError:
        raise ApiError(40002, f"{name} must be a JSON list.") from None
    if not isinstance(value, list):
        raise ApiError(40002, f"{name} must be a JSON list.")
    return value


def _single_id(raw: str | None) -> str | None:
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    return str(value[0]) if isinstance(value, list) and len(value) == 1 else None


class TikTokAdsSandbox(HttpSandbox):
    """The TikTok Business API sandbox server in a background thread of this process.

    The connector reaches it with `endpoint: <base_url>`."""

    label = "TikTok Business API"
    handler = _Handler

    def make_state(self) -> _State:
        return _State(self.truth, self.config, self.calls)

    def configured_port(self) -> int:
        return self.config.tiktok_port

    @property
    def app_id(self) -> str:
        return APP_ID

    @property
    def account_ids(self) -> list[str]:
        return [a.account_id for a in self.truth.accounts(TIKTOK)]
