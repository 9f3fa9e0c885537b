"""A recent proof of who is signed in, through the API, on SQLite and PostgreSQL.

The changes that matter (password, address, factors, deletion) take the password in their
input, or none when the session proved its owner within REAUTHENTICATION_WINDOW_SECONDS
(5 minutes): by signing in, or with ``reauthenticate`` (the password on an account without a
second factor, the second factor on one with it). ``me`` shows how and when its session did.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support.client import PASSWORD, Gateway, GatewayFactory
from tests.support.clock import AdjustableClock
from tests.support.factors import ANN, App, enrolled

NEW_PASSWORD = "another long passphrase"
ME_SESSION = "{ me { id session { id current signInMethods authenticatedAt } } }"


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock()


@pytest.fixture
async def gateway(gateway_factory: GatewayFactory, clock: AdjustableClock) -> Gateway:
    started: Gateway = await gateway_factory(clock=clock)
    return started


async def session_of(gateway: Gateway, token: str) -> dict[str, Any]:
    """The session ``me`` says the token belongs to."""
    body = await gateway.post(ME_SESSION, token=token)
    assert "errors" not in body, body
    session: dict[str, Any] = body["data"]["me"]["session"]
    return session


async def change(gateway: Gateway, token: str, what: str) -> dict[str, Any]:
    """A change that needs a recent proof, with no password in its input."""
    if what == "password":
        return await gateway.change_password(token, None, NEW_PASSWORD)
    if what == "email":
        return await gateway.request_email_change(token, "ann.new@example.com", password=None)
    return await gateway.delete_account(token, password=None)


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def near(moment: datetime, expected: datetime) -> bool:
    """Within a few seconds: the test's clock runs on while the gateway answers."""
    return abs(moment - expected) < timedelta(seconds=5)


class TestWithoutPassword:
    @pytest.mark.parametrize("what", ["password", "email", "delete"])
    async def test_a_fresh_sign_in_is_a_recent_proof(self, gateway: Gateway, what: str) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        answer = await change(gateway, token, what)
        assert answer["__typename"] in {"PasswordChanged", "OtpSent", "AccountDeleted"}, answer

    @pytest.mark.parametrize("what", ["password", "email", "delete"])
    async def test_after_the_window_the_change_needs_a_proof(
        self, gateway: Gateway, clock: AdjustableClock, what: str
    ) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        clock.advance(minutes=5, seconds=1)
        refused = await change(gateway, token, what)
        assert refused["__typename"] == "ReauthenticationRequired", refused
        assert (await gateway.login(ANN))["__typename"] == "AuthPayload"  # nothing changed

    async def test_an_empty_password_is_a_wrong_one_not_a_left_out_one(self, gateway: Gateway) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        assert (await gateway.delete_account(token, password=""))["__typename"] == "WrongPassword"
        refused = await gateway.change_password(token, "", NEW_PASSWORD)
        assert [field["field"] for field in refused["fields"]] == ["currentPassword"]


