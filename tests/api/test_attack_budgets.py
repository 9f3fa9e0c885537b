"""What an attacker can spend, and what he cannot take from the owner: over HTTP, on SQLite
and PostgreSQL, with client addresses set by a trusted proxy."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.client import PASSWORD, Gateway, GatewayFactory

OWNER = "olivia@example.com"
NEW_PASSWORD = "a new long passphrase"


def from_ip(address: str) -> dict[str, str]:
    """What a trusted reverse proxy adds for a client at ``address``."""
    return {"X-Forwarded-For": address}


ATTACKER = from_ip("203.0.113.66")
ATTACKERS_SECOND_NETWORK = from_ip("192.0.2.99")
OWNER_AT_HOME = from_ip("198.51.100.7")


def typenames(answers: list[dict[str, Any]]) -> list[str]:
    return [answer["__typename"] for answer in answers]


class TestSimultaneousCodeRequests:
    """Replacing a code is atomic: simultaneous requests for one account never answer 500
    (which strangers' addresses never did, so it also told who has an account)."""

    async def test_password_reset_requests_at_once(self, gateway: Gateway) -> None:
        await gateway.signed_up(OWNER)

        answers = await asyncio.gather(*(gateway.request_password_reset(OWNER) for _ in range(5)))

        assert typenames(list(answers)) == ["OtpSent"] * 5
        await gateway.mail_settled()
        answer = await gateway.reset_password(OWNER, await gateway.last_code(OWNER), NEW_PASSWORD)
        assert answer["__typename"] in {"AuthPayload", "InvalidOtp"}  # the last mail need not hold the last code
        if answer["__typename"] == "InvalidOtp":
            await gateway.request_password_reset(OWNER)
            answer = await gateway.reset_password(OWNER, await gateway.code_to(OWNER), NEW_PASSWORD)
        assert answer["__typename"] == "AuthPayload", answer

    async def test_email_change_requests_at_once(self, gateway: Gateway) -> None:
        token = (await gateway.signed_up(OWNER))["accessToken"]

        answers = await asyncio.gather(
            *(gateway.request_email_change(token, f"olivia.{n}@example.com") for n in range(5))
        )

        assert typenames(list(answers)) == ["OtpSent"] * 5


class TestPasswordChecksAreBudgeted:
    """Asking a signed-in person for her password costs bcrypt each time, right or wrong."""

    async def test_the_right_password_is_counted_too(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_password_checks_per_account="3/10m")
        token = (await gateway.signed_up(OWNER))["accessToken"]

        answers = [await gateway.request_email_change(token, f"olivia.{n}@example.com") for n in range(4)]

        assert typenames(answers) == ["OtpSent"] * 3 + ["RateLimited"]
        refused = await gateway.delete_account(token)
        assert refused["__typename"] == "RateLimited"
        assert (await gateway.login(OWNER))["__typename"] == "AuthPayload"  # signing in is not this budget

    async def test_one_client_cannot_spend_it_through_many_accounts(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_password_checks_per_ip="3/10m", trusted_proxies="127.0.0.1")
        tokens = [(await gateway.signed_up(f"user{n}@example.com"))["accessToken"] for n in range(4)]

        answers = []
        for token in tokens:
            body = await gateway.post(
                "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { __typename } }",
                {"i": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}},
                token=token,
                headers=ATTACKER,
            )
            answers.append(body["data"]["changePassword"])

        assert typenames(answers) == ["PasswordChanged"] * 3 + ["RateLimited"]


class TestGraceWindowRepeats:
    async def test_repeats_of_a_just_spent_token_count_against_the_accounts_refresh_limit(
        self, gateway_factory: GatewayFactory
    ) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_refresh_per_account="5/1m")
        spent = (await gateway.signed_up(OWNER))["refreshToken"]
        assert (await gateway.refresh(spent))["__typename"] == "AuthPayload"

        repeats = [await gateway.refresh(spent) for _ in range(8)]

        assert typenames(repeats) == ["AuthPayload"] * 4 + ["RateLimited"] * 4


