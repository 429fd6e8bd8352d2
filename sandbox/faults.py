"""Switchable faults (errors, slowness, bad data) and per-account call counters for the sandbox servers.

Faults come from Python (`FaultPlan.add(Fault(...))`) or from a JSON/YAML spec, inline or in a file,
named by the environment variable `MDP_SANDBOX_FAULTS`. See docs/sandbox.md for the spec format.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from sandbox.data import CHANNELS, GOOGLE, LINKEDIN, META, MICROSOFT, TIKTOK, normalize_account_id

logger = logging.getLogger(__name__)

FAULTS_ENV = "MDP_SANDBOX_FAULTS"

# kind -> channels it applies to
FAULT_KINDS: dict[str, frozenset[str]] = {
    # call faults: the call fails (or is slow) instead of answering
    "quota_retry": frozenset({GOOGLE}),  # RESOURCE_EXHAUSTED, RESOURCE_TEMPORARILY_EXHAUSTED + retry_delay
    "quota_daily": frozenset({GOOGLE}),  # RESOURCE_EXHAUSTED, daily RESOURCE_EXHAUSTED (not retryable)
    "unavailable": frozenset(CHANNELS),  # gRPC UNAVAILABLE / HTTP 503 code 2 / HTTP 503 (Microsoft)
    # gRPC INTERNAL / HTTP 500 code 1 (param `status` for other 5xx) / Microsoft code 0 InternalError
    "internal": frozenset(CHANNELS),
    "slow": frozenset(CHANNELS),  # sleep `delay_seconds` before answering
    # UNAUTHENTICATED OAUTH_TOKEN_REVOKED / code 190 subcode 460 / Microsoft: the token endpoint answers invalid_grant
    "revoked": frozenset(CHANNELS),
    # PERMISSION_DENIED USER_PERMISSION_DENIED / code 200 / Microsoft code 106 UserIsNotAuthorized
    "permission_denied": frozenset(CHANNELS),
    # code 190, cannot parse access token / code 105 / TikTok 40105 / LinkedIn: HTTP 401 INVALID_ACCESS_TOKEN
    "token_invalid": frozenset({META, MICROSOFT, TIKTOK, LINKEDIN}),
    # Meta: code `code` (4, 17, 613, 80004, ...) + throttle headers; Microsoft: code 117 CallRateExceeded;
    # TikTok: code 40100 (too many requests); LinkedIn: HTTP 429 with Retry-After `retry_after` (1)
    "throttle": frozenset({META, MICROSOFT, TIKTOK, LINKEDIN}),
    "job_failed": frozenset({META}),  # async report run ends in "Job Failed"
    # code 109 AuthenticationTokenExpired (the SDK refreshes, retries) / LinkedIn: HTTP 401 EXPIRED_ACCESS_TOKEN
    "expired_token": frozenset({MICROSOFT, LINKEDIN}),
    "report_error": frozenset({MICROSOFT}),  # PollGenerateReport answers Status "Error"
    "empty_report": frozenset({MICROSOFT}),  # the report succeeds without a download URL (no rows)
    # row faults: the call answers, with altered rows
    "malformed": frozenset(CHANNELS),  # param `mode`: negative_cost | missing_id | non_numeric (Meta)
    "schema_drift": frozenset({GOOGLE, META, TIKTOK, LINKEDIN}),  # an extra, unrequested field in each row
    # rows silently missing server-side: every row of the answer's first campaign (lowest id) is left out of
    # each answer that has campaigns, while the account's own totals still count them
    "rows_missing": frozenset(CHANNELS),
    # data faults: not per call but per account and day (truth sees them too)
    "row_drop": frozenset(CHANNELS),  # keep only `keep_fraction` (0.1) of the day's rows
    "spend_spike": frozenset(CHANNELS),  # cost of the day times `factor` (10)
}
CALL_FAULTS = frozenset(
    {
        "quota_retry",
        "quota_daily",
        "unavailable",
        "internal",
        "slow",
        "revoked",
        "permission_denied",
        "token_invalid",
        "throttle",
        "job_failed",
        "expired_token",
        "report_error",
    }
)
ROW_FAULTS = frozenset({"malformed", "schema_drift", "empty_report", "rows_missing"})
DATA_FAULTS = frozenset({"row_drop", "spend_spike"})
MALFORMED_MODES = frozenset({"negative_cost", "missing_id", "non_numeric"})
_SPEC_KEYS = frozenset({"kind", "channel", "account", "method", "report", "first_call", "times", "fail_first", "day"})


@dataclass
class Fault:
    """One fault. Call and row faults hit the calls that match `channel`/`account`/`method`,
    counted per fault: calls number `first_call` .. `first_call + times - 1` (all later calls when
    `times` is None). `report` narrows call and row faults to one report (one stream) as the sandbox names
    it (`report_key` of each sandbox: Google the query before WHERE, Meta `insights:<level>:<breakdowns>:
    <action breakdowns>` or the edge, Microsoft the report request type, LinkedIn the analytics pivot). Data
    faults hit `account` (or every account) on `day` (or every day)."""

    kind: str
    channel: str | None = None
    account: str | None = None
    method: str | None = None
    report: str | None = None
    first_call: int = 1
    times: int | None = None
    day: date | None = None
    params: dict[str, Any] = field(default_factory=dict)
    matched_calls: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {sorted(FAULT_KINDS)}")
        if self.channel is not None and self.channel not in CHANNELS:
            raise ValueError(f"fault channel must be one of {CHANNELS}, got {self.channel!r}")
        if self.channel is not None and self.channel not in FAULT_KINDS[self.kind]:
            raise ValueError(f"fault kind {self.kind!r} does not apply to channel {self.channel!r}")
        if self.first_call < 1:
            raise ValueError("first_call counts from 1")
        if self.times is not None and self.times < 0:
            raise ValueError("times must be >= 0 (or null for every call)")
        if self.account is not None:
            self.account = normalize_account_id(self.account)
        if self.kind == "malformed":
            mode = self.params.setdefault("mode", "negative_cost")
            if mode not in MALFORMED_MODES:
                raise ValueError(f"malformed mode must be one of {sorted(MALFORMED_MODES)}, got {mode!r}")
        if self.kind in DATA_FAULTS and self.first_call != 1:
            raise ValueError(f"{self.kind} is a data fault: use `day`, not call counts")

    def applies_to(
        self, channel: str, account: str | None, method: str | None = None, report: str | None = None
    ) -> bool:
        if channel not in FAULT_KINDS[self.kind] or (self.channel and self.channel != channel):
            return False
        if self.account is not None and self.account != account:
            return False
        if self.report is not None and self.report != report:
            return False
        return self.method is None or method is None or self.method == method

    def param(self, name: str, default: Any) -> Any:
        return self.params.get(name, default)

    @classmethod
    def from_mapping(cls, spec: Mapping[str, Any]) -> Fault:
        """Build a fault from one spec entry; keys other than the known ones become `params`."""
        if "kind" not in spec:
            raise ValueError(f"fault spec needs a 'kind': {dict(spec)!r}")
        params = {k: v for k, v in spec.items() if k not in _SPEC_KEYS}
        first_call = int(spec.get("first_call", 1))
        times = spec.get("times")
        if "fail_first" in spec:
            first_call, times = 1, int(spec["fail_first"])
        day = spec.get("day")
        if isinstance(day, str):
            day = date.fromisoformat(day)
        account = spec.get("account")
        return cls(
            kind=str(spec["kind"]),
            channel=spec.get("channel"),
            account=None if account is None else str(account),
            method=spec.get("method"),
            report=None if spec.get("report") is None else str(spec["report"]),
            first_call=first_call,
            times=None if times is None else int(times),
            day=day,
            params=params,
        )

    def to_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, **self.params}
        for key in ("channel", "account", "method", "report", "times"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.first_call != 1:
            out["first_call"] = self.first_call
        if self.day is not None:
            out["day"] = self.day.isoformat()
        return out


class FaultPlan:
    """The active faults of a sandbox; thread-safe, changeable while servers run."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = [replace(f, matched_calls=0) for f in faults]

    def add(self, fault: Fault | Mapping[str, Any]) -> Fault:
        item = fault if isinstance(fault, Fault) else Fault.from_mapping(fault)
        with self._lock:
            self._faults.append(item)
        logger.info("sandbox fault added: %s", item.to_mapping())
        return item

    def extend(self, faults: Iterable[Fault | Mapping[str, Any]]) -> None:
        for fault in faults:
            self.add(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def remove(self, fault: Fault) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if f is not fault]

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def on_call(self, channel: str, account: str | None, method: str, report: str | None = None) -> list[Fault]:
        """Count this call against every matching call/row fault; return those active for it."""
        active: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if fault.kind in DATA_FAULTS or not fault.applies_to(channel, account, method, report):
                    continue
                fault.matched_calls += 1
                n = fault.matched_calls
                if n >= fault.first_call and (fault.times is None or n < fault.first_call + fault.times):
                    active.append(fault)
        return active

    def data_faults(self, channel: str, account: str, day: date) -> list[Fault]:
        with self._lock:
            return [
                f
                for f in self._faults
                if f.kind in DATA_FAULTS and f.applies_to(channel, account) and f.day in (None, day)
            ]

    def to_spec(self) -> list[dict[str, Any]]:
        return [f.to_mapping() for f in self.faults]


