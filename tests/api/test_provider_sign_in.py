"""Sign-in with an OpenID Connect provider found by discovery: a real provider process
(oidc-provider-mock), its authorization page driven as a browser would, the gateway's
callback and the SPA's two mutations, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
import pytest

from tests.support.client import PASSWORD, Gateway
from tests.support.clock import AdjustableClock
from tests.support.oidc_provider import authorize, mock_provider, query_of, set_user, silent_socket
from tests.support.processes import RunningProcess, free_port
from tests.support.provider_flow import (
    CLIENT_SECRET,
    GATEWAY_URL,
    ID_TOKEN_LIES,
    OTHER_RETURN_URL,
    RETURN_URL,
    begin,
    callback,
    finish,
    provider_settings,
    signed_in_at_provider,
    verified,
)


async def test_a_first_sign_in_makes_a_passwordless_account_and_the_next_finds_it_by_subject(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    from persistence.models import AuditEventRow, ProviderIdentityRow, UserRow

    gateway: Gateway = await start()
    started = await begin(gateway)
    url = urlsplit(started["authorizationUrl"])
    params = query_of(started["authorizationUrl"])
    assert f"{url.scheme}://{url.netloc}" == provider.url
    assert params["response_type"] == "code"
    assert params["code_challenge_method"] == "S256"
    assert params["state"]
    assert params["nonce"]
    assert len(params["code_challenge"]) == 43
    assert params["redirect_uri"] == f"{GATEWAY_URL}/oauth/callback/mock"
    assert "openid" in params["scope"].split()
    cookie = gateway.last_response.headers["set-cookie"] if gateway.last_response else ""
    assert all(part in cookie.lower() for part in ("httponly", "samesite=lax", "path=/oauth/callback", "secure"))

    await set_user(provider.url, "alice-sub", verified("alice@example.com"))
    back = await callback(gateway, await authorize(started["authorizationUrl"], "alice-sub"))
    signed_in = await finish(gateway, back["code"])
    assert signed_in["__typename"] == "AuthPayload", signed_in
    assert signed_in["user"]["email"] == "alice@example.com"
    assert signed_in["user"]["emailVerified"]
    row = await UserRow.get(email_key="alice@example.com")
    assert row.password_hash == ""  # no password

    # The provider now asserts another address: the identity is the subject, not the address.
    back = await signed_in_at_provider(gateway, provider.url, "alice-sub", verified("alice@new.example.com"))
    again = await finish(gateway, back["code"])
    assert again["__typename"] == "AuthPayload"
    assert again["user"]["id"] == signed_in["user"]["id"]
    identity = await ProviderIdentityRow.get(provider="mock", subject="alice-sub")
    assert identity.email == "alice@new.example.com"

    events = [event.event for event in await AuditEventRow.all().order_by("id")]
    assert events.count("account_created_by_provider") == 1
    assert events.count("provider_sign_in") == 2
    details = " ".join(str(event.detail) for event in await AuditEventRow.all())
    assert CLIENT_SECRET not in details


async def test_the_client_secret_is_never_logged(
    start: Callable[..., Any], provider: RunningProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    gateway: Gateway = await start()
    back = await signed_in_at_provider(gateway, provider.url, "logged-sub", verified("logged@example.com"))
    assert (await finish(gateway, back["code"]))["__typename"] == "AuthPayload"
    assert CLIENT_SECRET not in caplog.text
    assert back["code"] not in caplog.text


async def test_a_state_is_used_once(start: Callable[..., Any], provider: RunningProcess) -> None:
    gateway: Gateway = await start()
    await set_user(provider.url, "replay-sub", verified("replay@example.com"))
    started = await begin(gateway, return_url=OTHER_RETURN_URL)
    location = await authorize(started["authorizationUrl"], "replay-sub")
    assert "code" in await callback(gateway, location)
    assert await callback(gateway, location) == {"error": "invalid_state"}


async def test_an_unknown_state_is_refused(start: Callable[..., Any], provider: RunningProcess) -> None:
    gateway: Gateway = await start()
    started = await begin(gateway, return_url=OTHER_RETURN_URL)
    location = await authorize(started["authorizationUrl"], "mismatch-sub")
    parts = urlsplit(location)
    forged = {**query_of(location), "state": "not-the-state"}
    # A state the gateway does not know names no return URL: the first of the allow-list.
    assert await callback(gateway, urlunsplit(parts._replace(query=urlencode(forged)))) == {"error": "invalid_state"}
    missing = {key: value for key, value in query_of(location).items() if key != "state"}
    assert await callback(gateway, urlunsplit(parts._replace(query=urlencode(missing)))) == {"error": "invalid_state"}
    # Another provider's callback with this provider's state
    other = urlunsplit(parts._replace(path="/oauth/callback/other"))
    assert await callback(gateway, other) == {"error": "invalid_state"}


async def test_a_callback_in_another_browser_is_refused(start: Callable[..., Any], provider: RunningProcess) -> None:
    gateway: Gateway = await start()
    await set_user(provider.url, "victim-sub", verified("victim@example.com"))
    for cookies in ({}, {"__Secure-provider_sign_in": "someone-elses-value"}):
        started = await begin(gateway)
        location = await authorize(started["authorizationUrl"], "victim-sub")
        transport = httpx.ASGITransport(app=gateway.app)
        async with httpx.AsyncClient(transport=transport, base_url=GATEWAY_URL, cookies=cookies) as elsewhere:
            assert await callback(gateway, location, elsewhere) == {"error": "invalid_state"}
        # and it spent the state: the browser that began it cannot use it either
        assert await callback(gateway, location) == {"error": "invalid_state"}


async def test_an_id_token_with_another_nonce_is_refused(start: Callable[..., Any], provider: RunningProcess) -> None:
    gateway: Gateway = await start()
    await set_user(provider.url, "nonce-sub", verified("nonce@example.com"))
    started = await begin(gateway)
    parts = urlsplit(started["authorizationUrl"])
    injected = urlunsplit(parts._replace(query=urlencode({**query_of(started["authorizationUrl"]), "nonce": "x"})))
    assert await callback(gateway, await authorize(injected, "nonce-sub")) == {"error": "provider_refused"}


@pytest.mark.parametrize("lie", ID_TOKEN_LIES.values(), ids=ID_TOKEN_LIES.keys())
async def test_an_id_token_that_fails_a_check_is_refused(
    start: Callable[..., Any], provider: RunningProcess, lie: dict[str, Any]
) -> None:
    from persistence.models import UserRow

    gateway: Gateway = await start()
    back = await signed_in_at_provider(gateway, provider.url, "liar-sub", {**verified("liar@example.com"), **lie})
    assert back == {"error": "provider_refused"}
    assert not await UserRow.filter(email_key="liar@example.com").exists()


async def test_a_provider_configured_with_another_client_id_gets_a_token_it_refuses(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    gateway: Gateway = await start()
    started = await begin(gateway)
    # The authorization is for another client (a token minted for someone else): the code is not ours.
    params = {**query_of(started["authorizationUrl"]), "client_id": "someone-else"}
    parts = urlsplit(started["authorizationUrl"])
    location = await authorize(urlunsplit(parts._replace(query=urlencode(params))), "client-sub")
    assert await callback(gateway, location) == {"error": "provider_refused"}


async def test_an_unverified_address_makes_no_account_until_its_code_comes_back(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    from persistence.models import UserRow

    gateway: Gateway = await start()
    for claims in ({"email": "unverified@example.com"}, {"email": "unverified@example.com", "email_verified": "true"}):
        back = await signed_in_at_provider(gateway, provider.url, "unverified-sub", claims)
        answer = await finish(gateway, back["code"])
        assert answer["__typename"] == "EmailConfirmationRequired", answer
    assert not await UserRow.filter(email_key="unverified@example.com").exists()
    # No address at all: nothing to confirm.
    back = await signed_in_at_provider(gateway, provider.url, "no-email-sub", {"email": None})
    assert (await finish(gateway, back["code"]))["__typename"] == "ProviderEmailNotVerified"


async def test_the_begin_refuses_unknown_providers_and_return_urls(start: Callable[..., Any]) -> None:
    gateway: Gateway = await start()
    for return_url in ("https://evil.test/signed-in", "https://spa.test/signed-in/../x", RETURN_URL + "?next=x"):
        refused = await begin(gateway, return_url=return_url)
        assert refused["__typename"] == "InvalidInput"
        assert [field["field"] for field in refused["fields"]] == ["returnUrl"]
    refused = await begin(gateway, provider="nobody")
    assert refused["__typename"] == "InvalidInput"
    assert refused["fields"][0]["field"] == "provider"


async def test_a_denial_at_the_provider_comes_back_as_an_error(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    gateway: Gateway = await start()
    started = await begin(gateway)
    assert await callback(gateway, await authorize(started["authorizationUrl"], deny=True)) == {
        "error": "access_denied"
    }


async def test_a_provider_that_is_down_is_a_typed_answer(start: Callable[..., Any]) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    gateway: Gateway = await start(down=provider_settings(closed))
    assert (await begin(gateway, provider="down"))["__typename"] == "ProviderUnavailable"

    with silent_socket() as hanging:
        gateway = await start(provider_timeout=1, hanging=provider_settings(hanging))
        assert (await begin(gateway, provider="hanging"))["__typename"] == "ProviderUnavailable"


async def test_a_provider_that_goes_down_before_the_callback_comes_back_as_an_error(
    start: Callable[..., Any],
) -> None:
    with mock_provider() as short_lived:
        gateway: Gateway = await start(brief=provider_settings(short_lived.url))
        started = await begin(gateway, provider="brief")
        location = await authorize(started["authorizationUrl"], "brief-sub")
    assert await callback(gateway, location) == {"error": "provider_unavailable"}


async def test_the_one_time_code_works_once_and_not_for_long(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    clock = AdjustableClock()
    gateway: Gateway = await start(clock)
    back = await signed_in_at_provider(gateway, provider.url, "once-sub", verified("once@example.com"))
    assert (await finish(gateway, back["code"]))["__typename"] == "AuthPayload"
    assert (await finish(gateway, back["code"]))["__typename"] == "InvalidProviderCode"
    assert (await finish(gateway, "made-up"))["__typename"] == "InvalidProviderCode"
    assert (await finish(gateway, "x" * 10_000))["__typename"] == "InvalidProviderCode"

    back = await signed_in_at_provider(gateway, provider.url, "once-sub")
    clock.advance(minutes=2)
    assert (await finish(gateway, back["code"]))["__typename"] == "InvalidProviderCode"


async def test_an_existing_account_with_the_address_is_never_linked_silently(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    from persistence.models import ProviderIdentityRow

    gateway: Gateway = await start()
    await gateway.signed_up("owner@example.com")
    back = await signed_in_at_provider(gateway, provider.url, "intruder-sub", verified("OWNER@example.com"))
    answer = await finish(gateway, back["code"])
    assert answer["__typename"] == "LinkRequired", answer
    assert answer["provider"] == "mock"
    assert not await ProviderIdentityRow.filter(subject="intruder-sub").exists()
    assert (await gateway.login("owner@example.com"))["__typename"] == "AuthPayload"


async def test_a_pending_sign_up_on_the_address_does_not_survive(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    from persistence.models import UserRow

    gateway: Gateway = await start()
    await gateway.register("pending@example.com", "a password someone planted")
    planted_code = await gateway.last_code("pending@example.com")
    back = await signed_in_at_provider(gateway, provider.url, "pending-sub", verified("pending@example.com"))
    answer = await finish(gateway, back["code"])
    assert answer["__typename"] == "AuthPayload", answer
    row = await UserRow.get(email_key="pending@example.com")
    assert str(row.id) == answer["user"]["id"]
    assert row.password_hash == ""  # no password
    late = await gateway.verify("pending@example.com", planted_code, password="a password someone planted")
    assert late["__typename"] != "AuthPayload"
    assert (await gateway.login("pending@example.com", "a password someone planted"))["__typename"] == (
        "InvalidCredentials"
    )


async def test_an_account_without_a_password_answers_login_as_a_wrong_password_does(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    gateway: Gateway = await start()
    back = await signed_in_at_provider(gateway, provider.url, "nopw-sub", verified("nopw@example.com"))
    assert (await finish(gateway, back["code"]))["__typename"] == "AuthPayload"
    await gateway.signed_up("haspw@example.com")

    passwordless = await gateway.post(
        'mutation($e: String!) { login(input: {email: $e, password: "anything at all"}) '
        "{ __typename ... on Error { message code } } }",
        {"e": "nopw@example.com"},
    )
    wrong = await gateway.post(
        'mutation($e: String!) { login(input: {email: $e, password: "anything at all"}) '
        "{ __typename ... on Error { message code } } }",
        {"e": "haspw@example.com"},
    )
    assert passwordless == wrong
    assert passwordless["data"]["login"]["__typename"] == "InvalidCredentials"

    # The reset flow gives it a password.
    await gateway.request_password_reset("nopw@example.com")
    await gateway.mail_settled()
    reset = await gateway.reset_password("nopw@example.com", await gateway.last_code("nopw@example.com"), PASSWORD)
    assert reset["__typename"] == "AuthPayload", reset
    assert (await gateway.login("nopw@example.com"))["__typename"] == "AuthPayload"


async def test_a_fresh_provider_sign_in_stands_in_for_the_password_it_does_not_have(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    clock = AdjustableClock()
    gateway: Gateway = await start(clock)
    back = await signed_in_at_provider(gateway, provider.url, "fresh-sub", verified("fresh@example.com"))
    token = (await finish(gateway, back["code"]))["accessToken"]
    clock.advance(minutes=5, seconds=1)
    late = await gateway.change_password(token, None, PASSWORD)
    assert late["__typename"] == "ReauthenticationRequired", late

    back = await signed_in_at_provider(gateway, provider.url, "fresh-sub")
    token = (await finish(gateway, back["code"]))["accessToken"]
    changed = await gateway.change_password(token, None, PASSWORD)  # the new sign-in is the proof
    assert changed["__typename"] == "PasswordChanged", changed
    assert (await gateway.login("fresh@example.com"))["__typename"] == "AuthPayload"


async def test_an_account_with_a_second_factor_needs_it_after_the_provider(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    import pyotp

    gateway: Gateway = await start()
    back = await signed_in_at_provider(gateway, provider.url, "mfa-sub", verified("mfa@example.com"))
    token = (await finish(gateway, back["code"]))["accessToken"]
    enrolment = await gateway.begin_totp_enrolment(token)
    confirmed = await gateway.confirm_totp_enrolment(token, pyotp.TOTP(enrolment["secret"]).now())
    assert confirmed["__typename"] == "RecoveryCodes", confirmed
    back = await signed_in_at_provider(gateway, provider.url, "mfa-sub")
    required = await finish(gateway, back["code"])
    assert required["__typename"] == "MfaRequired"
    code = pyotp.TOTP(enrolment["secret"]).at(time.time() + 30)  # the next step's: a code works once
    signed_in = await gateway.complete_sign_in(required["ticket"], "TOTP", code)
    assert signed_in["__typename"] == "AuthPayload", signed_in
    [current] = [s for s in await gateway.sessions(signed_in["accessToken"]) if s["current"]]
    assert current["signInMethods"] == ["fed", "otp", "mfa"]  # the provider, then the app
