"""A local Meta Graph API (v26.0) for the official facebook-business SDK: ad accounts, campaign/ad set/ad/
creative listings, and ads insights (breakdowns and attribution windows included), synchronous and as async
report runs, with cursor paging and Graph errors."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from sandbox import meta_streams
from sandbox.config import SandboxConfig
from sandbox.data import META, Account, AccountStructure, DailyRecord, money_text, normalize_account_id
from sandbox.faults import CallCounter, Fault, FaultPlan, without_first_campaign
from sandbox.http_sandbox import HttpSandbox
from sandbox.truth import Truth, daterange

logger = logging.getLogger(__name__)

GRAPH_VERSION = "v26.0"
INSIGHTS_FIELDS = frozenset(
    {
        "account_id",
        "account_name",
        "account_currency",
        "campaign_id",
        "campaign_name",
        "adset_id",
        "adset_name",
        "ad_id",
        "ad_name",
        "objective",
        "impressions",
        "clicks",
        "spend",
        "reach",
        "frequency",
        "cpc",
        "cpm",
        "ctr",
        "inline_link_clicks",
        "actions",
        "action_values",
        "date_start",
        "date_stop",
        *meta_streams.VIDEO_FIELDS,
    }
)
LEVELS = ("account", "campaign", "adset", "ad")
_LEVEL_FIELDS = {
    "account": {"account_id", "account_name", "account_currency"},
    "campaign": {"campaign_id", "campaign_name", "objective"},
    "adset": {"adset_id", "adset_name"},
    "ad": {"ad_id", "ad_name"},
}
_ENTITY_FIELDS = {"id", "name", "status", "effective_status", "account_id", "created_time", "updated_time"}
EDGE_FIELDS = {
    "campaigns": frozenset(
        _ENTITY_FIELDS | {"objective", "daily_budget", "lifetime_budget", "bid_strategy", "start_time", "stop_time"}
    ),
    "adsets": frozenset(
        _ENTITY_FIELDS
        | {"campaign_id", "daily_budget", "lifetime_budget", "optimization_goal", "billing_event", "targeting"}
    ),
    "ads": frozenset(_ENTITY_FIELDS | {"adset_id", "campaign_id", "creative"}),
    "adcreatives": frozenset(
        {"id", "name", "account_id", "object_type", "object_story_spec", "asset_feed_spec", "url_tags", "title", "body"}
    ),
}
ACCOUNT_FIELDS = frozenset({"id", "account_id", "name", "currency", "timezone_name", "account_status"})
MAX_RANGE_DAYS = 37 * 31

_THROTTLE_ERRORS: dict[int, tuple[str, int | None]] = {
    4: ("(#4) Application request limit reached", None),
    17: ("(#17) User request limit reached", 2446079),
    32: ("(#32) Page request limit reached", None),
    613: ("(#613) Calls to this api have exceeded the rate limit.", 1487742),
    80004: (
        "(#80004) There have been too many calls to this ad-account. Wait a bit and try again. For more "
        "info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
        2446079,
    ),
}


class GraphError(Exception):
    """An error answered as Graph's `{"error": {...}}` body."""

    def __init__(
        self,
        message: str,
        code: int,
        *,
        status: int = 400,
        error_type: str = "OAuthException",
        subcode: int | None = None,
        transient: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.error_type = error_type
        self.subcode = subcode
        self.transient = transient
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.error_type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["is_transient"] = self.transient
        error["fbtrace_id"] = _trace_id()
        return {"error": error}


def _trace_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(9)).decode()


def _param_error(message: str, subcode: int | None = None) -> GraphError:
    return GraphError(f"(#100) {message}", 100, subcode=subcode)


def _encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"i:{index}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("i:"):
            raise ValueError(text)
        return int(text[2:])
    except ValueError:
        raise _param_error("Invalid cursor: the 'after' parameter is not a valid cursor") from None


def _money(currency: str) -> Callable[[int], str]:
    """Graph's amounts in the account currency's decimal places ("1234" JPY, "12.34" EUR, "1.234" KWD)."""
    return lambda micros: money_text(micros, currency)


