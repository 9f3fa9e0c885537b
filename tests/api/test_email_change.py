"""requestEmailChange and confirmEmailChange, over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.support.client import CONFIRM_EMAIL_CHANGE, PASSWORD, REQUEST_EMAIL_CHANGE, Gateway, GatewayFactory
from tests.support.clock import AdjustableClock
from tests.support.mail import SmtpSink

OLD_ADDRESS = "old@example.com"
NEW_ADDRESS = "new@example.com"
TAKEN_ADDRESS = "taken@example.com"


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def has_a_code(body: str) -> bool:
    return re.search(r"\b\d{6}\b", body) is not None


def assert_unauthenticated(body: Any) -> None:
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]


async def email_shown(gateway: Gateway, token: str) -> str:
    address: str = (await gateway.me(token))["data"]["me"]["email"]
    return address


async def change_code(gateway: Gateway, token: str, new_email: str = NEW_ADDRESS) -> str:
    """Ask to move the account to ``new_email`` and read the code mailed there."""
    assert (await gateway.request_email_change(token, new_email))["__typename"] == "OtpSent"
    return await gateway.last_code(new_email)


@pytest.fixture
async def access_token(gateway: Gateway) -> str:
    """The access token of a verified account at OLD_ADDRESS with PASSWORD."""
    token: str = (await gateway.signed_up(OLD_ADDRESS))["accessToken"]
    return token


class TestRequestEmailChange:
    async def test_wrong_password(self, gateway: Gateway, access_token: str) -> None:
        result = await gateway.request_email_change(access_token, NEW_ADDRESS, "not my password")
        assert result["__typename"] == "WrongPassword"
        await gateway.mail_settled()
        assert gateway.mailbox.bodies_to(NEW_ADDRESS) == []

    @pytest.mark.parametrize("same", [OLD_ADDRESS, "Old@Example.COM", " OLD@example.com "])
    async def test_the_accounts_own_address_is_invalid_input(
        self, gateway: Gateway, access_token: str, same: str
    ) -> None:
        result = await gateway.request_email_change(access_token, same)
        assert result["__typename"] == "InvalidInput"
        assert [field["field"] for field in result["fields"]] == ["newEmail"]

    async def test_not_an_address_is_invalid_input(self, gateway: Gateway, access_token: str) -> None:
        result = await gateway.request_email_change(access_token, "not-an-address")
        assert result["__typename"] == "InvalidInput"
        assert [field["field"] for field in result["fields"]] == ["newEmail"]

    async def test_mails_a_code_to_the_new_address_only(self, gateway: Gateway, access_token: str) -> None:
        result = await gateway.request_email_change(access_token, NEW_ADDRESS)
        assert result["__typename"] == "OtpSent"
        assert result["email"] == NEW_ADDRESS
        assert result["expiresAt"]
        await gateway.mail_settled()
        code = await gateway.last_code(NEW_ADDRESS)
        assert code in gateway.mailbox.html_bodies_to(NEW_ADDRESS)[-1]
        assert len(gateway.mailbox.bodies_to(OLD_ADDRESS)) == 1  # the sign-up code, nothing since

    async def test_the_account_keeps_its_address_until_the_code_comes_back(
        self, gateway: Gateway, access_token: str
    ) -> None:
        await gateway.request_email_change(access_token, NEW_ADDRESS)
        assert await email_shown(gateway, access_token) == OLD_ADDRESS
        assert (await gateway.login(OLD_ADDRESS))["__typename"] == "AuthPayload"
        assert (await gateway.login(NEW_ADDRESS))["__typename"] == "InvalidCredentials"

    async def test_without_a_token_is_unauthenticated(self, gateway: Gateway) -> None:
        body = await gateway.post(REQUEST_EMAIL_CHANGE, {"input": {"newEmail": NEW_ADDRESS, "password": PASSWORD}})
        assert_unauthenticated(body)
        assert gateway.mailbox.messages == []


class TestConfirmEmailChange:
    async def test_moves_the_account_to_the_new_address(self, gateway: Gateway, access_token: str) -> None:
        code = await change_code(gateway, access_token)
        result = await gateway.confirm_email_change(access_token, code)
        assert result["__typename"] == "User"
        assert result["email"] == NEW_ADDRESS
        assert result["emailVerified"] is True
        assert await email_shown(gateway, access_token) == NEW_ADDRESS
        assert (await gateway.login(NEW_ADDRESS))["__typename"] == "AuthPayload"
        assert (await gateway.login(OLD_ADDRESS))["__typename"] == "InvalidCredentials"

    async def test_the_old_address_gets_a_notice_naming_the_new_one(self, gateway: Gateway, access_token: str) -> None:
        await gateway.confirm_email_change(access_token, await change_code(gateway, access_token))
        await gateway.mail_settled()
        notices = gateway.mailbox.bodies_to(OLD_ADDRESS)
        assert len(notices) == 2  # the sign-up code, then the notice
        assert NEW_ADDRESS in notices[-1]
        assert NEW_ADDRESS in gateway.mailbox.html_bodies_to(OLD_ADDRESS)[-1]
        assert not has_a_code(notices[-1])

    async def test_wrong_code_is_invalid_otp_and_changes_nothing(self, gateway: Gateway, access_token: str) -> None:
        code = await change_code(gateway, access_token)
        assert (await gateway.confirm_email_change(access_token, wrong_code(code)))["__typename"] == "InvalidOtp"
        assert await email_shown(gateway, access_token) == OLD_ADDRESS
        # one wrong try does not spend the code
        assert (await gateway.confirm_email_change(access_token, code))["__typename"] == "User"

    async def test_a_code_works_once(self, gateway: Gateway, access_token: str) -> None:
        code = await change_code(gateway, access_token)
        assert (await gateway.confirm_email_change(access_token, code))["__typename"] == "User"
        assert (await gateway.confirm_email_change(access_token, code))["__typename"] == "InvalidOtp"
        assert await email_shown(gateway, access_token) == NEW_ADDRESS

    async def test_five_wrong_codes_spend_it(self, gateway: Gateway, access_token: str) -> None:
        code = await change_code(gateway, access_token)
        guesses = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 6)]
        answers = [(await gateway.confirm_email_change(access_token, guess))["__typename"] for guess in guesses]
        assert answers == ["InvalidOtp"] * 4 + ["TooManyAttempts"]
        assert (await gateway.confirm_email_change(access_token, code))["__typename"] == "TooManyAttempts"
        assert await email_shown(gateway, access_token) == OLD_ADDRESS

    async def test_expired_code(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock)
        await gateway.signed_up(OLD_ADDRESS)
        code = await change_code(gateway, (await gateway.login(OLD_ADDRESS))["accessToken"])
        clock.advance(minutes=10, seconds=1)
        # the access token of the request has expired meanwhile: sign in again, as a person would
        token = (await gateway.login(OLD_ADDRESS))["accessToken"]
        assert (await gateway.confirm_email_change(token, code))["__typename"] == "OtpExpired"
        assert await email_shown(gateway, token) == OLD_ADDRESS

    async def test_the_old_address_is_free_for_a_new_account(self, gateway: Gateway, access_token: str) -> None:
        await gateway.confirm_email_change(access_token, await change_code(gateway, access_token))
        newcomer = await gateway.signed_up(OLD_ADDRESS, "the newcomer's passphrase")
        assert newcomer["user"]["email"] == OLD_ADDRESS
        assert await email_shown(gateway, access_token) == NEW_ADDRESS

    async def test_concurrent_confirmations_with_one_code_move_the_account_once(
        self, gateway: Gateway, access_token: str
    ) -> None:
        code = await change_code(gateway, access_token)
        answers = await asyncio.gather(*(gateway.confirm_email_change(access_token, code) for _ in range(5)))
        assert sorted(answer["__typename"] for answer in answers) == ["InvalidOtp"] * 4 + ["User"]
        await gateway.mail_settled()
        assert len(gateway.mailbox.bodies_to(OLD_ADDRESS)) == 2  # the sign-up code and one notice

    async def test_nothing_pending_is_invalid_otp(self, gateway: Gateway, access_token: str) -> None:
        assert (await gateway.confirm_email_change(access_token, "123456"))["__typename"] == "InvalidOtp"

    async def test_another_accounts_code_does_not_move_this_one(self, gateway: Gateway, access_token: str) -> None:
        other = (await gateway.signed_up("other@example.com"))["accessToken"]
        code = await change_code(gateway, other)
        assert (await gateway.confirm_email_change(access_token, code))["__typename"] == "InvalidOtp"
        assert await email_shown(gateway, access_token) == OLD_ADDRESS

    async def test_without_a_token_is_unauthenticated(self, gateway: Gateway) -> None:
        assert_unauthenticated(await gateway.post(CONFIRM_EMAIL_CHANGE, {"input": {"code": "123456"}}))


class TestEmailChangeToATakenAddress:
    async def test_same_answer_a_notice_to_the_owner_and_nothing_to_confirm(
        self, gateway: Gateway, access_token: str
    ) -> None:
        await gateway.signed_up(TAKEN_ADDRESS)
        mails_before = len(gateway.mailbox.messages)

        taken = await gateway.request_email_change(access_token, "Taken@Example.com")
        await gateway.mail_settled()
        assert gateway.mailbox.recipients[mails_before:] == [[TAKEN_ADDRESS]]  # one mail, to the owner
        notice = gateway.mailbox.bodies_to(TAKEN_ADDRESS)[-1]
        assert not has_a_code(notice)
        assert not has_a_code(gateway.mailbox.html_bodies_to(TAKEN_ADDRESS)[-1])

        free = await gateway.request_email_change(access_token, NEW_ADDRESS)
        assert taken["__typename"] == free["__typename"] == "OtpSent"
        assert taken.keys() == free.keys()

    async def test_the_owners_notice_tells_what_happened(self, gateway: Gateway, access_token: str) -> None:
        await gateway.signed_up(TAKEN_ADDRESS)
        await gateway.request_email_change(access_token, TAKEN_ADDRESS)
        await gateway.mail_settled()
        notice = gateway.mailbox.bodies_to(TAKEN_ADDRESS)[-1]
        subject = str(gateway.mailbox.messages[-1]["Subject"])
        assert "sign up" not in subject
        assert "create a new" not in notice
        assert "asked to change that account's e-mail address to this one" in " ".join(notice.split())

    async def test_the_change_cannot_be_confirmed(self, gateway: Gateway, access_token: str) -> None:
        taken = await gateway.signed_up(TAKEN_ADDRESS)
        owners_code = await gateway.last_code(TAKEN_ADDRESS)  # the only code that mailbox ever got
        await gateway.request_email_change(access_token, TAKEN_ADDRESS)
        for code in (owners_code, "000000"):
            assert (await gateway.confirm_email_change(access_token, code))["__typename"] == "InvalidOtp"
        assert await email_shown(gateway, access_token) == OLD_ADDRESS
        assert await email_shown(gateway, taken["accessToken"]) == TAKEN_ADDRESS
        assert (await gateway.login(TAKEN_ADDRESS))["user"]["id"] == taken["user"]["id"]

    async def test_taken_between_request_and_confirmation(self, gateway: Gateway, access_token: str) -> None:
        code = await change_code(gateway, access_token)
        owner = await gateway.signed_up(NEW_ADDRESS, "the owner's own passphrase")
        result = await gateway.confirm_email_change(access_token, code)
        assert result["__typename"] == "InvalidInput"
        assert [field["field"] for field in result["fields"]] == ["newEmail"]
        assert await email_shown(gateway, access_token) == OLD_ADDRESS
        signed_in = await gateway.login(NEW_ADDRESS, "the owner's own passphrase")
        assert signed_in["user"]["id"] == owner["user"]["id"]

    async def test_an_unverified_sign_up_at_the_address_gives_way(self, gateway: Gateway, access_token: str) -> None:
        await gateway.register(NEW_ADDRESS, "an abandoned passphrase")
        code = await change_code(gateway, access_token)
        assert (await gateway.confirm_email_change(access_token, code))["__typename"] == "User"
        assert (await gateway.login(NEW_ADDRESS))["__typename"] == "AuthPayload"
        assert (await gateway.login(NEW_ADDRESS, "an abandoned passphrase"))["__typename"] == "InvalidCredentials"


class TestRequestEmailChangeWhenMailFails:
    async def test_a_refused_code_is_retried_and_then_moves_the_account(
        self, gateway_factory: GatewayFactory, refusing_smtp_server: SmtpSink
    ) -> None:
        gateway: Gateway = await gateway_factory(outbox_retry_base_seconds=0.05, outbox_retry_max_seconds=0.1)
        refusal = refusing_smtp_server.reply
        refusing_smtp_server.reply = "250 OK"
        token = (await gateway.signed_up(OLD_ADDRESS))["accessToken"]
        refusing_smtp_server.reply = refusal

        assert (await gateway.request_email_change(token, NEW_ADDRESS))["__typename"] == "OtpSent"
        await gateway.mail_settled()
        assert refusing_smtp_server.bodies_to(NEW_ADDRESS) == []
        assert await email_shown(gateway, token) == OLD_ADDRESS

        refusing_smtp_server.reply = "250 OK"
        await gateway.mail_retried_until(NEW_ADDRESS)
        code = await gateway.last_code(NEW_ADDRESS)
        assert (await gateway.confirm_email_change(token, code))["__typename"] == "User"

    async def test_a_taken_address_answers_alike_when_mail_is_refused(
        self, gateway_factory: GatewayFactory, refusing_smtp_server: SmtpSink
    ) -> None:
        gateway: Gateway = await gateway_factory()
        refusal = refusing_smtp_server.reply
        refusing_smtp_server.reply = "250 OK"
        token = (await gateway.signed_up(OLD_ADDRESS))["accessToken"]
        await gateway.signed_up(TAKEN_ADDRESS)
        refusing_smtp_server.reply = refusal

        taken = await gateway.request_email_change(token, TAKEN_ADDRESS)
        free = await gateway.request_email_change(token, NEW_ADDRESS)
        assert taken["__typename"] == free["__typename"] == "OtpSent"
        assert taken.keys() == free.keys()
