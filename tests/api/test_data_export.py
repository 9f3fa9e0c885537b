"""The myData export over HTTP, on SQLite and PostgreSQL: each part is there, no secret is,
and nobody else's data ever is."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from persistence.models import RefreshTokenRow, SessionRow, TotpFactorRow, UserRow
from tests.support.authenticator import SoftAuthenticator
from tests.support.clock import AdjustableClock
from tests.support.factors import SPA, App, finish_registration, registration_options

if TYPE_CHECKING:
    from tests.support.client import Gateway, GatewayFactory

ANN = "ann@example.com"
BOB = "bob@example.com"
MY_DATA = "query { myData }"


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock()


@pytest.fixture
async def gateway(gateway_factory: GatewayFactory, clock: AdjustableClock) -> Gateway:
    started: Gateway = await gateway_factory(clock=clock, webauthn_origins=[SPA])
    return started


async def my_data(gateway: Gateway, token: str) -> tuple[str, dict[str, Any]]:
    """The export as the gateway answers it (text) and parsed."""
    body = await gateway.post(MY_DATA, token=token)
    assert "errors" not in body, body
    text: str = body["data"]["myData"]
    return text, json.loads(text)


async def with_everything(gateway: Gateway, clock: AdjustableClock, email: str) -> tuple[dict[str, Any], str]:
    """A signed-up account with a passkey and an authenticator app; its sign-in and the app's secret."""
    signed_up = await gateway.signed_up(email)
    token = signed_up["accessToken"]
    added = await finish_registration(
        gateway, token, SoftAuthenticator(SPA).create(await registration_options(gateway, token)), "Laptop"
    )
    assert added["__typename"] == "PasskeyAdded", added
    enrolment = await gateway.begin_totp_enrolment(token)
    confirmed = await gateway.confirm_totp_enrolment(token, App(enrolment["secret"], clock).code())
    assert confirmed["__typename"] == "RecoveryCodes", confirmed
    return signed_up, enrolment["secret"]


async def test_holds_each_part_and_no_secret(gateway: Gateway, clock: AdjustableClock) -> None:
    signed_up, totp_secret = await with_everything(gateway, clock, ANN)
    await gateway.update_profile(signed_up["accessToken"], firstName="Ann")

    text, export = await my_data(gateway, signed_up["accessToken"])

    assert export["profile"]["email"] == ANN
    assert export["profile"]["firstName"] == "Ann"
    assert export["profile"]["hasPassword"] is True
    [session] = export["sessions"]
    assert session["current"] is True
    assert session["clientIp"] == "127.0.0.1"
    assert export["secondFactors"]["authenticatorApp"]["confirmedAt"]
    assert export["secondFactors"]["recoveryCodesLeft"] == 10
    assert [passkey["name"] for passkey in export["passkeys"]] == ["Laptop"]
    assert export["providerIdentities"] == []
    types = {event["type"] for event in export["auditEvents"]["events"]}
    assert {"registered", "verify_succeeded", "passkey_added", "second_factor_enabled"} <= types

    user = await UserRow.get(email=ANN)
    secrets = [user.password_hash, totp_secret, signed_up["accessToken"], signed_up["refreshToken"]]
    secrets += [(await TotpFactorRow.get(user_id=user.id)).sealed_secret.hex()]
    for session_row in await SessionRow.filter(user_id=user.id):
        secrets.append(session_row.family_seed)
        secrets += [token.token_hash for token in await RefreshTokenRow.filter(session_id=session_row.id)]
    for secret in secrets:
        assert secret
        assert secret not in text, "the export carries a secret"


async def test_never_holds_another_accounts_data(gateway: Gateway, clock: AdjustableClock) -> None:
    bob, _ = await with_everything(gateway, clock, BOB)
    await gateway.update_profile(bob["accessToken"], firstName="Bob")
    ann = await gateway.signed_up(ANN)

    text, export = await my_data(gateway, ann["accessToken"])

    assert export["profile"]["email"] == ANN
    assert BOB not in text
    assert "Bob" not in text
    assert bob["user"]["id"] not in text
    assert export["passkeys"] == []
    assert export["secondFactors"]["authenticatorApp"] is None
    assert len(export["sessions"]) == 1
    assert "passkey_added" not in {event["type"] for event in export["auditEvents"]["events"]}


async def test_asks_for_a_signed_in_caller(gateway: Gateway) -> None:
    body = await gateway.post(MY_DATA)
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