def _ratio(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") if value else "0"


@dataclass
class _ReportRun:
    run_id: str
    account: Account
    params: dict[str, Any]
    fail: bool
    polls: int = 0
    created: float = field(default_factory=time.time)
    rows: list[dict[str, Any]] | None = None  # built at the first results page, dropped after the last
    rows_missing: bool = False  # the `rows_missing` fault was active when the run was started


@dataclass(frozen=True)
class _InsightsRequest:
    fields: tuple[str, ...]
    level: str
    since: date
    until: date
    increment: int | None  # days per row bucket; None = whole range
    breakdowns: tuple[str, ...] = ()
    windows: tuple[str, ...] = ()  # action_attribution_windows
    action_breakdowns: tuple[str, ...] = ("action_type",)

    @property
    def video(self) -> bool:
        return any(name in meta_streams.VIDEO_FIELDS for name in self.fields)


class _State:
    """What every request handler of one server shares."""

    def __init__(self, truth: Truth, config: SandboxConfig, calls: CallCounter) -> None:
        self.truth = truth
        self.config = config
        self.calls = calls
        self.runs: dict[str, _ReportRun] = {}
        self.lock = threading.Lock()
        self._run_ids = itertools.count(1)

    @property
    def faults(self) -> FaultPlan:
        return self.truth.faults

    def new_run_id(self) -> str:
        with self.lock:
            return str(6_000_000_000_000 + next(self._run_ids))


class _Handler(BaseHTTPRequestHandler):
    server_version = "MetaGraphSandbox/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY each answer waits ~40 ms for the
    # client's delayed ACK.
    disable_nagle_algorithm = True
    state: _State  # set on the subclass the server creates

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("meta sandbox: " + format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(length).decode("utf-8", "replace")
            if "json" in (self.headers.get("Content-Type") or ""):
                with contextlib.suppress(ValueError, AttributeError):
                    params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in json.loads(body).items()})
            else:
                params.update(dict(parse_qsl(body, keep_blank_values=True)))
        headers: dict[str, str] = {}
        try:
            status, payload, headers = _Router(self.state, method, split.path, params, self._base_url()).route()
        except GraphError as error:
            status, payload, headers = error.status, error.body(), error.headers
            logger.debug("meta sandbox error %s: %s", error.code, error.message)
        except Exception:
            logger.exception("meta sandbox bug on %s %s", method, split.path)
            status = 500
            payload = GraphError("An unknown error occurred", 1, status=500, transient=True).body()
        self._send(status, payload, headers)

    def _base_url(self) -> str:
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        return f"http://{host}"

    def _send(self, status: int, payload: Any, headers: Mapping[str, str]) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("facebook-api-version", GRAPH_VERSION)
            self.send_header("x-fb-trace-id", _trace_id())
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("meta sandbox: client went away before the answer (timeout?)")