def parse_fault_spec(spec: str | Sequence[Any] | Mapping[str, Any] | None) -> list[Fault]:
    """Parse a spec: a list of fault mappings, or `{"faults": [...]}`, given as objects or JSON/YAML text."""
    if spec is None:
        return []
    data: Any = yaml.safe_load(spec) if isinstance(spec, str) else spec
    if data is None:
        return []
    if isinstance(data, Mapping):
        if "faults" not in data:
            raise ValueError("a fault spec is a list of faults or a mapping with a 'faults' list")
        data = data["faults"] or []
    if not isinstance(data, Sequence) or isinstance(data, str | bytes):
        raise ValueError("a fault spec is a list of faults or a mapping with a 'faults' list")
    return [Fault.from_mapping(item) for item in data]


def faults_from_env(environ: Mapping[str, str] | None = None) -> list[Fault]:
    """Faults named by `MDP_SANDBOX_FAULTS`: inline JSON/YAML (starting with `[` or `{`) or a file path."""
    env = os.environ if environ is None else environ
    value = env.get(FAULTS_ENV, "").strip()
    if not value:
        return []
    if value[0] in "[{":
        return parse_fault_spec(value)
    path = Path(value)
    if not path.is_file():
        raise ValueError(f"{FAULTS_ENV} names no file and is not inline JSON/YAML: {value!r}")
    return parse_fault_spec(path.read_text(encoding="utf-8"))