class TestTheOwnerAlwaysHasAWayIn:
    """An attacker who knows her address can slow her password sign-in, but the codes mailed to
    her (which he never sees) still open her account, and he cannot spend her budgets."""

    @pytest.fixture
    async def gateway(self, gateway_factory: GatewayFactory) -> Gateway:
        started: Gateway = await gateway_factory(
            trusted_proxies="127.0.0.1",
            lockout_free_failures=3,
            lockout_hard_limit=3,
            rate_limit_codes_per_account="5/1h",
            rate_limit_codes_per_address="10/1h",
            rate_limit_verify_per_account="10/10m",
        )
        await started.signed_up(OWNER)
        return started

    async def test_a_locked_password_sign_in_is_opened_by_a_reset_code(self, gateway: Gateway) -> None:
        for _ in range(3):
            await gateway.login(OWNER, "guess", headers=ATTACKER)
        locked = await gateway.login(OWNER, PASSWORD, headers=OWNER_AT_HOME)
        assert (locked["__typename"], locked["code"]) == ("RateLimited", "ACCOUNT_LOCKED")

        await gateway.request_password_reset(OWNER, headers=OWNER_AT_HOME)
        reset = await gateway.reset_password(OWNER, await gateway.code_to(OWNER), NEW_PASSWORD, headers=OWNER_AT_HOME)

        assert reset["__typename"] == "AuthPayload", reset
        assert (await gateway.login(OWNER, NEW_PASSWORD, headers=OWNER_AT_HOME))["__typename"] == "AuthPayload"

    async def test_a_stranger_cannot_spend_her_budget_of_codes(self, gateway: Gateway) -> None:
        spent = [await gateway.request_password_reset(OWNER, headers=ATTACKER) for _ in range(6)]
        assert typenames(spent) == ["OtpSent"] * 5 + ["RateLimited"]

        mine = await gateway.request_password_reset(OWNER, headers=OWNER_AT_HOME)

        assert mine["__typename"] == "OtpSent"
        reset = await gateway.reset_password(OWNER, await gateway.code_to(OWNER), NEW_PASSWORD, headers=OWNER_AT_HOME)
        assert reset["__typename"] == "AuthPayload", reset

    async def test_a_stranger_cannot_spend_her_tries_at_the_code_she_was_mailed(self, gateway: Gateway) -> None:
        await gateway.request_password_reset(OWNER, headers=OWNER_AT_HOME)
        code = await gateway.code_to(OWNER)
        wrong = "000000" if code != "000000" else "111111"
        burnt = [await gateway.reset_password(OWNER, wrong, "x" * 12 + "guess", headers=ATTACKER) for _ in range(6)]
        assert typenames(burnt)[-1] == "TooManyAttempts"

        reset = await gateway.reset_password(OWNER, code, NEW_PASSWORD, headers=OWNER_AT_HOME)

        assert reset["__typename"] == "AuthPayload", reset

    async def test_a_stranger_cannot_spend_her_budget_of_tries(self, gateway: Gateway) -> None:
        spent = [await gateway.verify(OWNER, "000000", headers=ATTACKER) for _ in range(11)]
        assert typenames(spent)[-1] == "RateLimited"

        await gateway.request_password_reset(OWNER, headers=OWNER_AT_HOME)
        reset = await gateway.reset_password(OWNER, await gateway.code_to(OWNER), NEW_PASSWORD, headers=OWNER_AT_HOME)

        assert reset["__typename"] == "AuthPayload", reset

    async def test_guessing_from_many_networks_is_still_bounded_per_code(self, gateway: Gateway) -> None:
        await gateway.request_password_reset(OWNER, headers=OWNER_AT_HOME)
        code = await gateway.code_to(OWNER)
        wrong = "000000" if code != "000000" else "111111"
        for network in (ATTACKER, ATTACKERS_SECOND_NETWORK):
            for _ in range(5):
                await gateway.reset_password(OWNER, wrong, "x" * 12 + "guess", headers=network)

        # ten wrong codes from every network together void the code, even the right one
        voided = await gateway.reset_password(OWNER, code, NEW_PASSWORD, headers=OWNER_AT_HOME)
        assert voided["__typename"] == "TooManyAttempts"
        await gateway.request_password_reset(OWNER, headers=OWNER_AT_HOME)  # she asks again
        reset = await gateway.reset_password(OWNER, await gateway.code_to(OWNER), NEW_PASSWORD, headers=OWNER_AT_HOME)
        assert reset["__typename"] == "AuthPayload", reset

    async def test_clicking_sign_up_again_and_again_mails_one_code_and_blocks_nothing(
        self, gateway_factory: GatewayFactory
    ) -> None:
        gateway: Gateway = await gateway_factory(otp_resend_cooldown_seconds=60)

        answers = [await gateway.register("newcomer@example.com") for _ in range(8)]

        assert typenames(answers) == ["OtpSent"] * 8
        assert len(gateway.mailbox.bodies_to("newcomer@example.com")) == 1
        signed_in = await gateway.verify("newcomer@example.com", await gateway.code_to("newcomer@example.com"))
        assert signed_in["__typename"] == "AuthPayload"
