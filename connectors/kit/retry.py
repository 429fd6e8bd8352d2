"""One retry loop for every API call and every unit: exponential backoff with jitter, never sooner than the
server asked, bounded in attempts and in how long it may wait. Each caller keeps its own error classification."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from mdp.secrets import redact

logger = logging.getLogger(__name__)
T = TypeVar("T")
_JITTER = random.Random()  # noqa: S311 - backoff jitter, not security


@dataclass(frozen=True)
class RetryPolicy:
    """How often to try and how long to wait between tries.

    The backoff after failed attempt n is `initial_delay * multiplier ** (n - 1)`, capped at `max_delay`,
    then cut by up to `jitter` (a share, 0 to 1). A delay the server asks for is a floor, not capped.
    `max_wait` bounds one wait and `max_total_wait` all of them: a wait over either is not waited for, the
    call gives up (and says so) instead.
    """

    max_attempts: int = 5
    initial_delay: float = 1.0
    max_delay: float = 60.0
    multiplier: float = 2.0
    jitter: float = 0.0
    max_wait: float = math.inf
    max_total_wait: float = math.inf

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"jitter must be a share from 0 to 1, not {self.jitter}")

    def delay(self, attempt: int, asked: float | None = None, draw: float = 0.0) -> float:
        """Seconds to wait after failed attempt `attempt` (1-based); `draw` is uniform in [0, 1)."""
        backoff = min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))
        backoff *= 1.0 - self.jitter * draw
        return backoff if asked is None else max(backoff, asked)


@dataclass(frozen=True)
class Retry:
    """A classifier's verdict that a failure may pass: ask again, after at least `delay` seconds when the
    server named one; `reason` describes the failure in the log (default: the exception's text)."""

    delay: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class GiveUp:
    """Why a retryable failure is not tried again: the attempts ran out, or the next wait is too long."""

    attempts: int
    wait: float
    waited: float
    asked: float | None
    policy: RetryPolicy

    @property
    def exhausted(self) -> bool:
        return self.attempts >= self.policy.max_attempts

    @property
    def too_long(self) -> bool:
        """The next wait is over `max_wait` (the attempts may have run out as well)."""
        return self.wait > self.policy.max_wait

    @property
    def over_total(self) -> bool:
        return self.waited + self.wait > self.policy.max_total_wait


def reraise(error: Exception, stop: GiveUp) -> BaseException:
    """The default end of the retries: the last error, as it was raised."""
    del stop
    return error


def call_with_retries(
    fn: Callable[[], T],
    *,
    classify: Callable[[Exception], Retry | BaseException],
    policy: RetryPolicy,
    what: str,
    give_up: Callable[[Exception, GiveUp], BaseException] = reraise,
    sleep: Callable[[float], None] = time.sleep,
    draw: Callable[[], float] = _JITTER.random,
) -> T:
    """`fn()`, asked again while `classify` answers `Retry` for its exception, as `policy` allows.

    `classify` returns `Retry` or the exception to raise instead (the same one to let it through);
    `give_up` turns the last retryable error into the exception raised when the retries end. Both are
    raised outside any `except` block: no earlier exception (which may hold a URL, a token) is chained
    to them. `what` names the call in the log.
    """
    waited = 0.0
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except Exception as exc:
            error, verdict = exc, classify(exc)
        if not isinstance(verdict, Retry):
            raise verdict
        wait = policy.delay(attempt, verdict.delay, draw())
        stop = GiveUp(attempt, wait, waited, verdict.delay, policy)
        if stop.exhausted or stop.too_long or stop.over_total:
            raise give_up(error, stop)
        logger.warning(
            "%s: %s; retrying in %.2fs (retry %d of %d)%s",
            what,
            verdict.reason if verdict.reason is not None else redact(str(error)),
            wait,
            attempt,
            policy.max_attempts - 1,
            " as the API asked" if verdict.delay is not None and wait == verdict.delay else "",
        )
        sleep(wait)
        waited += wait