class _Router:
    """One request: checks, faults, then the endpoint."""

    def __init__(self, state: _State, method: str, path: str, params: dict[str, str], base_url: str) -> None:
        self.state = state
        self.method = method
        self.path = path
        self.params = params
        self.base_url = base_url
        self.data = state.truth.data

    def route(self) -> tuple[int, Any, dict[str, str]]:
        parts = [p for p in self.path.split("/") if p]
        if parts[:2] == ["_sandbox", "calls"]:
            counts = self.state.calls.snapshot()
            return (
                200,
                {"data": [{"account": a, "method": m, "calls": n} for (a, m), n in counts.items()]},
                {},
            )
        if not parts or not re.fullmatch(r"v\d+\.\d+", parts[0]):
            raise GraphError("Unknown path components: " + self.path, 2500)
        if parts[0] != GRAPH_VERSION:
            logger.debug("meta sandbox answers %s as %s", parts[0], GRAPH_VERSION)
        node, edge = (parts[1] if len(parts) > 1 else ""), ("/".join(parts[2:]))
        account, method_name, run = self._target(node, edge)
        account_key = account.account_id if account else normalize_account_id(node) if node else None
        self.state.calls.record(account_key, method_name)
        row_faults = self._faults(account_key, method_name, self._report_key(edge, run))
        if not self.params.get("access_token", "").strip():
            raise GraphError("An access token is required to request this resource.", 190)
        if account is None:
            raise GraphError(
                f"Unsupported {self.method.lower()} request. Object with ID '{node}' does not exist, "
                "cannot be loaded due to missing permissions, or does not support this operation. Please "
                "read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
                100,
                subcode=33,
                error_type="GraphMethodException",
            )
        if method_name == "insights":
            request = self._insights_request(account)
            rows = _insights_rows(self.state.truth, account, request)
            if any(f.kind == "rows_missing" for f in row_faults):
                rows = without_first_campaign(rows, "campaign_id")
            return self._page(rows, row_faults, throttle_headers(account, self.state.calls))
        if method_name == "insights_async":
            self._insights_request(account)  # validate now, as Graph does
            fail = any(f.kind == "job_failed" for f in row_faults)
            run_id = self.state.new_run_id()
            with self.state.lock:
                self.state.runs[run_id] = _ReportRun(run_id, account, dict(self.params), fail)
                if any(f.kind == "rows_missing" for f in row_faults):
                    self.state.runs[run_id].rows_missing = True
            return 200, {"report_run_id": run_id}, throttle_headers(account, self.state.calls)
        if method_name == "report_run":
            assert run is not None
            return 200, _run_status(run, self.state.config.meta_async_polls), {}
        if method_name == "report_insights":
            assert run is not None
            if _run_status(run, self.state.config.meta_async_polls, poll=False)["async_status"] != "Job Completed":
                raise _param_error("The report is not ready or has failed", subcode=1815107)
            params = dict(run.params)
            params.update({k: v for k, v in self.params.items() if k in ("limit", "after", "access_token")})
            self.params = params
            request = self._insights_request(account)
            rows = run.rows
            if rows is None:
                rows = _insights_rows(self.state.truth, account, request)
                if run.rows_missing:
                    rows = without_first_campaign(rows, "campaign_id")
            status, body, headers = self._page(rows, row_faults, throttle_headers(account, self.state.calls))
            # Kept for the next page only: a run whose last page went out forgets its rows (built again, the same,
            # if asked again), so a long-lived sandbox serving thousands of accounts does not keep every report.
            run.rows = rows if "next" in body.get("paging", {}) else None
            return status, body, headers
        if method_name == "account":
            return 200, _account_values(account, self._fields(ACCOUNT_FIELDS, default=("id",))), {}
        if method_name == "adaccounts":
            fields = self._fields(ACCOUNT_FIELDS, default=("id",))
            rows = [_account_values(a, fields) for a in self.state.truth.accounts(META)]
            return self._page(rows, [], {})
        if method_name in EDGE_FIELDS:
            fields = self._fields(EDGE_FIELDS[method_name], default=("id",))
            structure = self.data.structure(META, account.account_id)
            items = meta_streams.edge_items(self.data, structure, method_name, self.state.truth.resolve_as_of())
            return self._page([meta_streams.pick(item, fields) for item in items], [], {})
        raise AssertionError(method_name)

    def _target(self, node: str, edge: str) -> tuple[Account | None, str, _ReportRun | None]:
        if node == "me" and edge == "adaccounts" and self.method == "GET":
            return _ME, "adaccounts", None
        if node.startswith("act_"):
            account = self.data.account(META, node)
            if edge == "" and self.method == "GET":
                return account, "account", None
            if edge == "insights" and self.method == "GET":
                return account, "insights", None
            if edge == "insights" and self.method == "POST":
                return account, "insights_async", None
            if edge in EDGE_FIELDS and self.method == "GET":
                return account, edge, None
            raise GraphError(f"Unsupported {self.method.lower()} request on '{node}/{edge}'", 100, subcode=33)
        with self.state.lock:
            run = self.state.runs.get(node)
        if run is not None and self.method == "GET" and edge in ("", "insights"):
            return run.account, "report_run" if edge == "" else "report_insights", run
        if run is None and node.isdigit():
            return None, "unknown", None
        raise GraphError(f"Unknown path components: /{edge}", 2500)

    def _report_key(self, edge: str, run: _ReportRun | None) -> str:
        """The report this request serves as faults name it (`Fault.report`): `insights:<level>:<breakdowns>:
        <action breakdowns>` for insights (a report run's own calls included), else the edge (`campaigns`)."""
        params = run.params if run is not None else self.params
        if run is None and edge != "insights":
            return edge
        parts = [
            ",".join(_parse_list(params.get(name, ""))) if name != "level" else params.get("level", "ad")
            for name in ("level", "breakdowns", "action_breakdowns")
        ]
        return "insights:" + ":".join(parts)

    def _faults(self, account: str | None, method_name: str, report: str | None = None) -> list[Fault]:
        row_faults: list[Fault] = []
        for fault in self.state.faults.on_call(META, account, method_name, report):
            if fault.kind == "slow":
                time.sleep(float(fault.param("delay_seconds", 5.0)))
            elif fault.kind in ("malformed", "schema_drift", "job_failed", "rows_missing"):
                row_faults.append(fault)
            else:
                raise _fault_error(fault, account or "", self.state.calls)
        return row_faults

    def _fields(self, allowed: frozenset[str], default: Sequence[str]) -> tuple[str, ...]:
        raw = self.params.get("fields", "")
        names = _parse_list(raw) if raw else list(default)
        for name in names:
            if name not in allowed:
                raise _param_error(
                    f"{name} is not valid for fields param. please check https://developers.facebook.com"
                    "/docs/marketing-api/reference/ads-insights/ for all valid values"
                )
        return tuple(dict.fromkeys(names))

    def _insights_request(self, account: Account) -> _InsightsRequest:
        fields = self._fields(INSIGHTS_FIELDS, default=("account_id", "impressions", "spend"))
        level = self.params.get("level", "account")
        if level not in LEVELS:
            raise _param_error(f"param level must be one of {{{', '.join(LEVELS)}}}")
        increment_text = self.params.get("time_increment", "all_days")
        if increment_text == "all_days":
            increment: int | None = None
        elif increment_text.isdigit() and 1 <= int(increment_text) <= 90:
            increment = int(increment_text)
        else:
            raise _param_error("param time_increment must be 1-90 or all_days in the sandbox")
        today = self.state.truth.resolve_as_of()
        raw_range = self.params.get("time_range")
        preset = self.params.get("date_preset")
        if raw_range:
            try:
                time_range = json.loads(raw_range)
                since = date.fromisoformat(time_range["since"])
                until = date.fromisoformat(time_range["until"])
            except (ValueError, KeyError, TypeError):
                raise _param_error("param time_range must be a JSON object with 'since' and 'until'") from None
        elif preset in _PRESETS:
            since, until = _PRESETS[preset](today)
        elif preset:
            raise _param_error(f"date_preset {preset!r} is not supported by the sandbox")
        else:
            since, until = today - timedelta(days=30), today - timedelta(days=1)
        if until < since:
            raise _param_error("the 'until' date must be on or after the 'since' date")
        if (until - since).days > MAX_RANGE_DAYS:
            raise _param_error("the time range is too long", subcode=1487534)
        breakdowns = tuple(_parse_list(self.params.get("breakdowns", "")))
        action_breakdowns = tuple(_parse_list(self.params.get("action_breakdowns", "") or '["action_type"]'))
        refused = meta_streams.check_breakdowns(breakdowns, action_breakdowns)
        if refused:
            raise _param_error(refused)
        windows = tuple(_parse_list(self.params.get("action_attribution_windows", "")))
        for index, window in enumerate(windows):
            if window not in meta_streams.ATTRIBUTION_WINDOW_VALUES:
                allowed = ", ".join(sorted(meta_streams.ATTRIBUTION_WINDOW_VALUES))
                raise _param_error(
                    f"action_attribution_windows[{index}] must be one of the following values: {allowed}"
                )
        return _InsightsRequest(fields, level, since, until, increment, breakdowns, windows, action_breakdowns)

    def _page(
        self, rows: list[dict[str, Any]], row_faults: Sequence[Fault], headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        config = self.state.config
        limit_text = self.params.get("limit", "")
        limit = int(limit_text) if limit_text.isdigit() and int(limit_text) > 0 else config.meta_default_limit
        limit = min(limit, config.meta_max_limit)
        after = self.params.get("after")
        start = _decode_cursor(after) + 1 if after else 0
        page = [dict(r) for r in rows[start : start + limit]]
        _apply_row_faults(page, row_faults)
        body: dict[str, Any] = {"data": page}
        if page:
            end = start + len(page) - 1
            paging: dict[str, Any] = {"cursors": {"before": _encode_cursor(start), "after": _encode_cursor(end)}}
            if end + 1 < len(rows):
                query = dict(self.params) | {"limit": str(limit), "after": _encode_cursor(end)}
                paging["next"] = f"{self.base_url}{self.path}?{urlencode(query)}"
            if start > 0:
                query = dict(self.params) | {"limit": str(limit), "before": _encode_cursor(start)}
                query.pop("after", None)
                paging["previous"] = f"{self.base_url}{self.path}?{urlencode(query)}"
            body["paging"] = paging
        return 200, body, headers


_ME = Account(META, "me", "me", "", "", index=-1)


def _account_values(account: Account, fields: Sequence[str]) -> dict[str, Any]:
    values = {
        "id": account.graph_id,
        "account_id": account.account_id,
        "name": account.name,
        "currency": account.currency,
        "timezone_name": account.time_zone,
        "account_status": 1,
    }
    return {k: values[k] for k in fields} | {"id": account.graph_id}


def _parse_list(raw: str) -> list[str]:
    raw = raw.strip()
    if raw.startswith("["):
        try:
            value = json.loads(raw)
        except ValueError:
            raise _param_error("param fields must be a list of strings") from None
        return [str(v).strip() for v in value]
    return [part.strip() for part in raw.split(",") if part.strip()]


def _last_days(days: int) -> Any:
    return lambda today: (today - timedelta(days=days), today - timedelta(days=1))


_PRESETS: dict[str, Any] = {
    "today": lambda today: (today, today),
    "yesterday": lambda today: (today - timedelta(days=1), today - timedelta(days=1)),
    "last_3d": _last_days(3),
    "last_7d": _last_days(7),
    "last_14d": _last_days(14),
    "last_28d": _last_days(28),
    "last_30d": _last_days(30),
    "last_90d": _last_days(90),
}


def _run_status(run: _ReportRun, polls_needed: int, *, poll: bool = True) -> dict[str, Any]:
    if poll:
        run.polls += 1
    done = run.polls >= polls_needed if poll else run.polls >= polls_needed and run.polls > 0
    if run.polls <= 1 and polls_needed > 1 and not done:
        status, percent = "Job Not Started", 0
    elif not done:
        status, percent = "Job Running", min(99, int(100 * run.polls / max(polls_needed, 1)))
    elif run.fail:
        status, percent = "Job Failed", 0
    else:
        status, percent = "Job Completed", 100
    try:
        time_range = json.loads(run.params.get("time_range", "{}"))
    except ValueError:
        time_range = {}
    out = {
        "id": run.run_id,
        "account_id": run.account.account_id,
        "async_status": status,
        "async_percent_completion": percent,
        "date_start": time_range.get("since", ""),
        "date_stop": time_range.get("until", ""),
        "time_ref": int(run.created),
        "is_running": status in ("Job Not Started", "Job Running"),
    }
    if status == "Job Completed":
        out["time_completed"] = int(run.created) + 1
    return out


def throttle_headers(account: Account, calls: CallCounter, pct: int | None = None) -> dict[str, str]:
    """Graph's rate-limit headers; utilisation grows with the calls made unless `pct` is given."""
    used = pct if pct is not None else min(95, calls.total(account.account_id) // 4)
    usage = {
        account.account_id: [
            {
                "type": "ads_insights",
                "call_count": used,
                "total_cputime": used,
                "total_time": used,
                "estimated_time_to_regain_access": 0 if used < 100 else 5,
                "ads_api_access_tier": "standard_access",
            }
        ]
    }
    return {
        "x-business-use-case-usage": json.dumps(usage, separators=(",", ":")),
        "x-fb-ads-insights-throttle": json.dumps(
            {"app_id_util_pct": used, "acc_id_util_pct": used, "ads_api_access_tier": "standard_access"},
            separators=(",", ":"),
        ),
    }


def _fault_error(fault: Fault, account_id: str, calls: CallCounter) -> GraphError:
    kind = fault.kind
    account = Account(META, account_id, "", "", "", index=0)
    if kind == "throttle":
        code = int(fault.param("code", 80004))
        message, subcode = _THROTTLE_ERRORS.get(code, (f"(#{code}) Rate limit reached", None))
        headers = throttle_headers(account, calls, pct=100)
        if code == 4:
            headers["x-app-usage"] = json.dumps({"call_count": 100, "total_cputime": 100, "total_time": 100})
        return GraphError(message, code, subcode=subcode, transient=True, headers=headers)
    if kind == "internal":
        status = int(fault.param("status", 500))
        return GraphError("An unknown error occurred", 1, status=status, transient=True)
    if kind == "unavailable":
        return GraphError("Service temporarily unavailable", 2, status=int(fault.param("status", 503)), transient=True)
    if kind == "revoked":
        return GraphError(
            "Error validating access token: The session has been invalidated because the user changed their "
            "password or Facebook has changed the session for security reasons.",
            190,
            subcode=460,
        )
    if kind == "token_invalid":
        return GraphError("Invalid OAuth access token - Cannot parse access token", 190)
    if kind == "permission_denied":
        return GraphError(
            "(#200) Ad account owner has NOT grant ads_management or ads_read permission",
            200,
            status=403,
            error_type="OAuthException",
        )
    raise AssertionError(f"fault {kind} has no Graph error")


def _apply_row_faults(rows: list[dict[str, Any]], faults: Sequence[Fault]) -> None:
    for fault in faults:
        if fault.kind == "schema_drift":
            name = str(fault.param("field", "sandbox_drift_metric"))
            for row in rows:
                row[name] = str(fault.param("value", "1"))
        elif fault.kind == "malformed":
            mode = fault.param("mode", "negative_cost")
            for row in rows[: int(fault.param("rows", 1))]:
                if mode == "negative_cost":
                    row["spend"] = "-" + str(row.get("spend", "1.00")).lstrip("-")
                elif mode == "missing_id":
                    for key in ("ad_id", "adset_id", "campaign_id", "account_id"):
                        if key in row:
                            row[key] = ""
                            break
                else:
                    row["impressions"] = "N/A"
                    if "clicks" in row:
                        row["clicks"] = "1,2k"


def _insights_rows(truth: Truth, account: Account, request: _InsightsRequest) -> list[dict[str, Any]]:
    structure = truth.data.structure(META, account.account_id)
    seed = truth.data.seed
    as_of = truth.resolve_as_of()
    level_index = LEVELS.index(request.level)
    groups: dict[tuple[Any, ...], list[DailyRecord]] = {}
    for day in daterange(request.since, min(request.until, as_of)):
        bucket: tuple[date, date] = (request.since, request.until)
        if request.increment is not None:
            offset = (day - request.since).days // request.increment * request.increment
            bucket_start = request.since + timedelta(days=offset)
            bucket_end = min(bucket_start + timedelta(days=request.increment - 1), request.until)
            bucket = (bucket_start, bucket_end)
        for record in truth.records(META, account.account_id, day, as_of):
            if request.video and record.ad_id is not None:
                video_ad = structure.ad_by_id[record.ad_id].name.startswith("Video")
                record = meta_streams.with_video(seed, record, video_ad)
            entity = (record.campaign_id, record.ad_group_id, record.ad_id)[:level_index]
            if not request.breakdowns:
                groups.setdefault((bucket, *entity, ()), []).append(record)
                continue
            for dims, part in meta_streams.split(seed, account, record, request.breakdowns):
                segment = tuple(dims[name] for name in request.breakdowns)
                groups.setdefault((bucket, *entity, segment), []).append(part)
    rows = []
    for key, records in groups.items():
        (start, stop), segment, first = key[0], key[-1], records[0]
        values = _entity_values(seed, structure, first, as_of)
        values |= _metric_values(records, _money(account.currency))
        window_key = (start.isoformat(), *key[1:-1], *segment)
        money = _money(account.currency)
        if request.video or request.action_breakdowns != ("action_type",):
            lists = meta_streams.action_lists(seed, account, records, request.action_breakdowns, request.fields, money)
            if request.action_breakdowns != ("action_type",):
                values = {k: v for k, v in values.items() if k not in ("actions", "action_values")}
                if request.windows:
                    meta_streams.add_entry_windows(lists, request.windows, seed, window_key, money)
                values |= lists
            else:
                values |= {k: v for k, v in lists.items() if k not in ("actions", "action_values")}
        if request.windows and request.action_breakdowns == ("action_type",):
            meta_streams.add_windows(values, request.windows, seed, window_key, _value_micros(records), money)
        row = {}
        for name in request.fields:
            if name in ("date_start", "date_stop"):
                continue
            level_of_field = next((lvl for lvl, names in _LEVEL_FIELDS.items() if name in names), None)
            if level_of_field is not None and LEVELS.index(level_of_field) > level_index:
                continue
            if name in values:
                row[name] = values[name]
        row.update(zip(request.breakdowns, segment, strict=True))
        row["date_start"] = start.isoformat()
        row["date_stop"] = stop.isoformat()
        rows.append(row)
    return rows


def _entity_values(seed: int, structure: AccountStructure, record: DailyRecord, as_of: date) -> dict[str, Any]:
    """Account and entity fields of a row; entities named as they are on `as_of`, like the real API."""
    account = structure.account
    campaign = structure.campaign_by_id[record.campaign_id]
    values: dict[str, Any] = {
        "account_id": account.account_id,
        "account_name": account.name,
        "account_currency": account.currency,
        "campaign_id": campaign.campaign_id,
        "campaign_name": meta_streams.entity_name(seed, campaign.campaign_id, campaign.name, as_of),
        "objective": campaign.channel_type,
    }
    if record.ad_group_id is not None:
        group = structure.ad_group_by_id[record.ad_group_id]
        values |= {
            "adset_id": group.ad_group_id,
            "adset_name": meta_streams.entity_name(seed, group.ad_group_id, group.name, as_of),
        }
    if record.ad_id is not None:
        ad = structure.ad_by_id[record.ad_id]
        values |= {"ad_id": ad.ad_id, "ad_name": meta_streams.entity_name(seed, ad.ad_id, ad.name, as_of)}
    return values


def _value_micros(records: Sequence[DailyRecord]) -> dict[str, int]:
    values: dict[str, int] = {}
    for r in records:
        for action_type, micros in r.action_value_micros:
            values[action_type] = values.get(action_type, 0) + micros
    return values


def _metric_values(records: Sequence[DailyRecord], money: Callable[[int], str]) -> dict[str, Any]:
    impressions = sum(r.impressions for r in records)
    clicks = sum(r.clicks for r in records)
    cost = sum(r.cost_micros for r in records)
    reach = sum(r.reach for r in records)
    actions: dict[str, int] = {}
    values: dict[str, int] = {}
    for r in records:
        for action_type, n in meta_streams.without_video(r.actions):
            actions[action_type] = actions.get(action_type, 0) + n
        for action_type, micros in r.action_value_micros:
            values[action_type] = values.get(action_type, 0) + micros
    out: dict[str, Any] = {
        "impressions": str(impressions),
        "clicks": str(clicks),
        "spend": money(cost),
        "reach": str(reach),
        "frequency": _ratio(impressions / reach) if reach else "0",
        "cpc": _ratio(cost / 1e6 / clicks) if clicks else None,
        "cpm": _ratio(cost / 1e6 / impressions * 1000) if impressions else None,
        "ctr": _ratio(100 * clicks / impressions) if impressions else "0",
        "inline_link_clicks": str(actions.get("link_click", 0)),
    }
    if actions:
        out["actions"] = [{"action_type": t, "value": str(n)} for t, n in actions.items()]
    if values:
        out["action_values"] = [{"action_type": t, "value": money(v)} for t, v in values.items()]
    return {k: v for k, v in out.items() if v is not None}


class MetaSandbox(HttpSandbox):
    """The Meta Graph sandbox server in a background thread of this process.

    ``with MetaSandbox() as m: session.GRAPH = m.base_url``
    """

    label = "Meta Graph"
    handler = _Handler

    def make_state(self) -> _State:
        return _State(self.truth, self.config, self.calls)

    def configured_port(self) -> int:
        return self.config.meta_port

    @property
    def account_ids(self) -> list[str]:
        """Graph ids (`act_...`) of the accounts."""
        return [a.graph_id for a in self.truth.accounts(META)]


def facebook_api(
    base_url: str, access_token: str = "sandbox-meta-token", timeout: tuple[float, float] = (2.0, 10.0)
) -> Any:
    """A `FacebookAdsApi` of the official SDK aimed at a sandbox `base_url` (no global `init`).

    Close it with `api._session.requests.close()` when done."""
    from facebook_business.api import FacebookAdsApi
    from facebook_business.session import FacebookSession

    session = FacebookSession(access_token=access_token, timeout=timeout)
    session.GRAPH = base_url
    return FacebookAdsApi(session, api_version=GRAPH_VERSION)
