"""Every security notice, as delivered to the SMTP sink over HTTP on SQLite and PostgreSQL: it
says what happened, when (UTC, as the new-device notice writes it), from where (the address and
browser of the request that made the change) and what to do if it was not the owner."""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from typing import TYPE_CHECKING, Any

from tests.api.test_provider_linking import link, link_required, unlink
from tests.support.authenticator import SoftAuthenticator
from tests.support.client import PASSWORD
from tests.support.clock import AdjustableClock
from tests.support.factors import (
    REMOVE,
    SPA,
    enrolled,
    finish_registration,
    passkeys_of,
    registration_options,
    ticket_of,
)
from tests.support.provider_flow import (
    GATEWAY_URL,
    OTHER_RETURN_URL,
    RETURN_URL,
    provider_settings,
    provider_sign_in,
    verified,
)

if TYPE_CHECKING:
    from email.message import Message

    from tests.support.client import Gateway, GatewayFactory
    from tests.support.processes import RunningProcess

ANN = "ann@example.com"
FIREFOX_ON_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
WHEN = re.compile(r"When: \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")
WHERE = "Where: Firefox on Windows, from the address 198.51.100.7"


async def from_firefox(gateway_factory: GatewayFactory, *args: Any, **settings: Any) -> Gateway:
    """A gateway whose every request comes from Firefox on Windows at 198.51.100.7 (through the
    test's trusted proxy); new-device notices off, so each test sees only the notice it causes."""
    gateway: Gateway = await gateway_factory(*args, trusted_proxies="127.0.0.1", new_device_notices=False, **settings)
    gateway.http.headers.update({"User-Agent": FIREFOX_ON_WINDOWS, "X-Forwarded-For": "198.51.100.7"})
    return gateway


async def notice(gateway: Gateway, to: str, subject: str) -> str:
    """The text of the last mail to ``to`` whose subject has ``subject``, on one line; its HTML
    part says the same when and where."""
    await gateway.mail_settled()
    sink = gateway.mailbox
    for message, recipients in zip(reversed(sink.messages), reversed(sink.recipients), strict=True):
        if to in recipients and subject in str(make_header(decode_header(message["Subject"]))):
            text, html = (" ".join(sink_part.split()) for sink_part in parts(message))
            assert WHEN.search(html), html
            assert WHERE in html
            return text
    raise AssertionError(f"no mail to {to} about {subject!r}")


def parts(message: Message) -> list[str]:
    """The text and the HTML of ``message``, decoded."""
    decoded = []
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            decoded.append(payload.decode(part.get_content_charset() or "utf-8"))
    return decoded


def says_when_where_and_what_if_not_you(body: str, what: str, if_not_you: str) -> None:
    assert what in body, body
    assert WHEN.search(body), body
    assert WHERE in body, body
    assert if_not_you in body, body


async def test_password_changed_and_reset(gateway_factory: GatewayFactory) -> None:
    gateway = await from_firefox(gateway_factory)
    token = (await gateway.signed_up(ANN))["accessToken"]
    assert (await gateway.change_password(token, PASSWORD, "another fine passphrase 7"))[
        "__typename"
    ] != "WrongPassword"
    says_when_where_and_what_if_not_you(
        await notice(gateway, ANN, "password was changed"),
        "The password of your Auth Gateway account was just changed.",
        "If it was not you, reset your password now",
    )

    await gateway.request_password_reset(ANN)
    reset = await gateway.reset_password(ANN, await gateway.code_to(ANN), "a third fine passphrase 8")
    assert reset["__typename"] == "AuthPayload", reset
    says_when_where_and_what_if_not_you(
        await notice(gateway, ANN, "password was changed"),
        "was just reset with a code sent to this address",
        "If it was not you, someone can read your mail",
    )


async def test_an_address_change_tells_both_addresses(gateway_factory: GatewayFactory) -> None:
    gateway = await from_firefox(gateway_factory)
    token = (await gateway.signed_up(ANN))["accessToken"]
    await gateway.request_email_change(token, "ann.new@example.org")
    confirmed = await gateway.confirm_email_change(token, await gateway.code_to("ann.new@example.org"))
    assert confirmed["__typename"] == "User", confirmed
    old = await notice(gateway, ANN, "uses a new e-mail address")
    says_when_where_and_what_if_not_you(old, "ann.new@example.org", "If it was not you, contact Auth Gateway support")
    new = await notice(gateway, "ann.new@example.org", "uses a new e-mail address")
    says_when_where_and_what_if_not_you(
        new, f"now signs in with this address, instead of: {ANN}", "someone who can read this mailbox"
    )


