from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.rate_limiting import LockoutPolicy, Rate, ThrottleState, hit, seconds_to_wait
from domain.services.throttle import client_network

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def hits(rate: Rate, times: list[datetime]) -> list[timedelta | None]:
    state = ThrottleState()
    waits = []
    for at in times:
        state, wait = hit(state, rate, at)
        waits.append(wait)
    return waits


class TestRate:
    @pytest.mark.parametrize(
        ("text", "limit", "seconds"),
        [("30/10m", 30, 600), ("5/1h", 5, 3600), ("100/45", 100, 45), (" 2 / 1d ", 2, 86400)],
    )
    def test_parses_attempts_per_window(self, text: str, limit: int, seconds: int) -> None:
        assert Rate.parse(text) == Rate(limit, timedelta(seconds=seconds))

    @pytest.mark.parametrize("text", ["", "30", "30/", "/10m", "0/10m", "5/0s", "5/10w", "-1/10m", "five/10m"])
    def test_refuses_anything_else(self, text: str) -> None:
        with pytest.raises(ValueError, match=r"rate|at least 1"):
            Rate.parse(text)


class TestHit:
    def test_a_burst_up_to_the_limit_then_a_refusal(self) -> None:
        waits = hits(Rate(3, timedelta(minutes=3)), [NOW] * 4)
        assert waits[:3] == [None, None, None]
        assert waits[3] == timedelta(minutes=1)  # one attempt's share of the window

    def test_refills_at_the_limit_per_window(self) -> None:
        rate = Rate(3, timedelta(minutes=3))
        state = ThrottleState()
        for _ in range(3):
            state, _ = hit(state, rate, NOW)
        assert hit(state, rate, NOW + timedelta(seconds=59))[1] == timedelta(seconds=1)
        state, wait = hit(state, rate, NOW + timedelta(minutes=1))
        assert wait is None
        assert hit(state, rate, NOW + timedelta(minutes=1))[1] == timedelta(minutes=1)

    def test_a_refused_attempt_is_not_counted(self) -> None:
        rate = Rate(1, timedelta(minutes=1))
        state, _ = hit(ThrottleState(), rate, NOW)
        refused_state, wait = hit(state, rate, NOW + timedelta(seconds=30))
        assert refused_state == state
        assert wait == timedelta(seconds=30)

    def test_a_long_quiet_spell_gives_a_full_burst_and_no_more(self) -> None:
        rate = Rate(2, timedelta(minutes=1))
        state, _ = hit(ThrottleState(), rate, NOW)
        later = NOW + timedelta(days=1)
        assert hits(rate, [later] * 3)[:2] == [None, None]
        waits = []
        for _ in range(3):
            state, wait = hit(state, rate, later)
            waits.append(wait)
        assert waits[:2] == [None, None]
        assert waits[2] is not None

    def test_the_row_may_be_deleted_once_expired(self) -> None:
        rate = Rate(5, timedelta(minutes=10))
        state, _ = hit(ThrottleState(), rate, NOW)
        assert state.expires_at is not None
        assert hit(ThrottleState(), rate, state.expires_at) == hit(state, rate, state.expires_at)


class TestLockoutPolicy:
    POLICY = LockoutPolicy(
        free_failures=3,
        first_delay=timedelta(seconds=30),
        max_delay=timedelta(minutes=4),
        hard_limit=10,
        memory=timedelta(days=30),
    )

    def test_delays_double_from_the_first_up_to_the_cap(self) -> None:
        delays = [self.POLICY.delay_after(n).total_seconds() for n in range(9)]
        assert delays == [0, 0, 0, 30, 60, 120, 240, 240, 240]
        assert LockoutPolicy().delay_after(10_000) == LockoutPolicy().max_delay

    def test_each_admitted_attempt_counts_as_a_failure(self) -> None:
        state = ThrottleState()
        for expected in (1, 2, 3):
            state, attempt = self.POLICY.begin_attempt(state, NOW)
            assert attempt.failures == expected
            assert attempt.wait is None
        _, attempt = self.POLICY.begin_attempt(state, NOW + timedelta(seconds=10))
        assert attempt.wait == timedelta(seconds=20)
        assert not attempt.locked

    def test_the_hard_limit_locks_for_good(self) -> None:
        state = ThrottleState(count=9, marked_at=NOW)
        state, attempt = self.POLICY.begin_attempt(state, NOW + timedelta(minutes=5))
        assert attempt.failures == 10
        assert state.expires_at is None  # no purge may lift the lock
        for later in (timedelta(minutes=10), timedelta(days=365)):
            _, attempt = self.POLICY.begin_attempt(state, NOW + later)
            assert attempt.locked
            assert attempt.wait == self.POLICY.max_delay

    def test_no_more_than_the_hard_limit_of_failures_ever_get_through(self) -> None:
        state, admitted, at = ThrottleState(), 0, NOW
        for _ in range(1000):
            state, attempt = self.POLICY.begin_attempt(state, at)
            if attempt.wait is None:
                admitted += 1
            at += timedelta(minutes=5)  # longer than any delay
        assert admitted == self.POLICY.hard_limit

    def test_a_shorter_streak_is_forgotten_after_the_memory(self) -> None:
        state = ThrottleState(count=9, marked_at=NOW)
        _, attempt = self.POLICY.begin_attempt(state, NOW + timedelta(days=30))
        assert attempt.wait is None
        assert attempt.failures == 1


@pytest.mark.parametrize(
    ("delay", "seconds"), [(timedelta(0), 1), (timedelta(milliseconds=1), 1), (timedelta(seconds=1.2), 2)]
)
def test_waits_are_whole_seconds_rounded_up(delay: timedelta, seconds: int) -> None:
    assert seconds_to_wait(delay) == seconds


@pytest.mark.parametrize(
    ("ip", "counted_as"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("not an address", "not an address"),
        (None, None),
    ],
)
def test_per_address_limits_count_an_ipv6_client_by_its_64(ip: str | None, counted_as: str | None) -> None:
    assert client_network(ip) == counted_as
