from __future__ import annotations

import asyncio

from tests.support.client import Gateway, GatewayFactory
from tests.support.clock import AdjustableClock


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


class TestVerifyOtp:
    async def test_right_code_verifies_and_signs_in_once(self, gateway: Gateway) -> None:
        await gateway.register("v@example.com")
        code = await gateway.last_code("v@example.com")
        payload = await gateway.verify("v@example.com", code)
        assert payload["__typename"] == "AuthPayload"
        assert payload["user"]["emailVerified"] is True
        assert (await gateway.verify("v@example.com", code))["__typename"] == "InvalidOtp"

    async def test_unknown_address_and_wrong_code_look_the_same(self, gateway: Gateway) -> None:
        await gateway.register("w@example.com")
        wrong = await gateway.verify("w@example.com", _wrong(await gateway.last_code("w@example.com")))
        unknown = await gateway.verify("nobody@example.com", "123456")
        assert wrong == unknown
        assert wrong["__typename"] == "InvalidOtp"

    async def test_fifth_wrong_try_kills_the_code(self, gateway: Gateway) -> None:
        await gateway.register("guess@example.com")
        code = await gateway.last_code("guess@example.com")
        answers = [(await gateway.verify("guess@example.com", _wrong(code)))["__typename"] for _ in range(5)]
        assert answers == ["InvalidOtp"] * 4 + ["TooManyAttempts"]
        assert (await gateway.verify("guess@example.com", code))["__typename"] == "TooManyAttempts"
        # a new code is the way out
        await gateway.register("guess@example.com")
        fresh = await gateway.last_code("guess@example.com")
        assert (await gateway.verify("guess@example.com", fresh))["__typename"] == "AuthPayload"

    async def test_malformed_code_is_invalid_input(self, gateway: Gateway) -> None:
        result = await gateway.verify("x@example.com", "12ab56")
        assert result["__typename"] == "InvalidInput"
        assert [f["field"] for f in result["fields"]] == ["code"]

    async def test_right_code_after_its_lifetime_is_expired(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock, otp_ttl_seconds=60)
        await gateway.register("late@example.com")
        code = await gateway.last_code("late@example.com")
        clock.advance(seconds=61)
        assert (await gateway.verify("late@example.com", code))["__typename"] == "OtpExpired"


class TestVerifyOtpRace:
    async def test_concurrent_guesses_get_no_more_than_five_tries(self, gateway: Gateway) -> None:
        await gateway.register("burst@example.com")
        code = await gateway.last_code("burst@example.com")
        answers = await asyncio.gather(*(gateway.verify("burst@example.com", _wrong(code)) for _ in range(12)))
        kinds = sorted(a["__typename"] for a in answers)
        assert kinds == ["InvalidOtp"] * 4 + ["TooManyAttempts"] * 8
        assert (await gateway.verify("burst@example.com", code))["__typename"] == "TooManyAttempts"