class CallCounter:
    """Counts API calls per (account, method), and when they came (monotonic clock); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._times: dict[str, list[float]] = {}

    def record(self, account: str | None, method: str) -> None:
        with self._lock:
            self._counts[(account or "", method)] += 1
            self._times.setdefault(account or "", []).append(time.monotonic())

    def times(self, account: str) -> list[float]:
        """When each call for `account` arrived (time.monotonic), in order."""
        with self._lock:
            return list(self._times.get(normalize_account_id(account), []))

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._counts)

    def total(self, account: str | None = None, method: str | None = None) -> int:
        key = None if account is None else normalize_account_id(account)
        with self._lock:
            return sum(
                n
                for (acc, meth), n in self._counts.items()
                if (key is None or acc == key) and (method is None or meth == method)
            )

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._times.clear()

    def as_json(self) -> str:
        return json.dumps([{"account": a, "method": m, "calls": n} for (a, m), n in self.snapshot().items()])


def without_first_campaign(rows: Sequence[Mapping[str, Any]], campaign_key: str) -> list[Any]:
    """The `rows_missing` fault: the rows of an answer without those of its first campaign (lowest id, as a
    string); an answer without campaigns (an account's totals) is left whole."""
    campaigns = sorted({str(r[campaign_key]) for r in rows if r.get(campaign_key) not in (None, "")})
    if not campaigns:
        return list(rows)
    return [r for r in rows if str(r.get(campaign_key)) != campaigns[0]]
