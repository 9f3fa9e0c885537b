"""requestSignInCode and signInWithCode (passwordless sign-in), over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.test_refresh_cookie import SECURE_COOKIE, XHR, set_cookies
from tests.support.client import PASSWORD, Gateway, GatewayFactory
from tests.support.clock import AdjustableClock
from tests.support.factors import claims, enrolled

ADDRESS = "olivia@example.com"
STRANGER = "nobody@example.com"
ATTACKER = {"X-Forwarded-For": "203.0.113.66"}
OWNER_AT_HOME = {"X-Forwarded-For": "198.51.100.7"}


def wrong_codes(code: str, count: int) -> list[str]:
    """``count`` six-digit codes, none of them ``code``."""
    return [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, count + 1)]


def without_expiry(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "expiresAt"}


async def sign_in_code(gateway: Gateway, email: str = ADDRESS, headers: dict[str, str] | None = None) -> str:
    """Ask for a sign-in code for ``email`` and read it from its mailbox."""
    assert (await gateway.request_sign_in_code(email, headers=headers))["__typename"] == "OtpSent"
    return await gateway.code_to(email)


class TestRequestSignInCode:
    async def test_a_verified_account_gets_a_code_and_it_signs_in_without_the_password(self, gateway: Gateway) -> None:
        await gateway.signed_up(ADDRESS)
        sent = await gateway.request_sign_in_code(ADDRESS)
        assert sent["__typename"] == "OtpSent"
        assert sent["email"] == ADDRESS
        code = await gateway.code_to(ADDRESS)
        assert re.fullmatch(r"\d{6}", code)
        assert code in gateway.mailbox.html_bodies_to(ADDRESS)[-1]
        assert "sign-in code" in str(gateway.mailbox.messages[-1]["Subject"]).lower()

        signed_in = await gateway.sign_in_with_code(ADDRESS, code)
        assert signed_in["__typename"] == "AuthPayload"
        assert signed_in["user"]["email"] == ADDRESS
        assert claims(signed_in["accessToken"])["amr"] == ["otp"]
        assert (await gateway.me(signed_in["accessToken"]))["data"]["me"]["email"] == ADDRESS
        assert (await gateway.refresh(signed_in["refreshToken"]))["__typename"] == "AuthPayload"
        [current] = [s for s in await gateway.sessions(signed_in["accessToken"]) if s["current"]]
        assert current["signInMethods"] == ["otp"]
        # the password still works: a code sign-in changes nothing else
        assert (await gateway.login(ADDRESS, PASSWORD))["__typename"] == "AuthPayload"

    async def test_unknown_unverified_and_verified_addresses_get_the_same_answer(self, gateway: Gateway) -> None:
        await gateway.signed_up(ADDRESS)
        await gateway.register("pending@example.com")  # its code never comes back
        mails_before = {a: len(gateway.mailbox.bodies_to(a)) for a in (ADDRESS, "pending@example.com", STRANGER)}
        answers = [
            without_expiry(await gateway.request_sign_in_code(address))
            for address in (ADDRESS, "pending@example.com", STRANGER)
        ]
        await gateway.mail_settled()

        assert [{**answer, "email": None} for answer in answers] == [{"__typename": "OtpSent", "email": None}] * 3
        assert [answer["email"] for answer in answers] == [ADDRESS, "pending@example.com", STRANGER]
        mails_after = {a: len(gateway.mailbox.bodies_to(a)) for a in mails_before}
        assert mails_after[ADDRESS] == mails_before[ADDRESS] + 1
        assert mails_after["pending@example.com"] == mails_before["pending@example.com"]  # nothing that signs it in
        assert mails_after[STRANGER] == 0

    async def test_an_unverified_sign_up_cannot_be_signed_in_with_any_code(self, gateway: Gateway) -> None:
        await gateway.register("pending@example.com")
        verification_code = await gateway.code_to("pending@example.com")
        await gateway.request_sign_in_code("pending@example.com")
        answer = await gateway.sign_in_with_code("pending@example.com", verification_code)
        assert answer["__typename"] == "InvalidOtp"

    async def test_not_an_address_is_invalid_input(self, gateway: Gateway) -> None:
        answer = await gateway.request_sign_in_code("not an address")
        assert answer["__typename"] == "InvalidInput"
        assert [f["field"] for f in answer["fields"]] == ["email"]


class TestSignInWithCode:
    @pytest.fixture
    async def gateway(self, gateway_factory: GatewayFactory) -> Gateway:
        started: Gateway = await gateway_factory()
        await started.signed_up(ADDRESS)
        return started

    async def test_a_code_works_once(self, gateway: Gateway) -> None:
        code = await sign_in_code(gateway)
        assert (await gateway.sign_in_with_code(ADDRESS, code))["__typename"] == "AuthPayload"
        assert (await gateway.sign_in_with_code(ADDRESS, code))["__typename"] == "InvalidOtp"

    async def test_a_wrong_code_is_counted_and_five_spend_it_even_for_the_right_one(self, gateway: Gateway) -> None:
        code = await sign_in_code(gateway)
        wrong = wrong_codes(code, 5)
        assert (await gateway.sign_in_with_code(ADDRESS, wrong[0]))["__typename"] == "InvalidOtp"
        answers = [(await gateway.sign_in_with_code(ADDRESS, guess))["__typename"] for guess in wrong[1:]]
        assert answers == ["InvalidOtp"] * 3 + ["TooManyAttempts"]
        assert (await gateway.sign_in_with_code(ADDRESS, code))["__typename"] == "TooManyAttempts"
        # a fresh code has fresh tries
        fresh = await sign_in_code(gateway)
        assert (await gateway.sign_in_with_code(ADDRESS, fresh))["__typename"] == "AuthPayload"

    async def test_a_reset_code_or_a_verification_code_does_not_sign_in(self, gateway: Gateway) -> None:
        await gateway.request_password_reset(ADDRESS)
        reset = await gateway.code_to(ADDRESS)
        assert (await gateway.sign_in_with_code(ADDRESS, reset))["__typename"] == "InvalidOtp"

    async def test_unknown_address_is_invalid_otp(self, gateway: Gateway) -> None:
        await gateway.request_sign_in_code(STRANGER)
        assert (await gateway.sign_in_with_code(STRANGER, "123456"))["__typename"] == "InvalidOtp"

    async def test_a_malformed_code_is_invalid_input(self, gateway: Gateway) -> None:
        answer = await gateway.sign_in_with_code(ADDRESS, "12ab")
        assert answer["__typename"] == "InvalidInput"
        assert [f["field"] for f in answer["fields"]] == ["code"]


async def test_an_expired_code_is_refused(gateway_factory: GatewayFactory) -> None:
    clock = AdjustableClock()
    gateway: Gateway = await gateway_factory(clock=clock)
    await gateway.signed_up(ADDRESS)
    code = await sign_in_code(gateway)
    clock.advance(minutes=10, seconds=1)
    assert (await gateway.sign_in_with_code(ADDRESS, code))["__typename"] == "OtpExpired"


async def test_the_refresh_token_comes_in_the_cookie_in_cookie_mode(gateway_factory: GatewayFactory) -> None:
    gateway: Gateway = await gateway_factory(
        refresh_token_transport="cookie", base_url="https://gateway.test", headers=XHR
    )
    await gateway.signed_up(ADDRESS)
    gateway.http.cookies.clear()
    signed_in = await gateway.sign_in_with_code(ADDRESS, await sign_in_code(gateway))
    assert signed_in["__typename"] == "AuthPayload"
    assert signed_in["refreshToken"] is None
    [cookie] = set_cookies(gateway.last_response)
    assert cookie.name == SECURE_COOKIE
    assert len(cookie.value) == 43


class TestBudgets:
    async def test_requests_per_client_are_limited(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_code_requests_per_ip="3/1h", trusted_proxies="127.0.0.1")
        answers = [
            (await gateway.request_sign_in_code(f"someone-{n}@example.com", headers=ATTACKER))["__typename"]
            for n in range(4)
        ]
        assert answers == ["OtpSent"] * 3 + ["RateLimited"]
        assert (await gateway.request_sign_in_code(ADDRESS, headers=OWNER_AT_HOME))["__typename"] == "OtpSent"

    async def test_mails_to_one_address_are_limited(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_codes_per_account="2/1h", trusted_proxies="127.0.0.1")
        await gateway.signed_up(ADDRESS)
        answers = [(await gateway.request_sign_in_code(ADDRESS, headers=ATTACKER))["__typename"] for _ in range(3)]
        assert answers == ["OtpSent"] * 2 + ["RateLimited"]
        # his budget, not hers
        assert (
            await gateway.sign_in_with_code(
                ADDRESS, await sign_in_code(gateway, headers=OWNER_AT_HOME), headers=OWNER_AT_HOME
            )
        )["__typename"] == "AuthPayload"

    async def test_tries_per_client_are_limited(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_verify_per_ip="3/10m", trusted_proxies="127.0.0.1")
        answers = [
            (await gateway.sign_in_with_code(f"someone-{n}@example.com", "123456", headers=ATTACKER))["__typename"]
            for n in range(4)
        ]
        assert answers == ["InvalidOtp"] * 3 + ["RateLimited"]

    async def test_tries_per_address_are_limited(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_verify_per_account="3/10m", trusted_proxies="127.0.0.1")
        await gateway.signed_up(ADDRESS)
        code = await sign_in_code(gateway, headers=OWNER_AT_HOME)
        answers = [
            (await gateway.sign_in_with_code(ADDRESS, wrong, headers=ATTACKER))["__typename"]
            for wrong in wrong_codes(code, 4)
        ]
        assert answers == ["InvalidOtp"] * 3 + ["RateLimited"]
        assert (await gateway.sign_in_with_code(ADDRESS, code, headers=OWNER_AT_HOME))["__typename"] == "AuthPayload"


class TestDuringThePasswordLockout:
    async def test_a_hammered_password_does_not_keep_the_owner_out(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(
            trusted_proxies="127.0.0.1", lockout_free_failures=3, lockout_hard_limit=3
        )
        await gateway.signed_up(ADDRESS)
        for _ in range(5):
            await gateway.login(ADDRESS, "a wrong guess", headers=ATTACKER)
        locked = await gateway.login(ADDRESS, PASSWORD, headers=OWNER_AT_HOME)
        assert locked["__typename"] == "RateLimited"

        code = await sign_in_code(gateway, headers=OWNER_AT_HOME)
        signed_in = await gateway.sign_in_with_code(ADDRESS, code, headers=OWNER_AT_HOME)
        assert signed_in["__typename"] == "AuthPayload"
        # the owner's proof ends the streak, as a reset does
        assert (await gateway.login(ADDRESS, PASSWORD, headers=OWNER_AT_HOME))["__typename"] == "AuthPayload"


class TestSecondFactor:
    async def test_an_account_with_an_authenticator_app_still_needs_it(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock)
        _, app, _ = await enrolled(gateway, clock, ADDRESS)
        answer = await gateway.sign_in_with_code(ADDRESS, await sign_in_code(gateway))
        assert answer["__typename"] == "MfaRequired"
        assert "accessToken" not in answer
        completed = await gateway.complete_sign_in(answer["ticket"], "TOTP", app.next_code())
        assert completed["__typename"] == "AuthPayload"
        [current] = [s for s in await gateway.sessions(completed["accessToken"]) if s["current"]]
        assert current["signInMethods"] == ["otp", "mfa"]  # the mailed code, then the app's: no password


class TestCreatingAccounts:
    async def test_off_an_unknown_address_gets_no_mail_and_no_account(self, gateway: Gateway) -> None:
        assert (await gateway.request_sign_in_code(STRANGER))["__typename"] == "OtpSent"
        await gateway.mail_settled()
        assert gateway.mailbox.bodies_to(STRANGER) == []
        assert (await gateway.sign_in_with_code(STRANGER, "123456"))["__typename"] == "InvalidOtp"

    async def test_on_an_unknown_address_gets_an_account_confirmed_by_the_code(
        self, gateway_factory: GatewayFactory
    ) -> None:
        gateway: Gateway = await gateway_factory(sign_in_code_creates_accounts=True)
        assert (await gateway.request_sign_in_code(STRANGER))["__typename"] == "OtpSent"
        code = await gateway.code_to(STRANGER)
        signed_in = await gateway.sign_in_with_code(STRANGER, code)
        assert signed_in["__typename"] == "AuthPayload"
        assert signed_in["user"]["emailVerified"] is True
        # no password was ever chosen: none signs in
        assert (await gateway.login(STRANGER, PASSWORD))["__typename"] == "InvalidCredentials"

    async def test_on_a_password_planted_in_a_pending_sign_up_does_not_survive_the_code(
        self, gateway_factory: GatewayFactory
    ) -> None:
        gateway: Gateway = await gateway_factory(sign_in_code_creates_accounts=True)
        await gateway.register(ADDRESS)  # someone else's password, never confirmed
        signed_in = await gateway.sign_in_with_code(ADDRESS, await sign_in_code(gateway))
        assert signed_in["__typename"] == "AuthPayload"
        assert (await gateway.login(ADDRESS, PASSWORD))["__typename"] == "InvalidCredentials"


SIGN_IN_LINK_URL = "https://spa.test/sign-in"
SIGN_IN_WITH_LINK = """mutation Link($input: SignInWithLinkInput!) {
  signInWithLink(input: $input) { __typename ... on AuthPayload { accessToken user { id email } }
    ... on MfaRequired { ticket } ... on Error { message code } } }"""


async def sign_in_with_link(gateway: Gateway, token: str) -> dict[str, Any]:
    return await gateway.mutate("signInWithLink", SIGN_IN_WITH_LINK, {"input": {"token": token}})


def link_token(gateway: Gateway, email: str = ADDRESS) -> str:
    """The token of the sign-in link in the last mail to ``email`` (text and HTML agree)."""
    text, html = gateway.mailbox.bodies_to(email)[-1], gateway.mailbox.html_bodies_to(email)[-1]
    [token] = re.findall(re.escape(SIGN_IN_LINK_URL) + r"#token=([A-Za-z0-9_-]+)\r?\n", text)
    assert f'href="{SIGN_IN_LINK_URL}#token={token}"' in html
    return str(token)


class TestSignInLink:
    async def test_the_mail_carries_a_link_that_signs_in_once_and_spends_the_code(
        self, gateway_factory: GatewayFactory
    ) -> None:
        from persistence.models import AuditEventRow, OtpChallengeRow

        gateway: Gateway = await gateway_factory(sign_in_link_url=SIGN_IN_LINK_URL)
        await gateway.signed_up(ADDRESS)
        code = await sign_in_code(gateway)
        token = link_token(gateway)
        assert len(token) >= 43
        assert not await OtpChallengeRow.filter(link_hash=token).exists()  # kept as its hash only

        signed_in = await sign_in_with_link(gateway, token)
        assert signed_in["__typename"] == "AuthPayload", signed_in
        assert signed_in["user"]["email"] == ADDRESS
        assert claims(signed_in["accessToken"])["amr"] == ["otp"]
        assert (await sign_in_with_link(gateway, token))["__typename"] == "InvalidOtp"
        assert (await gateway.sign_in_with_code(ADDRESS, code))["__typename"] == "InvalidOtp"
        details = [event.detail for event in await AuditEventRow.filter(event="login_succeeded")]
        assert "email_link" in details

    async def test_the_code_spends_the_link_and_a_new_code_voids_the_old_link(
        self, gateway_factory: GatewayFactory
    ) -> None:
        gateway: Gateway = await gateway_factory(sign_in_link_url=SIGN_IN_LINK_URL)
        await gateway.signed_up(ADDRESS)
        code = await sign_in_code(gateway)
        first = link_token(gateway)
        assert (await gateway.sign_in_with_code(ADDRESS, code))["__typename"] == "AuthPayload"
        assert (await sign_in_with_link(gateway, first))["__typename"] == "InvalidOtp"

        await sign_in_code(gateway)
        older = link_token(gateway)
        await sign_in_code(gateway)
        newer = link_token(gateway)
        assert (await sign_in_with_link(gateway, older))["__typename"] == "InvalidOtp"
        assert (await sign_in_with_link(gateway, newer))["__typename"] == "AuthPayload"

    async def test_a_link_expires_with_its_code(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock, sign_in_link_url=SIGN_IN_LINK_URL)
        await gateway.signed_up(ADDRESS)
        await sign_in_code(gateway)
        token = link_token(gateway)
        clock.advance(minutes=10, seconds=1)
        assert (await sign_in_with_link(gateway, token))["__typename"] == "OtpExpired"

    async def test_an_account_with_a_second_factor_still_needs_it(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock, sign_in_link_url=SIGN_IN_LINK_URL)
        await enrolled(gateway, clock, ADDRESS)
        await sign_in_code(gateway)
        assert (await sign_in_with_link(gateway, link_token(gateway)))["__typename"] == "MfaRequired"

    async def test_without_the_setting_the_mail_has_no_link_and_no_token_signs_in(self, gateway: Gateway) -> None:
        await gateway.signed_up(ADDRESS)
        await sign_in_code(gateway)
        assert "#token=" not in gateway.mailbox.bodies_to(ADDRESS)[-1]
        for token in ("", "made-up", "x" * 10_000):
            assert (await sign_in_with_link(gateway, token))["__typename"] == "InvalidOtp"

    def test_the_link_must_be_https_in_production(self) -> None:
        from pydantic import ValidationError

        from settings import Settings

        with pytest.raises(ValidationError, match="SIGN_IN_LINK_URL must use https"):
            Settings(_env_file=None, app_env="production", sign_in_link_url="http://localhost:5173/sign-in")
        for refused in ("http://spa.example.com/sign-in", "https://spa.example.com/sign-in#x", "spa.example.com"):
            with pytest.raises(ValidationError, match="sign_in_link_url"):
                Settings(_env_file=None, sign_in_link_url=refused)
        assert Settings(_env_file=None, sign_in_link_url="http://localhost:5173/sign-in").sign_in_link_url
