"""Whether an address has an account must show neither in the answer nor in its timing.

The timing checks run with bcrypt at cost 8 (not the suite's 4), so a password hash is most
of an answer's time: a path that skipped it (the leak these tests guard against) answers in
less than half the time of the other, while noise moves two medians of interleaved tries by
far less. The margin (1.5) sits between the two, with room on both sides.
"""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING, Any

import pytest

from persistence.models import ThrottleRow

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tests.support.client import Gateway, GatewayFactory

# Timings are compared here: these tests run alone, after make test's parallel pass.
pytestmark = pytest.mark.serial

TRIES = 15
TIMING_COST = 8  # bcrypt cost of the timed gateway: a hash takes longer than the rest of an answer
MARGIN = 1.5  # the slower median may be this much above the faster one


async def timed(call: Callable[[], Awaitable[dict[str, Any]]]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    answer = await call()
    return time.perf_counter() - started, answer


def without_volatile(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key not in {"email", "expiresAt"}}


async def compare(
    known: Callable[[int], Awaitable[dict[str, Any]]],
    unknown: Callable[[int], Awaitable[dict[str, Any]]],
    between: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """``between`` runs, untimed, before each timed call: e.g. waiting for the mail the last
    call queued, which the test's SMTP sink receives in this very process (a real mail server
    does not take its time from the gateway's next answer)."""
    await known(-1)  # warm both paths up: first calls pay for caches and connections
    await unknown(-1)
    known_times, unknown_times = [], []
    for n in range(TRIES):
        if between is not None:
            await between()
        known_time, known_answer = await timed(lambda: known(n))  # noqa: B023 - awaited at once
        if between is not None:
            await between()
        unknown_time, unknown_answer = await timed(lambda: unknown(n))  # noqa: B023
        assert without_volatile(known_answer) == without_volatile(unknown_answer)
        known_times.append(known_time)
        unknown_times.append(unknown_time)
    known_median, unknown_median = statistics.median(known_times), statistics.median(unknown_times)
    ratio = max(known_median, unknown_median) / min(known_median, unknown_median)
    assert ratio <= MARGIN, f"known {known_median * 1000:.1f} ms, unknown {unknown_median * 1000:.1f} ms"


class TestEnumeration:
    @pytest.fixture
    async def gateway(self, gateway_factory: GatewayFactory) -> Gateway:
        timed: Gateway = await gateway_factory(bcrypt_cost=TIMING_COST)
        timed.settle_mail_after_requests = False
        return timed

    async def test_register_answers_a_known_and_a_new_address_alike(self, gateway: Gateway) -> None:
        for n in range(-1, TRIES):
            await gateway.signed_up(f"taken-{n}@example.com")
        # Each address is asked about once, as a prober would, with no counters left from
        # its sign-up: counters show that an address was asked about lately, not whether
        # it has an account, and the first hit on an address makes its rows.
        await ThrottleRow.all().delete()
        await compare(
            lambda n: gateway.register(f"taken-{n}@example.com"),
            lambda n: gateway.register(f"new-{n}@example.com"),
        )

    async def test_login_answers_a_wrong_password_and_an_unknown_address_alike(self, gateway: Gateway) -> None:
        await gateway.signed_up("member@example.com")
        await compare(
            lambda n: gateway.login("member@example.com", "not the password"),
            lambda n: gateway.login(f"stranger-{n}@example.com", "not the password"),
        )

    async def test_sign_in_code_requests_answer_an_account_and_a_stranger_alike(self, gateway: Gateway) -> None:
        for n in range(-1, TRIES):
            await gateway.signed_up(f"member-{n}@example.com")
        await ThrottleRow.all().delete()  # as for register: each address asked about once, afresh
        await compare(
            lambda n: gateway.request_sign_in_code(f"member-{n}@example.com"),
            lambda n: gateway.request_sign_in_code(f"stranger-{n}@example.com"),
            between=gateway.mail_settled,
        )


WRONG_CODE_TRIES = 7  # past the five a code allows
NEW_PASSWORD = "a new long passphrase"


async def wrong_code(gateway: Gateway, address: str) -> str:
    """A code that is not the last one mailed to ``address`` (if any was)."""
    mailed = await gateway.last_code(address) if gateway.mailbox.bodies_to(address) else None
    return "111111" if mailed == "000000" else "000000"


class TestTryCounters:
    """Wrong codes are counted alike for every address: a stranger learns nothing from when
    ``TooManyAttempts`` comes (it used to come only for addresses with an account)."""

    async def test_reset_codes_an_account_and_a_stranger_are_refused_alike_try_for_try(self, gateway: Gateway) -> None:
        await gateway.signed_up("member@example.com")
        answers: dict[str, list[str]] = {}
        for address in ("member@example.com", "stranger@example.com"):
            await gateway.request_password_reset(address)
            await gateway.mail_settled()
            wrong = await wrong_code(gateway, address)
            answers[address] = [
                (await gateway.reset_password(address, wrong, NEW_PASSWORD))["__typename"]
                for _ in range(WRONG_CODE_TRIES)
            ]

        assert answers["member@example.com"] == answers["stranger@example.com"]
        assert answers["stranger@example.com"] == ["InvalidOtp"] * 4 + ["TooManyAttempts"] * 3

    async def test_sign_up_codes_a_pending_a_verified_and_an_unknown_address_are_refused_alike(
        self, gateway: Gateway
    ) -> None:
        await gateway.register("pending@example.com")
        await gateway.signed_up("verified@example.com")
        answers: dict[str, list[str]] = {}
        for address in ("pending@example.com", "verified@example.com", "unknown@example.com"):
            wrong = await wrong_code(gateway, address)
            answers[address] = [(await gateway.verify(address, wrong))["__typename"] for _ in range(WRONG_CODE_TRIES)]

        assert answers["pending@example.com"] == answers["verified@example.com"] == answers["unknown@example.com"]
        assert answers["unknown@example.com"] == ["InvalidOtp"] * 4 + ["TooManyAttempts"] * 3

    async def test_sign_in_codes_a_verified_a_pending_and_an_unknown_address_are_refused_alike(
        self, gateway: Gateway
    ) -> None:
        await gateway.signed_up("verified@example.com")
        await gateway.register("pending@example.com")
        answers: dict[str, list[str]] = {}
        for address in ("verified@example.com", "pending@example.com", "unknown@example.com"):
            await gateway.request_sign_in_code(address)
            await gateway.mail_settled()
            wrong = await wrong_code(gateway, address)
            answers[address] = [
                (await gateway.sign_in_with_code(address, wrong))["__typename"] for _ in range(WRONG_CODE_TRIES)
            ]

        assert answers["verified@example.com"] == answers["pending@example.com"] == answers["unknown@example.com"]
        assert answers["unknown@example.com"] == ["InvalidOtp"] * 4 + ["TooManyAttempts"] * 3

    async def test_asking_for_a_new_code_gives_the_tries_back_for_every_address(self, gateway: Gateway) -> None:
        await gateway.signed_up("member@example.com")
        for address in ("member@example.com", "stranger@example.com"):
            for _ in range(5):
                await gateway.reset_password(address, await wrong_code(gateway, address), NEW_PASSWORD)
            refused = await gateway.reset_password(address, await wrong_code(gateway, address), NEW_PASSWORD)
            assert refused["__typename"] == "TooManyAttempts", address

            await gateway.request_password_reset(address)
            await gateway.mail_settled()
            again = await gateway.reset_password(address, await wrong_code(gateway, address), NEW_PASSWORD)
            assert again["__typename"] == "InvalidOtp", address