class TestReauthenticateWithThePassword:
    async def test_renews_the_proof_of_the_session(self, gateway: Gateway, clock: AdjustableClock) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        signed_in = await session_of(gateway, token)
        clock.advance(minutes=6)
        assert (await gateway.delete_account(token, password=None))["__typename"] == "ReauthenticationRequired"

        assert (await gateway.reauthenticate(token, password="not my password"))["__typename"] == "WrongPassword"
        proved = await gateway.reauthenticate(token, password=PASSWORD)
        assert proved["__typename"] == "Reauthenticated"
        assert near(at(proved["validUntil"]), clock.now() + timedelta(minutes=5))
        renewed = await session_of(gateway, token)
        assert renewed["signInMethods"] == ["pwd"]
        assert at(renewed["authenticatedAt"]) - at(signed_in["authenticatedAt"]) >= timedelta(minutes=6)

        assert (await gateway.delete_account(token, password=None))["__typename"] == "AccountDeleted"

    async def test_wrong_passwords_count_toward_the_sign_in_lockout(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(lockout_free_failures=2)
        token = (await gateway.signed_up(ANN))["accessToken"]
        for guess in ("guess one", "guess two"):
            assert (await gateway.reauthenticate(token, password=guess))["__typename"] == "WrongPassword"
        assert (await gateway.reauthenticate(token, password=PASSWORD))["__typename"] == "RateLimited"
        assert (await gateway.login(ANN))["__typename"] == "RateLimited"

    async def test_is_not_the_strongest_proof_of_an_account_with_a_second_factor(
        self, gateway: Gateway, clock: AdjustableClock
    ) -> None:
        token, _, _ = await enrolled(gateway, clock)
        for password in (PASSWORD, "not my password"):  # refused before any check
            refused = await gateway.reauthenticate(token, password=password)
            assert [field["field"] for field in refused["fields"]] == ["password"]
        clock.advance(minutes=6)
        assert (await gateway.delete_account(token, password=None))["__typename"] == "ReauthenticationRequired"

    @pytest.mark.parametrize(
        ("method", "code", "password", "field"),
        [
            (None, None, None, "method"),
            ("TOTP", None, None, "code"),
            (None, "123456", None, "method"),
            ("TOTP", "123456", PASSWORD, "password"),
        ],
    )
    async def test_takes_exactly_one_proof(
        self, gateway: Gateway, method: str | None, code: str | None, password: str | None, field: str
    ) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        refused = await gateway.reauthenticate(token, method, code, password=password)
        assert refused["__typename"] == "InvalidInput", refused
        assert [error["field"] for error in refused["fields"]] == [field]


class TestWithASecondFactor:
    async def test_after_the_factor_is_proved_again_the_password_may_be_left_out(
        self, gateway: Gateway, clock: AdjustableClock
    ) -> None:
        token, app, _ = await enrolled(gateway, clock)
        clock.advance(minutes=6)
        assert (await gateway.regenerate_recovery_codes(token, password=None))["__typename"] == (
            "ReauthenticationRequired"
        )
        assert (await gateway.reauthenticate(token, "TOTP", app.next_code()))["__typename"] == "Reauthenticated"
        assert (await gateway.regenerate_recovery_codes(token, password=None))["__typename"] == "RecoveryCodes"
        assert (await gateway.remove_totp(token, password=None))["__typename"] == "TotpRemoved"

    async def test_a_fresh_password_only_session_is_not_enough_once_the_account_has_one(
        self, gateway: Gateway, clock: AdjustableClock
    ) -> None:
        await gateway.signed_up(ANN)
        laptop = (await gateway.login(ANN))["accessToken"]  # signed in before the app was set up
        phone = (await gateway.login(ANN))["accessToken"]
        app = App((await gateway.begin_totp_enrolment(phone))["secret"], clock)
        await gateway.confirm_totp_enrolment(phone, app.code())
        assert (await gateway.delete_account(laptop, password=None))["__typename"] == "ReauthenticationRequired"
        assert (await gateway.delete_account(phone, password=None))["__typename"] == "AccountDeleted"


class TestMeShowsItsSession:
    async def test_how_and_when_the_session_signed_in(self, gateway: Gateway, clock: AdjustableClock) -> None:
        token = (await gateway.signed_up(ANN))["accessToken"]
        mine = await session_of(gateway, token)
        assert mine["current"] is True
        assert mine["signInMethods"] == ["pwd"]
        assert near(at(mine["authenticatedAt"]), clock.now())

        app = App((await gateway.begin_totp_enrolment(token))["secret"], clock)
        await gateway.confirm_totp_enrolment(token, app.code())
        ticket = (await gateway.login(ANN))["ticket"]
        clock.advance(minutes=1)
        second = await gateway.complete_sign_in(ticket, "TOTP", app.next_code())
        other = await session_of(gateway, second["accessToken"])
        assert other["signInMethods"] == ["pwd", "otp", "mfa"]
        assert near(at(other["authenticatedAt"]), clock.now())
        assert other["id"] != mine["id"]
        listed = {session["id"]: session for session in await gateway.sessions(second["accessToken"])}
        assert listed[other["id"]]["signInMethods"] == other["signInMethods"]
        assert listed[other["id"]]["authenticatedAt"] == other["authenticatedAt"]

    async def test_the_user_of_a_sign_in_answer_has_no_session_to_show(self, gateway: Gateway) -> None:
        await gateway.signed_up(ANN)
        query = """mutation($input: LoginInput!) { login(input: $input) {
          ... on AuthPayload { user { email session { id } } } } }"""
        body = await gateway.post(query, {"input": {"email": ANN, "password": PASSWORD}})
        assert body["data"]["login"]["user"] == {"email": ANN, "session": None}