async def test_the_authenticator_app_and_recovery_codes(gateway_factory: GatewayFactory) -> None:
    clock = AdjustableClock()
    gateway = await from_firefox(gateway_factory, clock=clock)
    token, _, codes = await enrolled(gateway, clock)
    says_when_where_and_what_if_not_you(
        await notice(gateway, ANN, "Two-step sign-in is on"),
        "An authenticator app was just set up",
        "If it was not you, someone is signed in to your account",
    )
    signed_in = await gateway.complete_sign_in(await ticket_of(gateway), "RECOVERY_CODE", codes[0])
    assert signed_in["__typename"] == "AuthPayload", signed_in
    says_when_where_and_what_if_not_you(
        await notice(gateway, ANN, "recovery code was used"),
        "with one of your recovery codes",
        "If it was not you, someone has your password and a recovery code",
    )
    token = signed_in["accessToken"]
    assert (await gateway.regenerate_recovery_codes(token))["__typename"] == "RecoveryCodes"
    says_when_where_and_what_if_not_you(
        await notice(gateway, ANN, "New recovery codes"),
        "New recovery codes were just made",
        "If it was not you, someone knows your password",
    )
    assert (await gateway.remove_totp(token))["__typename"] != "WrongPassword"
    says_when_where_and_what_if_not_you(
        await notice(gateway, ANN, "Two-step sign-in is off"),
        "The authenticator app of your Auth Gateway account was just removed",
        "If it was not you, someone knows your password",
    )


async def test_passkeys(gateway_factory: GatewayFactory) -> None:
    gateway = await from_firefox(gateway_factory, webauthn_origins=[SPA])
    token = (await gateway.signed_up(ANN))["accessToken"]
    created = SoftAuthenticator(SPA).create(await registration_options(gateway, token))
    assert (await finish_registration(gateway, token, created))["__typename"] == "PasskeyAdded"
    says_when_where_and_what_if_not_you(
        await notice(gateway, ANN, "passkey was added"),
        "A passkey was just added",
        "If it was not you, someone is signed in to your account",
    )
    [passkey] = await passkeys_of(gateway, token)
    variables = {"input": {"id": passkey["id"], "password": PASSWORD}}
    assert (await gateway.signed_in("removePasskey", REMOVE, variables, token))["__typename"] == "PasskeyRemoved"
    says_when_where_and_what_if_not_you(
        await notice(gateway, ANN, "passkey was removed"),
        "A passkey was just removed",
        "If it was not you, someone knows your password",
    )


async def test_a_provider_linked_and_unlinked(gateway_factory: GatewayFactory, provider: RunningProcess) -> None:
    gateway = await from_firefox(
        gateway_factory,
        base_url=GATEWAY_URL,
        public_url=GATEWAY_URL,
        oidc_providers={"mock": provider_settings(provider.url)},
        oidc_return_urls=[RETURN_URL, OTHER_RETURN_URL],
        oidc_timeout_seconds=10.0,
    )
    await gateway.signed_up("owner@example.com")
    link_token = await link_required(gateway, provider.url, "notice-sub")
    token = (await gateway.login("owner@example.com"))["accessToken"]
    assert (await link(gateway, token, link_token))["__typename"] == "ProviderLinked"
    says_when_where_and_what_if_not_you(
        await notice(gateway, "owner@example.com", "now signs you in"),
        "was just linked to your Auth Gateway account",
        "If it was not you, someone may be able to sign in to your account",
    )
    assert (await unlink(gateway, token))["__typename"] == "ProviderUnlinked"
    says_when_where_and_what_if_not_you(
        await notice(gateway, "owner@example.com", "no longer signs you in"),
        "was just unlinked from your Auth Gateway account",
        "If it was not you, someone is signed in to your account",
    )


async def test_an_account_a_providers_first_sign_in_made(
    gateway_factory: GatewayFactory, provider: RunningProcess
) -> None:
    gateway = await from_firefox(
        gateway_factory,
        base_url=GATEWAY_URL,
        public_url=GATEWAY_URL,
        oidc_providers={"mock": provider_settings(provider.url)},
        oidc_return_urls=[RETURN_URL, OTHER_RETURN_URL],
        oidc_timeout_seconds=10.0,
    )
    signed_in = await provider_sign_in(gateway, provider.url, "first-notice-sub", verified("first@example.com"))
    assert signed_in["__typename"] == "AuthPayload", signed_in
    says_when_where_and_what_if_not_you(
        await notice(gateway, "first@example.com", "account was made with mock"),
        "just made a Auth Gateway account with this address",
        "If it was not you, someone used your address with mock",
    )
