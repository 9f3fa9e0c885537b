"""resendOtp over HTTP, on SQLite and PostgreSQL, with the code caught by a real SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.client import Gateway, GatewayFactory
from tests.support.clock import AdjustableClock

OTP_LIFETIME = timedelta(minutes=10)


def assert_code_mail_answer(answer: dict[str, Any], email: str) -> None:
    """OtpSent for ``email``, with a code lifetime from now: what every address is told."""
    assert answer["__typename"] == "OtpSent", answer
    assert set(answer) == {"__typename", "email", "expiresAt"}
    assert answer["email"] == email
    expires_in = datetime.fromisoformat(answer["expiresAt"]) - datetime.now(UTC)
    assert OTP_LIFETIME - timedelta(minutes=1) < expires_in <= OTP_LIFETIME


def assert_rate_limited(answer: dict[str, Any]) -> int:
    assert answer["__typename"] == "RateLimited", answer
    assert answer["code"] == "RATE_LIMITED"
    retry_after: int = answer["retryAfterSeconds"]
    return retry_after


async def fresh_code(gateway: Gateway, email: str, previous: str) -> str:
    """Resend until the mailed code differs from ``previous`` (one in a million codes repeats)."""
    for _ in range(3):
        assert (await gateway.resend_otp(email))["__typename"] == "OtpSent"
        code = await gateway.code_to(email)
        if code != previous:
            return code
    raise AssertionError(f"three resends to {email} all mailed {previous}")


class TestResendOtp:
    async def test_a_pending_account_gets_a_new_code_that_verifies_it(self, gateway: Gateway) -> None:
        await gateway.register("pending@example.com")
        first_code = await gateway.last_code("pending@example.com")

        answer = await gateway.resend_otp("pending@example.com")
        assert_code_mail_answer(answer, "pending@example.com")
        new_code = await fresh_code(gateway, "pending@example.com", first_code)
        assert len(gateway.mailbox.bodies_to("pending@example.com")) >= 2

        assert (await gateway.verify("pending@example.com", first_code))["__typename"] == "InvalidOtp"
        signed_in = await gateway.verify("pending@example.com", new_code)
        assert signed_in["__typename"] == "AuthPayload"
        assert signed_in["user"]["emailVerified"] is True
        me = await gateway.me(signed_in["accessToken"])
        assert me["data"]["me"]["email"] == "pending@example.com"

    async def test_the_address_is_matched_whatever_its_case(self, gateway: Gateway) -> None:
        await gateway.register("mixed@example.com")
        assert (await gateway.resend_otp(" MIXED@Example.COM "))["__typename"] == "OtpSent"
        code = await gateway.code_to("MIXED@example.com")  # to the address as typed: the same mailbox
        assert len(gateway.mailbox.bodies_to("mixed@example.com")) == 1
        assert (await gateway.verify("mixed@example.com", code))["__typename"] == "AuthPayload"

    async def test_unknown_and_verified_addresses_get_the_same_answer_and_no_mail(self, gateway: Gateway) -> None:
        await gateway.signed_up("verified@example.com")
        mails_before = len(gateway.mailbox.bodies_to("verified@example.com"))

        verified = await gateway.resend_otp("verified@example.com")
        unknown = await gateway.resend_otp("unknown@example.com")
        await gateway.register("pending@example.com")
        pending = await gateway.resend_otp("pending@example.com")
        await gateway.mail_settled()

        assert_code_mail_answer(verified, "verified@example.com")
        assert_code_mail_answer(unknown, "unknown@example.com")
        assert_code_mail_answer(pending, "pending@example.com")
        assert len(gateway.mailbox.bodies_to("verified@example.com")) == mails_before
        assert gateway.mailbox.bodies_to("unknown@example.com") == []
        assert len(gateway.mailbox.bodies_to("pending@example.com")) == 2

    async def test_a_malformed_address_is_invalid_input_naming_email(self, gateway: Gateway) -> None:
        for malformed in ("not an address", "", "two@@example.com"):
            answer = await gateway.resend_otp(malformed)
            assert answer["__typename"] == "InvalidInput", answer
            assert answer["code"] == "INVALID_INPUT"
            assert [error["field"] for error in answer["fields"]] == ["email"]
            assert answer["fields"][0]["message"]

    async def test_the_mail_has_a_text_and_an_html_part_both_with_the_code(self, gateway: Gateway) -> None:
        await gateway.register("parts@example.com")
        await gateway.resend_otp("parts@example.com")
        code = await gateway.code_to("parts@example.com")
        [_, text] = gateway.mailbox.bodies_to("parts@example.com")
        [_, html] = gateway.mailbox.html_bodies_to("parts@example.com")
        assert code in text
        assert code in html
        assert "<" in html  # a real HTML body, not the text again


class TestResendOtpCooldown:
    async def test_right_after_registering_the_code_must_wait(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock, otp_resend_cooldown_seconds=60)
        await gateway.register("eager@example.com")

        assert 59 <= assert_rate_limited(await gateway.resend_otp("eager@example.com")) <= 60
        assert 59 <= assert_rate_limited(await gateway.resend_otp("Eager@Example.com")) <= 60
        await gateway.mail_settled()
        assert len(gateway.mailbox.bodies_to("eager@example.com")) == 1  # the registration's only

        clock.advance(seconds=60)
        assert (await gateway.resend_otp("eager@example.com"))["__typename"] == "OtpSent"
        new_code = await gateway.code_to("eager@example.com")
        assert len(gateway.mailbox.bodies_to("eager@example.com")) == 2
        # ... and that resend starts the next cooldown
        assert 59 <= assert_rate_limited(await gateway.resend_otp("eager@example.com")) <= 60
        assert (await gateway.verify("eager@example.com", new_code))["__typename"] == "AuthPayload"

    async def test_an_unknown_address_waits_exactly_alike(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock, otp_resend_cooldown_seconds=60)
        await gateway.register("pending@example.com")
        clock.advance(seconds=60)

        pending = [await gateway.resend_otp("pending@example.com") for _ in range(2)]
        unknown = [await gateway.resend_otp("nobody@example.com") for _ in range(2)]
        assert [a["__typename"] for a in pending] == [a["__typename"] for a in unknown] == ["OtpSent", "RateLimited"]
        assert 59 <= assert_rate_limited(unknown[1]) <= 60
        assert pending[1] == unknown[1]

        clock.advance(seconds=60)
        assert (await gateway.resend_otp("nobody@example.com"))["__typename"] == "OtpSent"
        await gateway.mail_settled()
        assert gateway.mailbox.bodies_to("nobody@example.com") == []


class TestResendOtpLimits:
    async def test_requests_from_one_client_address_are_bounded(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_code_requests_per_ip="2/1h")
        await gateway.register("third@example.com")  # registering is counted apart

        assert (await gateway.resend_otp("first@example.com"))["__typename"] == "OtpSent"
        assert (await gateway.resend_otp("second@example.com"))["__typename"] == "OtpSent"
        retry_after = assert_rate_limited(await gateway.resend_otp("third@example.com"))
        assert 0 < retry_after <= 3600
        # refused before the address is even read
        assert_rate_limited(await gateway.resend_otp("not an address"))
        await gateway.mail_settled()
        assert len(gateway.mailbox.bodies_to("third@example.com")) == 1  # the registration's only

    async def test_mails_to_one_address_are_bounded(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_codes_per_account="2/1h")
        await gateway.register("inbox@example.com")  # the first of two mails
        assert (await gateway.resend_otp("inbox@example.com"))["__typename"] == "OtpSent"
        code = await gateway.code_to("inbox@example.com")

        assert_rate_limited(await gateway.resend_otp("inbox@example.com"))
        assert_rate_limited(await gateway.resend_otp("INBOX@example.com"))
        await gateway.mail_settled()
        assert len(gateway.mailbox.bodies_to("inbox@example.com")) == 2
        # the refusals issued no code: the last one mailed still works
        assert (await gateway.verify("inbox@example.com", code))["__typename"] == "AuthPayload"

    async def test_an_unknown_address_has_the_same_budget(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_codes_per_account="2/1h")
        answers = [(await gateway.resend_otp("nobody@example.com"))["__typename"] for _ in range(3)]
        assert answers == ["OtpSent", "OtpSent", "RateLimited"]
