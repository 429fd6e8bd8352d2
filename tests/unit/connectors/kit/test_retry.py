"""The one retry loop: attempts counted, the server's delay honoured, both ceilings kept, jitter bounded."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.kit.retry import GiveUp, Retry, RetryPolicy, call_with_retries


class Busy(Exception):
    def __init__(self, delay: float | None = None) -> None:
        super().__init__(f"busy (asks {delay})")
        self.delay = delay


class Flaky:
    """Raises the queued errors, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


class Stopped(Exception):
    def __init__(self, stop: GiveUp) -> None:
        super().__init__("stopped")
        self.stop = stop


def verdict(error: Exception) -> Retry | BaseException:
    return Retry(error.delay) if isinstance(error, Busy) else error


def run(call: Flaky, policy: RetryPolicy, draw: float = 0.0) -> tuple[str, list[float]]:
    sleeps: list[float] = []
    result = call_with_retries(
        call,
        classify=verdict,
        policy=policy,
        what="test call",
        give_up=lambda _, stop: Stopped(stop),
        sleep=sleeps.append,
        draw=lambda: draw,
    )
    return result, sleeps


FAST = RetryPolicy(max_attempts=4, initial_delay=1.0, max_delay=5.0, multiplier=2.0)


def test_waits_grow_to_the_cap_and_the_call_answers() -> None:
    call = Flaky(Busy(), Busy(), Busy())
    assert run(call, FAST) == ("done", [1.0, 2.0, 4.0])
    assert call.calls == 4
    assert [FAST.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_attempts_are_counted_and_the_last_error_is_handed_to_give_up() -> None:
    call = Flaky(*[Busy() for _ in range(4)], Busy())
    with pytest.raises(Stopped) as info:
        run(call, FAST)
    stop = info.value.stop
    assert (call.calls, stop.attempts, stop.exhausted, stop.too_long, stop.waited) == (4, 4, True, False, 7.0)
    assert info.value.__context__ is None  # raised outside the except block: nothing chained


def test_by_default_the_last_error_itself_is_raised() -> None:
    last = Busy()
    with pytest.raises(Busy) as info:
        call_with_retries(
            Flaky(Busy(), last), classify=verdict, policy=RetryPolicy(max_attempts=2), what="x", sleep=[].append
        )
    assert info.value is last


def test_a_delay_the_server_asks_for_is_a_floor_even_over_the_backoff_cap() -> None:
    call = Flaky(Busy(delay=30.0), Busy(delay=0.5))
    assert run(call, FAST) == ("done", [30.0, 2.0])
    assert FAST.delay(3, asked=0.001) == 4.0


def test_a_wait_over_max_wait_is_not_waited_for() -> None:
    policy = RetryPolicy(max_attempts=4, initial_delay=1.0, max_wait=10.0)
    call = Flaky(Busy(delay=11.0))
    with pytest.raises(Stopped) as info:
        run(call, policy)
    stop = info.value.stop
    assert (call.calls, stop.too_long, stop.exhausted, stop.wait, stop.asked) == (1, True, False, 11.0, 11.0)
    assert run(Flaky(Busy(delay=10.0)), policy) == ("done", [10.0])  # the ceiling itself is allowed


def test_the_total_wait_stays_under_its_ceiling() -> None:
    policy = RetryPolicy(max_attempts=10, initial_delay=1.0, max_delay=8.0, max_total_wait=10.0)
    call = Flaky(*[Busy() for _ in range(9)])
    with pytest.raises(Stopped) as info:
        run(call, policy)
    stop = info.value.stop
    assert (call.calls, stop.waited, stop.wait, stop.over_total) == (4, 7.0, 8.0, True)


def test_what_the_classifier_does_not_retry_is_raised_at_once_as_it_says() -> None:
    bug = ValueError("bug")
    call = Flaky(bug)
    with pytest.raises(ValueError) as info:
        run(call, FAST)
    assert info.value is bug
    assert call.calls == 1

    def translate(error: Exception) -> Retry | BaseException:
        return RuntimeError(f"fatal: {error}")

    with pytest.raises(RuntimeError, match="fatal: bug") as fatal:
        call_with_retries(Flaky(ValueError("bug")), classify=translate, policy=FAST, what="x", sleep=[].append)
    assert fatal.value.__context__ is None


def test_each_retry_is_logged_with_its_reason(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "connectors.kit.retry"):
        call_with_retries(
            Flaky(Busy(delay=3.0)),
            classify=lambda _: Retry(3.0, "quota"),
            policy=FAST,
            what="account 1",
            sleep=[].append,
        )
    assert caplog.messages == ["account 1: quota; retrying in 3.00s (retry 1 of 3) as the API asked"]


@given(
    attempt=st.integers(1, 40),
    jitter=st.floats(0, 1),
    draw=st.floats(0, 1, exclude_max=True),
    initial=st.floats(0, 100),
    multiplier=st.floats(1, 10),
)
def test_jitter_cuts_each_backoff_by_at_most_its_share(
    attempt: int, jitter: float, draw: float, initial: float, multiplier: float
) -> None:
    policy = RetryPolicy(initial_delay=initial, max_delay=300.0, multiplier=multiplier, jitter=jitter)
    full = min(300.0, initial * multiplier ** (attempt - 1))
    assert full * (1 - jitter) - 1e-9 <= policy.delay(attempt, None, draw) <= full


def test_a_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=1.5)
