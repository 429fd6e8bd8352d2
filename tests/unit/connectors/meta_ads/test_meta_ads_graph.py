"""Retry decisions, backoff and throttle headers, the retry loop, report-run splitting and the settings."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from typing import Any

import pytest
import requests
from facebook_business.exceptions import FacebookRequestError
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from connectors.meta_ads.connector import MetaAdsConnector
from connectors.meta_ads.exceptions import MetaAdsError, MetaAdsRetryableError, ReportRunFailed
from connectors.meta_ads.graph import (
    GraphClient,
    classify_graph_error,
    classify_transport_error,
    insights_utilisation,
    throttle_wait,
)
from connectors.meta_ads.reports import ReportRunner, StartedRun, poll_waits, split_range, wait_together
from connectors.meta_ads.settings import GRAPH_API_VERSION, MetaAdsSettings
from mdp.errors import RetryableAPIError

THROTTLE_PAUSE = 45.0
TOKEN = "EAABunit" + "x" * 20


def settings(**changes: Any) -> MetaAdsSettings:
    values: dict[str, Any] = {
        "name": "meta_ads",
        "type": "meta_ads",
        "accounts": ["act_123"],
        "credentials": {"access_token": "env:META_TOKEN"},
        "graph_url": "http://127.0.0.1:9",
        "retry_base_delay_seconds": 0,
        "retry_max_delay_seconds": 0,
        "throttle_pause_seconds": 0,
        "poll_initial_seconds": 1,
        "poll_max_seconds": 8,
    }
    values.update(changes)
    return MetaAdsSettings.model_validate(values)


def graph_error(
    code: int | None,
    status: int = 400,
    subcode: int | None = None,
    transient: bool = False,
    headers: dict[str, str] | None = None,
) -> FacebookRequestError:
    error: dict[str, Any] = {"message": f"(#{code}) boom", "type": "OAuthException", "fbtrace_id": "TRACE"}
    if code is not None:
        error["code"] = code
    if subcode is not None:
        error["error_subcode"] = subcode
    error["is_transient"] = transient
    context = {"method": "GET", "path": "http://127.0.0.1/v26.0/act_1/insights", "params": {}}
    return FacebookRequestError("Call was not successful", context, status, headers or {}, json.dumps({"error": error}))


@pytest.mark.parametrize(
    ("code", "status", "transient", "retryable", "reason"),
    [
        (4, 400, True, True, "throttled"),
        (17, 400, True, True, "throttled"),
        (32, 400, False, True, "throttled"),
        (613, 400, True, True, "throttled"),
        (80000, 400, True, True, "throttled"),
        (80014, 400, True, True, "throttled"),
        (1, 500, True, True, "server error"),
        (2, 503, True, True, "server error"),
        (None, 502, False, True, "server error"),
        (2, 400, True, True, "transient error"),
        (190, 400, False, False, "access token rejected"),
        (10, 403, False, False, "permission denied"),
        (200, 403, False, False, "permission denied"),
        (294, 400, False, False, "permission denied"),
        (100, 400, False, False, "invalid parameter"),
        (368, 400, False, False, "request rejected"),
    ],
)
def test_graph_errors_are_classified(
    code: int | None, status: int, transient: bool, retryable: bool, reason: str
) -> None:
    failure = classify_graph_error(graph_error(code, status, transient=transient), THROTTLE_PAUSE)
    assert (failure.retryable, failure.reason) == (retryable, reason)
    assert failure.fbtrace_id == "TRACE"
    assert failure.http_status == status


def test_throttling_waits_as_the_headers_say() -> None:
    usage = {"123": [{"type": "ads_insights", "estimated_time_to_regain_access": 2}]}
    headers = {"X-Business-Use-Case-Usage": json.dumps(usage)}
    failure = classify_graph_error(graph_error(80004, subcode=2446079, headers=headers), THROTTLE_PAUSE)
    assert failure.retry_after == 120
    assert "throttled (HTTP 400, code 80004, subcode 2446079, fbtrace_id TRACE)" in failure.describe()
    no_time = classify_graph_error(graph_error(17), THROTTLE_PAUSE)
    assert no_time.retry_after == THROTTLE_PAUSE
    assert throttle_wait({"x-ad-account-usage": json.dumps({"reset_time_duration": 30})}) == 30
    assert throttle_wait({"x-business-use-case-usage": "not json"}) is None
    assert throttle_wait(None) is None
    insights = {"x-fb-ads-insights-throttle": json.dumps({"app_id_util_pct": 12, "acc_id_util_pct": 97})}
    assert insights_utilisation(insights) == 97


def test_transport_errors() -> None:
    timeout = (3.0, 60.0)
    assert classify_transport_error(requests.ReadTimeout("url?access_token=x"), timeout).describe() == (
        "read timeout after 60s"
    )
    assert classify_transport_error(requests.ConnectTimeout(), timeout).reason == "connect timeout after 3s"
    assert classify_transport_error(requests.ConnectionError("refused"), timeout).retryable
    assert not classify_transport_error(requests.exceptions.InvalidURL("x"), timeout).retryable


@given(retry=st.integers(1, 30), hint=st.none() | st.floats(0, 10_000), seed=st.integers())
def test_backoff_grows_is_jittered_capped_and_never_shorter_than_asked(
    retry: int, hint: float | None, seed: int
) -> None:
    policy = settings(max_retries=3, retry_base_delay_seconds=1.0, retry_max_delay_seconds=30.0).retry_policy()
    wait = policy.delay(retry, hint, random.Random(seed).random())
    ceiling = min(30.0, 1.0 * 2 ** (retry - 1))
    assert ceiling / 2 <= wait <= max(ceiling, hint or 0)
    if hint is not None:
        assert wait >= hint
    assert (policy.max_attempts, policy.max_wait) == (4, 30.0)


class FakeApi:
    """Stands in for FacebookAdsApi.call: raises the queued errors, then answers."""

    def __init__(self, *outcomes: Exception | dict[str, Any]) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, tuple[str, ...], dict[str, Any]]] = []

    def call(self, method: str, path: tuple[str, ...], params: dict[str, Any]) -> Any:
        self.calls.append((method, path, params))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return FakeResponse(outcome)


class FakeResponse:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def json(self) -> dict[str, Any]:
        return self.body

    def headers(self) -> dict[str, str]:
        return {}

    def status(self) -> int:
        return 200


def client_with(api: FakeApi, **changes: Any) -> tuple[GraphClient, list[float]]:
    sleeps: list[float] = []
    client = GraphClient(settings(**changes), TOKEN, "app-secret-unit", sleep=sleeps.append)
    client._api = api
    return client, sleeps


def test_the_retry_loop_retries_only_what_is_retryable() -> None:
    api = FakeApi(graph_error(80004), requests.ReadTimeout("http://x/?access_token=" + TOKEN), {"ok": 1})
    client, sleeps = client_with(api, max_retries=2)
    assert client.get(("act_1",), {}, what="account 1: read") == {"ok": 1}
    assert (len(api.calls), len(sleeps), client.retries) == (3, 2, 2)

    api = FakeApi(graph_error(190), {"never": 1})
    client, sleeps = client_with(api)
    with pytest.raises(MetaAdsError) as info:
        client.get(("act_1",), {}, what="account 1: read")
    assert not isinstance(info.value, RetryableAPIError)
    assert (len(api.calls), sleeps) == (1, [])
    assert info.value.__context__ is None
    assert info.value.__cause__ is None


def test_a_wait_longer_than_the_call_may_sleep_is_handed_up_with_the_delay_asked() -> None:
    usage = {"123": [{"type": "ads_insights", "estimated_time_to_regain_access": 2}]}
    api = FakeApi(graph_error(80004, headers={"X-Business-Use-Case-Usage": json.dumps(usage)}), {"ok": 1})
    client, sleeps = client_with(api, max_retries=3, retry_max_delay_seconds=30)
    with pytest.raises(MetaAdsRetryableError) as info:
        client.get(("act_1",), {}, what="account 1: read")
    assert info.value.retry_after == 120
    assert (len(api.calls), sleeps) == (1, [])


def test_retries_end_in_a_retryable_error_without_the_token() -> None:
    api = FakeApi(*[requests.ConnectionError("http://x/?access_token=" + TOKEN)] * 3)
    client, _ = client_with(api, max_retries=2)
    with pytest.raises(MetaAdsRetryableError) as info:
        client.post(("act_1", "insights"), {}, what="account 1: start")
    assert str(info.value) == (
        "Meta Ads account 1: start failed: connection failed (ConnectionError) (after 2 retries)"
    )
    assert info.value.__context__ is None
    assert TOKEN not in repr(info.value.failure)


def test_a_non_object_answer_is_retried() -> None:
    client, _ = client_with(FakeApi({"data": []}), max_retries=1)
    client._api.outcomes.insert(0, requests.ReadTimeout())
    assert client.get(("x",), {}, what="x") == {"data": []}


@given(since=st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)), days=st.integers(1, 400))
def test_split_covers_the_range_in_two_disjoint_halves(since: dt.date, days: int) -> None:
    until = since + dt.timedelta(days=days)
    (a, b), (c, d) = split_range(since, until)
    assert (a, d) == (since, until)
    assert a <= b < c <= d
    assert c == b + dt.timedelta(days=1)
    assert (b - a).days >= (d - c).days


def test_poll_waits_double_and_stay_bounded() -> None:
    waits = poll_waits(1, 8)
    assert [next(waits) for _ in range(6)] == [1, 2, 4, 8, 8, 8]
    zero = poll_waits(0, 0)
    assert [next(zero) for _ in range(3)] == [0, 0, 0]


class ScriptedClient:
    """Report-run answers by path, with a clock that each request moves forward."""

    def __init__(self, statuses: dict[str, list[str]], step: float = 1.0) -> None:
        self.statuses = statuses
        self.now = 0.0
        self.step = step
        self.started: list[tuple[str, str]] = []

    def post(self, path: tuple[str, ...], params: dict[str, Any], *, what: str) -> dict[str, Any]:
        run_id = str(len(self.started) + 1)
        self.started.append((params["time_range"]["since"], params["time_range"]["until"]))
        return {"report_run_id": run_id}

    def get(self, path: tuple[str, ...], params: dict[str, Any], *, what: str) -> dict[str, Any]:
        self.now += self.step
        if len(path) == 1:
            states = self.statuses.get(path[0]) or ["Job Completed"]
            state = states.pop(0) if len(states) > 1 else states[0]
            return {
                "async_status": state,
                "async_percent_completion": 100 if state == "Job Completed" else 50,
            }
        since, until = self.started[int(path[0]) - 1]
        return {"data": [{"since": since, "until": until}]}


def runner(client: ScriptedClient, **changes: Any) -> ReportRunner:
    sleep: Callable[[float], None] = lambda seconds: None  # noqa: E731
    return ReportRunner(client, settings(**changes), "123", sleep=sleep, clock=lambda: client.now)  # type: ignore[arg-type]


def test_a_failed_run_is_split_down_to_days() -> None:
    client = ScriptedClient({"1": ["Job Running", "Job Failed"], "2": ["Job Failed"]})
    ranges = [(s, u) for s, u, _ in runner(client).rows(dt.date(2025, 3, 1), dt.date(2025, 3, 4))]
    assert ranges == [
        (dt.date(2025, 3, 1), dt.date(2025, 3, 1)),
        (dt.date(2025, 3, 2), dt.date(2025, 3, 2)),
        (dt.date(2025, 3, 3), dt.date(2025, 3, 4)),
    ]
    assert client.started == [
        ("2025-03-01", "2025-03-04"),
        ("2025-03-01", "2025-03-02"),
        ("2025-03-01", "2025-03-01"),
        ("2025-03-02", "2025-03-02"),
        ("2025-03-03", "2025-03-04"),
    ]


def test_a_run_past_its_timeout_is_split_and_a_day_gives_up() -> None:
    client = ScriptedClient({str(i): ["Job Running"] for i in range(1, 10)})
    with pytest.raises(MetaAdsRetryableError, match="for 2025-03-01 timed out after 5s"):
        list(runner(client, job_timeout_seconds=5, job_attempts=2).rows(dt.date(2025, 3, 1), dt.date(2025, 3, 2)))
    assert client.started == [
        ("2025-03-01", "2025-03-02"),
        ("2025-03-01", "2025-03-01"),
        ("2025-03-01", "2025-03-01"),
    ]


def test_report_run_failed_is_internal() -> None:
    assert not issubclass(ReportRunFailed, RetryableAPIError)


def test_settings_defaults_and_normalisation() -> None:
    parsed = MetaAdsSettings.model_validate(
        {
            "name": "m",
            "type": "meta_ads",
            "accounts": ["act_123", "456"],
            "credentials": {"access_token": "env:T"},
        }
    )
    assert parsed.accounts == ["123", "456"]
    assert parsed.conversion_action_types == ["omni_purchase", "purchase", "offsite_conversion.fb_pixel_purchase"]
    assert parsed.conversion_aggregation == "first_match"
    assert parsed.api_version == GRAPH_API_VERSION == "v26.0"
    assert parsed.base_url == "https://graph.facebook.com"
    connector = MetaAdsConnector(parsed)
    assert connector.lookback_days == 28
    assert [a.id for a in connector.list_accounts()] == ["123", "456"]
    assert connector.describe()["conversion_action_types"] == parsed.conversion_action_types
    assert connector.describe()["conversion_aggregation"] == "first_match"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"accounts": ["act_1", "1"]}, "accounts listed twice"),
        ({"accounts": ["act_x"]}, "is not a Meta ad account id"),
        ({"credentials": {}}, "access_token is required"),
        (
            {"credentials": {"access_token": "env:T", "password": "env:P"}},  # pragma: allowlist secret
            "unknown credential keys",
        ),
        ({"credentials": {"access_token": "EAABliteral"}}, "secret reference"),
        ({"graph_url": "http://graph.example.com"}, "plain http is accepted for loopback only"),
        ({"graph_url": "https://graph.example.com/v26.0"}, "without path or query"),
        ({"api_version": "26"}, "api_version"),
        ({"conversion_action_types": []}, "conversion_action_types"),
        ({"conversion_action_types": ["purchase", "purchase"]}, "listed twice"),
        ({"page_size": 5}, "Extra inputs are not permitted"),
        ({"poll_initial_seconds": 10, "poll_max_seconds": 1}, "poll_max_seconds"),
    ],
)
def test_settings_errors(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        settings(**changes)
    assert message in str(info.value)
    assert "EAABliteral" not in str(info.value) or "secret reference" in message


def test_runs_started_together_are_polled_together_until_each_settles() -> None:
    client = ScriptedClient({"1": ["Job Running", "Job Completed"], "2": ["Job Failed"], "3": ["Job Running"]})
    waits: list[float] = []
    ahead = runner(client)
    runs = {day: ahead.start(dt.date(2025, 3, day), dt.date(2025, 3, day)) for day in (1, 2, 3)}
    settled = wait_together(
        client,  # type: ignore[arg-type]
        settings(job_timeout_seconds=10, poll_initial_seconds=1, poll_max_seconds=2),
        runs,
        sleep=waits.append,
        clock=lambda: client.now,
    )
    assert settled == {
        1: StartedRun("1", completed=True),
        2: StartedRun("2", failed="ended 'Job Failed'"),
        3: StartedRun("3", failed="timed out after 10s"),
    }
    assert waits[:2] == [1, 2]  # one growing wait per round for all runs, not one per run


def test_a_unit_reads_its_completed_run_at_once_and_splits_a_failed_one() -> None:
    client = ScriptedClient({})
    days = (dt.date(2025, 3, 1), dt.date(2025, 3, 2))
    ahead = runner(client).start(*days)
    ranges = list(runner(client).rows(*days, StartedRun(ahead, completed=True)))
    assert client.started == [("2025-03-01", "2025-03-02")]  # no second run
    assert client.now == 1.0  # and no status poll: one request, for the pages
    assert [(s, u) for s, u, _ in ranges] == [days]
    client = ScriptedClient({})
    ranges = list(runner(client).rows(*days, StartedRun("1", failed="ended 'Job Failed'")))
    assert client.started == [("2025-03-01", "2025-03-01"), ("2025-03-02", "2025-03-02")]
    assert [(s, u) for s, u, _ in ranges] == [(days[0], days[0]), (days[1], days[1])]
