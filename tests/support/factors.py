"""Second factors as a person's devices have them, for tests through the API: an authenticator
app (codes computed with pyotp at the gateway's clock) and passkeys in a software authenticator."""

from __future__ import annotations

import base64
import json
from typing import Any

import pyotp

from tests.support.authenticator import SoftAuthenticator
from tests.support.client import ERROR, PASSWORD, Gateway
from tests.support.clock import AdjustableClock

ANN = "ann@example.com"
SPA = "http://localhost:5173"  # the page that uses passkeys: a WEBAUTHN_ORIGINS entry

BEGIN_REGISTRATION = f"""mutation($input: BeginPasskeyRegistrationInput!) {{
  beginPasskeyRegistration(input: $input) {{ __typename {ERROR} ... on PasskeyOptions {{ optionsJson }} }} }}"""
FINISH_REGISTRATION = f"""mutation($input: FinishPasskeyRegistrationInput!) {{
  finishPasskeyRegistration(input: $input) {{ __typename {ERROR}
    ... on PasskeyAdded {{ recoveryCodes passkey {{ id name createdAt lastUsedAt synced backedUp }} }} }} }}"""
PASSKEYS = "query { passkeys { id name lastUsedAt synced } }"
REMOVE = f"""mutation($input: RemovePasskeyInput!) {{
  removePasskey(input: $input) {{ __typename {ERROR} ... on PasskeyRemoved {{ id }} }} }}"""
BEGIN_SIGN_IN = f"mutation {{ beginPasskeySignIn {{ __typename {ERROR} ... on PasskeyOptions {{ optionsJson }} }} }}"
FINISH_SIGN_IN = f"""mutation($input: FinishPasskeySignInInput!) {{
  finishPasskeySignIn(input: $input) {{ __typename {ERROR}
    ... on AuthPayload {{ accessToken user {{ email }} }} }} }}"""


def claims(access_token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified: only to read what it says."""
    payload = access_token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


class App:
    """The authenticator app of one account: the secret the enrolment showed."""

    def __init__(self, secret: str, clock: AdjustableClock) -> None:
        self.totp = pyotp.TOTP(secret)
        self.clock = clock

    def code(self) -> str:
        return self.totp.at(self.clock.now())

    def next_code(self) -> str:
        """The code of the next 30-second step (a code is accepted once: a new sign-in needs a new one)."""
        self.clock.advance(seconds=30)
        return self.code()


async def enrolled(gateway: Gateway, clock: AdjustableClock, email: str = ANN) -> tuple[str, App, list[str]]:
    """A verified account with its authenticator app on: its access token, the app, its recovery codes."""
    token = (await gateway.signed_up(email))["accessToken"]
    enrolment = await gateway.begin_totp_enrolment(token)
    app = App(enrolment["secret"], clock)
    confirmed = await gateway.confirm_totp_enrolment(token, app.code())
    assert confirmed["__typename"] == "RecoveryCodes", confirmed
    return token, app, confirmed["codes"]


async def ticket_of(gateway: Gateway, email: str = ANN, password: str = PASSWORD) -> str:
    answer = await gateway.login(email, password)
    assert answer["__typename"] == "MfaRequired", answer
    ticket: str = answer["ticket"]
    return ticket


async def registration_options(gateway: Gateway, token: str) -> str:
    begun = await gateway.signed_in(
        "beginPasskeyRegistration", BEGIN_REGISTRATION, {"input": {"password": PASSWORD}}, token
    )
    assert begun["__typename"] == "PasskeyOptions", begun
    options: str = begun["optionsJson"]
    return options


async def finish_registration(gateway: Gateway, token: str, credential: str, name: str = "Laptop") -> dict[str, Any]:
    variables = {"input": {"credential": credential, "name": name}}
    return await gateway.signed_in("finishPasskeyRegistration", FINISH_REGISTRATION, variables, token)


async def with_passkey(gateway: Gateway, authenticator: SoftAuthenticator, email: str = ANN) -> str:
    """A signed-up account with a passkey in ``authenticator``; its access token."""
    token: str = (await gateway.signed_up(email))["accessToken"]
    added = await finish_registration(gateway, token, authenticator.create(await registration_options(gateway, token)))
    assert added["__typename"] == "PasskeyAdded", added
    return token


async def passkeys_of(gateway: Gateway, token: str) -> list[dict[str, Any]]:
    body = await gateway.post(PASSKEYS, token=token)
    assert "errors" not in body, body
    listed: list[dict[str, Any]] = body["data"]["passkeys"]
    return listed


async def sign_in_options(gateway: Gateway) -> str:
    begun = await gateway.mutate("beginPasskeySignIn", BEGIN_SIGN_IN, {})
    assert begun["__typename"] == "PasskeyOptions", begun
    options: str = begun["optionsJson"]
    return options


async def finish_sign_in(gateway: Gateway, credential: str) -> dict[str, Any]:
    return await gateway.mutate("finishPasskeySignIn", FINISH_SIGN_IN, {"input": {"credential": credential}})
