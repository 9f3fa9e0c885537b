"""An address belongs to whoever reads its mail: nobody else's password, spelling or
stale sign-up may stand in for her. Over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from tests.support.client import ME, PASSWORD, Gateway, GatewayFactory
from tests.support.clock import AdjustableClock

OWNER = "olivia@example.com"
ATTACKER_PASSWORD = "mallory's planted passphrase"
FROM_ATTACKER = {"X-Forwarded-For": "203.0.113.66"}
FROM_OWNER = {"X-Forwarded-For": "198.51.100.7"}


def codes_in(gateway: Gateway, address: str) -> list[str]:
    """Every code mailed to ``address``, oldest first."""
    codes = []
    for body in gateway.mailbox.bodies_to(address):
        match = re.search(r"\b(\d{6})\b", body)
        if match:
            codes.append(match.group(1))
    return codes


def recipients(gateway: Gateway) -> list[str]:
    return [address for message in gateway.mailbox.recipients for address in message]


class TestPendingSignUpTakeover:
    """Pre-hijacking: an attacker signs up with the owner's address, before or while she does."""

    @pytest.fixture
    async def gateway(self, gateway_factory: GatewayFactory) -> Gateway:
        started: Gateway = await gateway_factory(trusted_proxies="127.0.0.1")
        return started

    @pytest.mark.parametrize("which", ["her own code", "the code the attacker caused"])
    async def test_whatever_code_the_owner_types_the_attackers_password_never_opens_her_account(
        self, gateway: Gateway, which: str
    ) -> None:
        await gateway.register(OWNER, PASSWORD, headers=FROM_OWNER)
        await gateway.register(OWNER, ATTACKER_PASSWORD, headers=FROM_ATTACKER)
        own, caused = codes_in(gateway, OWNER)
        typed = own if which == "her own code" else caused

        answer = await gateway.verify(OWNER, typed, headers=FROM_OWNER, password=PASSWORD)
        if answer["__typename"] != "AuthPayload":  # her own code was voided by the newer one: she types that
            assert answer["__typename"] == "InvalidOtp", answer
            answer = await gateway.verify(OWNER, caused, headers=FROM_OWNER, password=PASSWORD)

        assert answer["__typename"] == "AuthPayload", answer
        attacker = await gateway.login(OWNER, ATTACKER_PASSWORD, headers=FROM_ATTACKER)
        assert attacker["__typename"] == "InvalidCredentials", attacker
        assert (await gateway.login(OWNER, PASSWORD, headers=FROM_OWNER))["__typename"] == "AuthPayload"

    async def test_an_attacker_who_registers_first_gets_nothing_from_her_confirmation(self, gateway: Gateway) -> None:
        await gateway.register(OWNER, ATTACKER_PASSWORD, headers=FROM_ATTACKER)
        await gateway.register(OWNER, PASSWORD, headers=FROM_OWNER)

        for code in reversed(codes_in(gateway, OWNER)):  # every code in her mailbox, newest first
            answer = await gateway.verify(OWNER, code, headers=FROM_OWNER, password=PASSWORD)
            if answer["__typename"] == "AuthPayload":
                break
        assert answer["__typename"] == "AuthPayload", answer
        assert (await gateway.login(OWNER, ATTACKER_PASSWORD))["__typename"] == "InvalidCredentials"

    async def test_within_the_cooldown_the_attackers_sign_up_mails_her_a_code_she_can_finish_with(
        self, gateway_factory: GatewayFactory
    ) -> None:
        gateway: Gateway = await gateway_factory(trusted_proxies="127.0.0.1", otp_resend_cooldown_seconds=60)
        await gateway.register(OWNER, ATTACKER_PASSWORD, headers=FROM_ATTACKER)
        again = await gateway.register(OWNER, PASSWORD, headers=FROM_OWNER)  # mails nothing new

        assert again["__typename"] == "OtpSent"
        (code,) = codes_in(gateway, OWNER)
        answer = await gateway.verify(OWNER, code, headers=FROM_OWNER, password=PASSWORD)
        assert answer["__typename"] == "AuthPayload", answer
        assert (await gateway.login(OWNER, ATTACKER_PASSWORD))["__typename"] == "InvalidCredentials"

    async def test_someone_who_lost_the_first_mail_signs_up_again(self, gateway: Gateway) -> None:
        await gateway.register(OWNER, PASSWORD)
        gateway.mailbox.messages.clear()
        gateway.mailbox.recipients.clear()

        await gateway.register(OWNER, PASSWORD)
        answer = await gateway.verify(OWNER, await gateway.code_to(OWNER))

        assert answer["__typename"] == "AuthPayload", answer

    async def test_the_password_sent_with_the_code_must_be_one_a_person_may_choose(self, gateway: Gateway) -> None:
        await gateway.register(OWNER, PASSWORD)

        answer = await gateway.verify(OWNER, await gateway.code_to(OWNER), password="short")

        assert answer["__typename"] == "InvalidInput"
        assert [field["field"] for field in answer["fields"]] == ["password"]


class TestLookAlikeAddresses:
    @pytest.mark.parametrize(
        ("squatted", "real"),
        [("straße@example.com", "strasse@example.com"), ("ﬁona@example.com", "fiona@example.com")],
    )
    async def test_a_look_alike_spelling_is_another_mailbox(self, gateway: Gateway, squatted: str, real: str) -> None:
        await gateway.register(squatted, ATTACKER_PASSWORD)

        answer = await gateway.register(real, PASSWORD)
        assert answer["__typename"] == "OtpSent"
        await gateway.resend_otp(real)
        await gateway.mail_settled()

        assert recipients(gateway).count(squatted) == 1  # its own sign-up code, nothing of hers
        assert recipients(gateway).count(real) == 2
        assert (await gateway.verify(real, await gateway.last_code(real)))["__typename"] == "AuthPayload"
        assert (await gateway.login(real, ATTACKER_PASSWORD))["__typename"] == "InvalidCredentials"

    async def test_codes_go_to_the_address_as_it_was_typed(self, gateway: Gateway) -> None:
        await gateway.register("Ann.Lee@example.com", PASSWORD)
        await gateway.resend_otp("ANN.LEE@Example.com")
        await gateway.mail_settled()

        assert recipients(gateway) == ["Ann.Lee@example.com", "ANN.LEE@example.com"]

    async def test_an_unconfirmed_sign_up_expires_and_never_blocks_the_address(
        self, gateway_factory: GatewayFactory
    ) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock, unverified_account_ttl_seconds=3600)
        await gateway.register(OWNER, ATTACKER_PASSWORD, firstName="Squatter")
        clock.advance(hours=1, seconds=1)
        mails_before = len(gateway.mailbox.messages)

        # it is no account at all: no code for it, no "verify your address" for its password
        assert (await gateway.login(OWNER, ATTACKER_PASSWORD))["__typename"] == "InvalidCredentials"
        await gateway.resend_otp(OWNER)
        await gateway.request_password_reset(OWNER)
        await gateway.mail_settled()
        assert len(gateway.mailbox.messages) == mails_before

        await gateway.register(OWNER, PASSWORD)
        signed_in = await gateway.verify(OWNER, await gateway.code_to(OWNER))
        assert signed_in["__typename"] == "AuthPayload", signed_in
        me = await gateway.post(ME, token=signed_in["accessToken"])
        assert me["data"]["me"]["firstName"] is None  # nothing of the stale sign-up survives
