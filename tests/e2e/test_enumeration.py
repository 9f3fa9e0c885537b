"""Whether an address has an account must show neither in the answer nor in its timing.

The timing check is deliberately generous (medians within 25 %, over 20 tries
each, interleaved so that machine noise hits both sides): it guards a security
property, not a speed.
"""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tests.e2e.conftest import Gateway

TRIES = 20


async def timed(call: Callable[[], Awaitable[dict[str, Any]]]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    answer = await call()
    return time.perf_counter() - started, answer


def without_volatile(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key not in {"email", "expiresAt"}}


async def compare(
    known: Callable[[int], Awaitable[dict[str, Any]]], unknown: Callable[[int], Awaitable[dict[str, Any]]]
) -> None:
    await known(-1)  # warm both paths up: first calls pay for caches and connections
    await unknown(-1)
    known_times, unknown_times = [], []
    for n in range(TRIES):
        known_time, known_answer = await timed(lambda: known(n))  # noqa: B023 - awaited at once
        unknown_time, unknown_answer = await timed(lambda: unknown(n))  # noqa: B023
        assert without_volatile(known_answer) == without_volatile(unknown_answer)
        known_times.append(known_time)
        unknown_times.append(unknown_time)
    known_median, unknown_median = statistics.median(known_times), statistics.median(unknown_times)
    ratio = max(known_median, unknown_median) / min(known_median, unknown_median)
    assert ratio <= 1.25, f"known {known_median * 1000:.1f} ms, unknown {unknown_median * 1000:.1f} ms"


class TestEnumeration:
    async def test_register_answers_a_known_and_a_new_address_alike(self, gateway: Gateway) -> None:
        await gateway.signed_up("taken@example.com")
        await compare(
            lambda n: gateway.register("taken@example.com"),
            lambda n: gateway.register(f"new-{n}@example.com"),
        )

    async def test_login_answers_a_wrong_password_and_an_unknown_address_alike(self, gateway: Gateway) -> None:
        await gateway.signed_up("member@example.com")
        await compare(
            lambda n: gateway.login("member@example.com", "not the password"),
            lambda n: gateway.login(f"stranger-{n}@example.com", "not the password"),
        )
