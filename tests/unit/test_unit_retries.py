"""The unit retry loop of the ingest flow: retryable errors only, never sooner than the API asked."""

from __future__ import annotations

import pytest

from flows.ingest import RetryWaitTooLong, unit_retry_policy, with_unit_retries
from mdp.errors import ConnectorError, RetryableAPIError


class Flaky:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "loaded"


def run(call: Flaky, retries: int = 3, max_wait: float = 900.0) -> tuple[str, list[float]]:
    sleeps: list[float] = []
    result = with_unit_retries(
        call, retries=retries, max_wait_seconds=max_wait, what="unit", sleep=sleeps.append, draw=lambda: 0.5
    )
    return result, sleeps


def test_backoff_doubles_and_a_requested_delay_is_a_floor() -> None:
    policy = unit_retry_policy(3, 900.0)
    assert [policy.delay(n, None, 0.5) for n in (1, 2, 3)] == [2.5, 5.0, 10.0]
    assert [policy.delay(1, None, draw) for draw in (0.0, 0.999)] == [3.0, pytest.approx(2.0, abs=0.01)]
    assert policy.delay(1, 103.0, 0.0) == 103.0
    assert policy.delay(3, 1.0, 0.0) == 12.0


def test_a_server_requested_delay_over_a_minute_is_waited_for() -> None:
    call = Flaky(RetryableAPIError("quota", retry_after=121), RetryableAPIError("5xx"))
    assert run(call) == ("loaded", [121.0, 5.0])
    assert call.calls == 3


def test_a_delay_over_the_ceiling_fails_at_once_and_says_why() -> None:
    call = Flaky(RetryableAPIError("quota", retry_after=3600))
    with pytest.raises(RetryWaitTooLong) as info:
        run(call, max_wait=15 * 60)
    assert str(info.value) == "quota [the API asks to wait 3600s, over max_retry_wait_minutes (15 min): not retried]"
    assert info.value.retry_after == 3600
    assert call.calls == 1


def test_only_retryable_errors_are_retried_and_retries_run_out() -> None:
    fatal = Flaky(ConnectorError("revoked"))
    with pytest.raises(ConnectorError):
        run(fatal)
    assert fatal.calls == 1
    flaky = Flaky(*[RetryableAPIError("5xx") for _ in range(3)])
    with pytest.raises(RetryableAPIError, match="5xx"):
        run(flaky, retries=2)
    assert flaky.calls == 3


def test_a_busy_warehouse_is_waited_for_without_extracting_again() -> None:
    from flows.ingest import when_free
    from mdp.errors import WarehouseBusyError

    attempts: list[int] = []

    def load() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise WarehouseBusyError("warehouse is in use by another process")
        return "loaded"

    sleeps: list[float] = []
    assert when_free(load, what="unit", waits=(5.0, 10.0, 20.0), sleep=sleeps.append) == "loaded"
    assert sleeps == [5.0, 10.0]
    always = Flaky(*[WarehouseBusyError("busy") for _ in range(3)])
    with pytest.raises(WarehouseBusyError):
        when_free(always, what="unit", waits=(1.0, 1.0), sleep=sleeps.append)
    assert always.calls == 3
