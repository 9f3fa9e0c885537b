"""The arithmetic of rate limits and account lockout, free of any storage.

A store keeps one ``ThrottleState`` per key and applies these pure functions to
it atomically (under a row lock), so several gateway processes share one count.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*([smhd]?)\s*$")


@dataclass(frozen=True)
class Rate:
    """``limit`` attempts at once, and ``limit`` more for every ``window`` that passes."""

    limit: int
    window: timedelta

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"30/10m"``: 30 per 10 minutes; units s, m, h, d (seconds when omitted)."""
        match = _RATE.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a rate like 30/10m (attempts / window with unit s, m, h or d)")
        limit, amount, unit = int(match[1]), int(match[2]), match[3] or "s"
        if limit < 1 or amount < 1:
            raise ValueError(f"{text!r}: attempts and window must be at least 1")
        return cls(limit, timedelta(seconds=amount * _UNITS[unit]))

    def __str__(self) -> str:
        return f"{self.limit}/{int(self.window.total_seconds())}s"


@dataclass(frozen=True)
class ThrottleState:
    """What a store keeps per key.

    For a rate: ``marked_at`` is the theoretical arrival time of the next attempt
    (GCRA). For a lockout: ``count`` consecutive failures, the last at
    ``marked_at``. ``expires_at`` is when the row can be deleted without changing
    any decision.
    """

    count: int = 0
    marked_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class CounterHit:
    """One attempt to count at ``rate`` for ``key`` at ``now``, as ``ThrottleRepository.hit``
    counts it, handed to a repository that makes the hit in the same statement as its own
    read or write (one round trip to the database instead of two)."""

    key: str
    rate: Rate
    now: datetime


class CounterRefused(Exception):
    """The ``CounterHit`` was refused: nothing was counted, and the repository did nothing
    else; the next attempt is admitted after ``wait``."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__(f"refused for {wait}")
        self.wait = wait


def seconds_to_wait(delay: timedelta) -> int:
    """Whole seconds, rounded up, and at least one: "retry after 0 s" would be a lie."""
    return max(1, math.ceil(delay.total_seconds()))


def hit(state: ThrottleState, rate: Rate, now: datetime) -> tuple[ThrottleState, timedelta | None]:
    """Count one attempt, or refuse it with the exact time to wait.

    The generic cell rate algorithm, a token bucket kept as one timestamp: a
    burst of up to ``rate.limit`` attempts, refilled at ``rate.limit`` per
    ``rate.window``. A refused attempt is not counted, so hammering does not
    extend the wait.
    """
    interval = rate.window / rate.limit
    tolerance = rate.window - interval
    arrival = max(state.marked_at or now, now)
    if arrival - now > tolerance:
        return state, arrival - tolerance - now
    next_arrival = arrival + interval
    return ThrottleState(marked_at=next_arrival, expires_at=next_arrival), None


@dataclass(frozen=True)
class LockoutPolicy:
    """Consecutive failed sign-ins per account: a progressive delay, then a hard stop.

    The first ``free_failures`` cost nothing. After that each attempt must wait
    ``first_delay``, doubling with every further failure up to ``max_delay``, so
    an attacker cannot keep the real person out for longer than ``max_delay`` at a
    time. At ``hard_limit`` consecutive failures (NIST SP 800-63B allows at most
    100) the account is locked until an operator unlocks it (or, once the
    gateway has one, a password reset does). A shorter streak is forgotten
    after ``memory`` without failures, and ended by any successful sign-in.
    """

    free_failures: int = 5
    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(minutes=15)
    hard_limit: int = 100
    memory: timedelta = timedelta(days=30)

    def delay_after(self, failures: int) -> timedelta:
        if failures < self.free_failures:
            return timedelta()
        steps = failures - self.free_failures
        # 2**steps overflows timedelta long before it matters: stop doubling at the cap.
        if steps >= 32:
            return self.max_delay
        return min(self.first_delay * (1 << steps), self.max_delay)

    def begin_attempt(self, state: ThrottleState, now: datetime) -> tuple[ThrottleState, SignInAttempt]:
        """Admit one attempt, counting it as a failure until it succeeds, or refuse it.

        Counting before the password is checked is what makes concurrent guesses
        count: each one takes the row lock in turn and sees the ones before it.
        """
        failures = state.count
        if failures >= self.hard_limit:
            return state, SignInAttempt(failures, wait=self.max_delay, locked=True)
        if state.marked_at is not None and now - state.marked_at >= self.memory:
            failures = 0
        if state.marked_at is not None:
            ready_at = state.marked_at + self.delay_after(failures)
            if now < ready_at:
                return state, SignInAttempt(failures, wait=ready_at - now)
        failures += 1
        # A locked account's row must outlive any purge: only an unlock ends it.
        expires_at = None if failures >= self.hard_limit else now + self.memory
        return ThrottleState(failures, now, expires_at), SignInAttempt(failures)


@dataclass(frozen=True)
class SignInAttempt:
    """The lockout's answer: admitted as failure number ``failures``, or refused for ``wait``."""

    failures: int
    wait: timedelta | None = None
    locked: bool = False
