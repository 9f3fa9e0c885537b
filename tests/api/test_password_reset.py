"""requestPasswordReset and resetPassword, over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime
from typing import Any

import pytest

from domain.otp import OtpCodes
from tests.support.client import PASSWORD, Gateway, GatewayFactory
from tests.support.clock import AdjustableClock
from tests.support.mail import SmtpSink

ADDRESS = "forgot@example.com"
NEW_PASSWORD = "a brand new passphrase 42"
# What the gateway draws instead of a random code in the tests that must know a
# code no mailbox ever received, to look for it in the log.
UNDELIVERED_CODE = "482915"


def wrong_codes(code: str, count: int) -> list[str]:
    """``count`` six-digit codes, none of them ``code``."""
    return [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, count + 1)]


async def assert_signed_out(gateway: Gateway, payload: dict[str, Any]) -> None:
    """Neither token of the session that ``payload`` (an AuthPayload) started works any more."""
    assert (await gateway.refresh(payload["refreshToken"]))["__typename"] == "InvalidRefreshToken"
    body = await gateway.me(payload["accessToken"])
    assert body["data"] == {"me": None}
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]


async def reset_code(gateway: Gateway, email: str = ADDRESS) -> str:
    """Ask for a reset of ``email`` and read the code from its mailbox."""
    assert (await gateway.request_password_reset(email))["__typename"] == "OtpSent"
    return await gateway.code_to(email)


def expires_at(answer: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(answer["expiresAt"])


@pytest.fixture
async def verified_account(gateway: Gateway) -> dict[str, Any]:
    """The AuthPayload of a verified account at ADDRESS with PASSWORD."""
    return await gateway.signed_up(ADDRESS)


class TestRequestPasswordReset:
    async def test_known_address_gets_a_six_digit_code_in_text_and_html(
        self, gateway: Gateway, verified_account: dict[str, Any]
    ) -> None:
        sent = await gateway.request_password_reset(ADDRESS)
        assert sent["__typename"] == "OtpSent"
        assert sent["email"] == ADDRESS
        code = await gateway.code_to(ADDRESS)
        assert re.fullmatch(r"\d{6}", code)
        assert code in gateway.mailbox.html_bodies_to(ADDRESS)[-1]
        assert "reset" in str(gateway.mailbox.messages[-1]["Subject"]).lower()
        assert len(gateway.mailbox.bodies_to(ADDRESS)) == 2  # the sign-up code, then this one

    async def test_the_account_is_found_whatever_the_case_typed_and_the_code_goes_to_that_spelling(
        self, gateway: Gateway, verified_account: dict[str, Any]
    ) -> None:
        sent = await gateway.request_password_reset("  Forgot@EXAMPLE.com ")
        assert sent["__typename"] == "OtpSent"
        code = await gateway.code_to("Forgot@example.com")
        assert (await gateway.reset_password(ADDRESS, code, NEW_PASSWORD))["__typename"] == "AuthPayload"

    async def test_unknown_address_gets_the_same_answer_and_no_mail(
        self, gateway: Gateway, verified_account: dict[str, Any]
    ) -> None:
        known = await gateway.request_password_reset(ADDRESS)
        unknown = await gateway.request_password_reset("nobody@example.com")
        await gateway.mail_settled()

        assert unknown.keys() == known.keys()
        assert unknown["__typename"] == known["__typename"] == "OtpSent"
        assert unknown["email"] == "nobody@example.com"
        assert abs((expires_at(unknown) - expires_at(known)).total_seconds()) < 5
        assert gateway.mailbox.bodies_to("nobody@example.com") == []
        assert len(gateway.mailbox.messages) == 2  # the sign-up code and the reset code, both to ADDRESS

    async def test_not_an_address_is_invalid_input(self, gateway: Gateway) -> None:
        result = await gateway.request_password_reset("not-an-address")
        assert result["__typename"] == "InvalidInput"
        assert [field["field"] for field in result["fields"]] == ["email"]


class TestRequestPasswordResetWhenMailFails:
    """A code that cannot be delivered must not reveal that the address has an account."""

    @staticmethod
    def assert_failure_logged_without_the_code(caplog: pytest.LogCaptureFixture, email: str) -> None:
        # the refusal is logged by the outbox, under the item's id: neither address nor code
        gateway_lines = [r.getMessage() for r in caplog.records if r.name.startswith("gateway.")]
        assert [line for line in gateway_lines if "attempt 1 failed" in line], caplog.text
        assert not [line for line in gateway_lines if email in line or UNDELIVERED_CODE in line], gateway_lines
        assert UNDELIVERED_CODE not in caplog.text
        # dropped as an expected delivery failure, not as a crash
        assert "Traceback" not in caplog.text
        assert not [r for r in caplog.records if r.name == "gateway.graphql"]

    async def test_refused_message_still_answers_otp_sent(
        self,
        gateway_factory: GatewayFactory,
        refusing_smtp_server: SmtpSink,
        caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        gateway: Gateway = await gateway_factory()
        refusal = refusing_smtp_server.reply
        refusing_smtp_server.reply = "250 OK"
        await gateway.signed_up(ADDRESS)
        refusing_smtp_server.reply = refusal
        monkeypatch.setattr(OtpCodes, "generate", staticmethod(lambda: UNDELIVERED_CODE))
        caplog.set_level(logging.INFO)

        known = await gateway.request_password_reset(ADDRESS)
        unknown = await gateway.request_password_reset("nobody@example.com")
        await gateway.mail_settled()

        assert known["__typename"] == unknown["__typename"] == "OtpSent"
        assert known.keys() == unknown.keys()
        self.assert_failure_logged_without_the_code(caplog, ADDRESS)
        # the gateway goes on: once mail flows again, a new request resets the password
        refusing_smtp_server.reply = "250 OK"
        monkeypatch.undo()
        code = await reset_code(gateway)
        assert (await gateway.reset_password(ADDRESS, code, NEW_PASSWORD))["__typename"] == "AuthPayload"

    async def test_server_not_listening_still_answers_otp_sent(
        self,
        gateway_factory: GatewayFactory,
        closed_smtp_port: int,
        caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        with_mail: Gateway = await gateway_factory()
        await with_mail.signed_up(ADDRESS)
        gateway: Gateway = await gateway_factory(smtp_port=closed_smtp_port)
        monkeypatch.setattr(OtpCodes, "generate", staticmethod(lambda: UNDELIVERED_CODE))
        caplog.set_level(logging.INFO)

        known = await gateway.request_password_reset(ADDRESS)
        unknown = await gateway.request_password_reset("nobody@example.com")
        await gateway.mail_settled()

        assert known["__typename"] == unknown["__typename"] == "OtpSent"
        assert known.keys() == unknown.keys()
        self.assert_failure_logged_without_the_code(caplog, ADDRESS)
        # the account is untouched
        assert (await gateway.login(ADDRESS))["__typename"] == "AuthPayload"


class TestResetPassword:
    async def test_right_code_starts_a_working_session(
        self, gateway: Gateway, verified_account: dict[str, Any]
    ) -> None:
        result = await gateway.reset_password(ADDRESS, await reset_code(gateway), NEW_PASSWORD)
        assert result["__typename"] == "AuthPayload"
        assert result["user"]["email"] == ADDRESS
        me = (await gateway.me(result["accessToken"]))["data"]["me"]
        assert me["id"] == verified_account["user"]["id"]
        assert (await gateway.refresh(result["refreshToken"]))["__typename"] == "AuthPayload"

    async def test_new_password_signs_in_and_the_old_one_does_not(
        self, gateway: Gateway, verified_account: dict[str, Any]
    ) -> None:
        await gateway.reset_password(ADDRESS, await reset_code(gateway), NEW_PASSWORD)
        assert (await gateway.login(ADDRESS, NEW_PASSWORD))["__typename"] == "AuthPayload"
        assert (await gateway.login(ADDRESS, PASSWORD))["__typename"] == "InvalidCredentials"

    async def test_every_earlier_session_ends(self, gateway: Gateway, verified_account: dict[str, Any]) -> None:
        other_device = await gateway.login(ADDRESS)
        result = await gateway.reset_password(ADDRESS, await reset_code(gateway), NEW_PASSWORD)
        assert result["__typename"] == "AuthPayload"
        await assert_signed_out(gateway, verified_account)
        await assert_signed_out(gateway, other_device)
        assert (await gateway.me(result["accessToken"]))["data"]["me"]["email"] == ADDRESS

    async def test_a_code_works_once(self, gateway: Gateway, verified_account: dict[str, Any]) -> None:
        code = await reset_code(gateway)
        assert (await gateway.reset_password(ADDRESS, code, NEW_PASSWORD))["__typename"] == "AuthPayload"
        again = await gateway.reset_password(ADDRESS, code, "yet another passphrase 7")
        assert again["__typename"] == "InvalidOtp"
        assert (await gateway.login(ADDRESS, NEW_PASSWORD))["__typename"] == "AuthPayload"

    async def test_wrong_code_is_invalid_otp_and_changes_nothing(
        self, gateway: Gateway, verified_account: dict[str, Any]
    ) -> None:
        code = await reset_code(gateway)
        [wrong] = wrong_codes(code, 1)
        result = await gateway.reset_password(ADDRESS, wrong, NEW_PASSWORD)
        assert result["__typename"] == "InvalidOtp"
        assert result["code"]
        assert (await gateway.login(ADDRESS, PASSWORD))["__typename"] == "AuthPayload"
        # one wrong try does not spend the code
        assert (await gateway.reset_password(ADDRESS, code, NEW_PASSWORD))["__typename"] == "AuthPayload"

    async def test_five_wrong_codes_spend_it_even_for_the_right_one(
        self, gateway: Gateway, verified_account: dict[str, Any]
    ) -> None:
        code = await reset_code(gateway)
        answers = [
            (await gateway.reset_password(ADDRESS, guess, NEW_PASSWORD))["__typename"] for guess in wrong_codes(code, 5)
        ]
        assert answers == ["InvalidOtp"] * 4 + ["TooManyAttempts"]
        assert (await gateway.reset_password(ADDRESS, code, NEW_PASSWORD))["__typename"] == "TooManyAttempts"
        assert (await gateway.login(ADDRESS, PASSWORD))["__typename"] == "AuthPayload"
        # a fresh code has fresh tries
        fresh = await reset_code(gateway)
        assert (await gateway.reset_password(ADDRESS, fresh, NEW_PASSWORD))["__typename"] == "AuthPayload"

    async def test_expired_code(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock)
        await gateway.signed_up(ADDRESS)
        code = await reset_code(gateway)
        clock.advance(minutes=10, seconds=1)
        assert (await gateway.reset_password(ADDRESS, code, NEW_PASSWORD))["__typename"] == "OtpExpired"
        assert (await gateway.login(ADDRESS, PASSWORD))["__typename"] == "AuthPayload"

    async def test_weak_password_names_new_password_and_keeps_the_code(
        self, gateway: Gateway, verified_account: dict[str, Any]
    ) -> None:
        code = await reset_code(gateway)
        result = await gateway.reset_password(ADDRESS, code, "password1")
        assert result["__typename"] == "InvalidInput"
        assert [field["field"] for field in result["fields"]] == ["newPassword"]
        assert (await gateway.login(ADDRESS, "password1"))["__typename"] == "InvalidCredentials"
        assert (await gateway.reset_password(ADDRESS, code, NEW_PASSWORD))["__typename"] == "AuthPayload"

    async def test_a_password_changed_notice_arrives(self, gateway: Gateway, verified_account: dict[str, Any]) -> None:
        code = await reset_code(gateway)
        await gateway.reset_password(ADDRESS, code, NEW_PASSWORD)
        await gateway.mail_settled()
        notice = gateway.mailbox.bodies_to(ADDRESS)[-1]
        assert "password" in notice
        assert "was just reset with a code sent to this address" in " ".join(notice.split())
        assert not re.search(r"\b\d{6}\b", notice)
        assert "changed" in str(gateway.mailbox.messages[-1]["Subject"])
        assert NEW_PASSWORD not in notice

    async def test_unknown_address_is_invalid_otp(self, gateway: Gateway) -> None:
        result = await gateway.reset_password("nobody@example.com", "123456", NEW_PASSWORD)
        assert result["__typename"] == "InvalidOtp"

    async def test_a_verification_code_is_not_a_reset_code(self, gateway: Gateway) -> None:
        await gateway.register(ADDRESS)
        verification_code = await gateway.last_code(ADDRESS)
        result = await gateway.reset_password(ADDRESS, verification_code, NEW_PASSWORD)
        assert result["__typename"] == "InvalidOtp"
        assert (await gateway.verify(ADDRESS, verification_code))["__typename"] == "AuthPayload"


class TestResetPasswordRace:
    async def test_concurrent_resets_with_one_code_let_exactly_one_through(
        self, gateway: Gateway, verified_account: dict[str, Any]
    ) -> None:
        code = await reset_code(gateway)
        passwords = [f"racing passphrase number {n}" for n in range(5)]
        answers = await asyncio.gather(*(gateway.reset_password(ADDRESS, code, p) for p in passwords))
        kinds = sorted(answer["__typename"] for answer in answers)
        assert kinds == ["AuthPayload"] + ["InvalidOtp"] * 4
        [winner] = [p for p, answer in zip(passwords, answers, strict=True) if answer["__typename"] == "AuthPayload"]
        signed_in = [p for p in passwords if (await gateway.login(ADDRESS, p))["__typename"] == "AuthPayload"]
        assert signed_in == [winner]


class TestResetPasswordEndsTheLockout:
    async def test_after_too_many_failed_sign_ins(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(lockout_free_failures=2)
        await gateway.signed_up(ADDRESS)
        for _ in range(2):
            assert (await gateway.login(ADDRESS, "a wrong guess"))["__typename"] == "InvalidCredentials"
        assert (await gateway.login(ADDRESS, PASSWORD))["__typename"] == "RateLimited"

        result = await gateway.reset_password(ADDRESS, await reset_code(gateway), NEW_PASSWORD)
        assert result["__typename"] == "AuthPayload"
        assert (await gateway.login(ADDRESS, NEW_PASSWORD))["__typename"] == "AuthPayload"

    async def test_a_locked_account_is_unlocked_as_the_refusal_promises(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(
            clock=clock,
            lockout_free_failures=2,
            lockout_first_delay_seconds=1,
            lockout_max_delay_seconds=1,
            lockout_hard_limit=3,
        )
        await gateway.signed_up(ADDRESS)
        for _ in range(3):
            assert (await gateway.login(ADDRESS, "a wrong guess"))["__typename"] == "InvalidCredentials"
            clock.advance(seconds=1)
        locked = await gateway.login(ADDRESS, PASSWORD)
        assert locked["code"] == "ACCOUNT_LOCKED"
        assert "Reset the password" in locked["message"]

        result = await gateway.reset_password(ADDRESS, await reset_code(gateway), NEW_PASSWORD)
        assert result["__typename"] == "AuthPayload"
        assert (await gateway.login(ADDRESS, NEW_PASSWORD))["__typename"] == "AuthPayload"


class TestResetPasswordOfAnUnverifiedAccount:
    async def test_the_reset_also_verifies_the_address(self, gateway: Gateway) -> None:
        await gateway.register(ADDRESS)  # the code is never entered
        assert (await gateway.login(ADDRESS))["__typename"] == "EmailNotVerified"

        result = await gateway.reset_password(ADDRESS, await reset_code(gateway), NEW_PASSWORD)
        assert result["__typename"] == "AuthPayload"
        assert result["user"]["emailVerified"] is True
        assert (await gateway.me(result["accessToken"]))["data"]["me"]["emailVerified"] is True
        assert (await gateway.login(ADDRESS, NEW_PASSWORD))["__typename"] == "AuthPayload"
