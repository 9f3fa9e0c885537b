"""Sign-in with an ID token a native app got from the provider itself (signInWithIdToken):
genuine ID tokens from a real provider process (oidc-provider-mock's authorization and token
endpoints, as the app's SDK would use them), forged ones signed with joserfc, on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.support.client import Gateway
from tests.support.processes import RunningProcess, free_port
from tests.support.provider_flow import (
    ID_TOKEN_LIES,
    SIGN_IN_WITH_ID_TOKEN,
    id_token_from,
    provider_settings,
    sign_in_with_id_token,
    signed_in_at_provider,
    verified,
)

NONCE = "n-0S6_WzA2Mj"  # what the app made for this sign-in and gave the provider's SDK


async def test_a_genuine_id_token_signs_in_once(start: Callable[..., Any], provider: RunningProcess) -> None:
    from persistence.models import AuditEventRow, UserRow

    gateway: Gateway = await start()
    id_token = await id_token_from(provider.url, "native-sub", NONCE, verified("native@example.com"))
    signed_in = await sign_in_with_id_token(gateway, id_token, NONCE)
    assert signed_in["__typename"] == "AuthPayload", signed_in
    assert signed_in["user"]["email"] == "native@example.com"
    assert (await UserRow.get(email_key="native@example.com")).password_hash == ""  # no password

    # The same token again (a stolen copy): refused, whoever sends it.
    replayed = await sign_in_with_id_token(gateway, id_token, NONCE)
    assert replayed["__typename"] == "InvalidIdToken", replayed

    # A new token of the same identity finds the account.
    again = await sign_in_with_id_token(gateway, await id_token_from(provider.url, "native-sub", "another"), "another")
    assert again["__typename"] == "AuthPayload", again
    assert again["user"]["id"] == signed_in["user"]["id"]

    events = [(event.event, event.detail) for event in await AuditEventRow.all().order_by("id")]
    assert ("provider_sign_in", "mock:id_token") in events
    assert ("provider_sign_in_failed", "mock:id_token:replay") in events
    assert not any(id_token in str(detail) for _, detail in events)


async def test_the_account_a_first_sign_in_makes_is_mailed_in_the_callers_language(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    gateway: Gateway = await start()
    id_token = await id_token_from(provider.url, "de-sub", NONCE, verified("de@example.com"))
    variables = {"input": {"provider": "mock", "idToken": id_token, "nonce": NONCE}}
    headers = {"Accept-Language": "de-CH, de;q=0.9, en;q=0.5"}
    signed_in = await gateway.mutate("signInWithIdToken", SIGN_IN_WITH_ID_TOKEN, variables, headers=headers)
    assert signed_in["__typename"] == "AuthPayload", signed_in
    [notice] = gateway.mailbox.messages
    assert str(notice["Subject"]) == "Ihr Auth Gateway-Konto wurde mit mock erstellt"
    # A later sign-in of the same identity is no first one: no second notice.
    again = await sign_in_with_id_token(gateway, await id_token_from(provider.url, "de-sub", "n-2"), "n-2")
    assert again["__typename"] == "AuthPayload"
    assert len(gateway.mailbox.messages) == 1


async def test_a_token_given_twice_at_once_signs_in_once(start: Callable[..., Any], provider: RunningProcess) -> None:
    gateway: Gateway = await start()
    id_token = await id_token_from(provider.url, "race-sub", NONCE, verified("race@example.com"))
    answers = await asyncio.gather(*(sign_in_with_id_token(gateway, id_token, NONCE) for _ in range(4)))
    assert sorted(answer["__typename"] for answer in answers) == ["AuthPayload"] + ["InvalidIdToken"] * 3


async def test_the_nonce_is_required_and_must_be_the_tokens(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    from persistence.models import UserRow

    gateway: Gateway = await start()
    await id_token_from(provider.url, "nonce-sub", None, verified("nonce@example.com"))
    without = await id_token_from(provider.url, "nonce-sub", None)
    assert (await sign_in_with_id_token(gateway, without, NONCE))["__typename"] == "InvalidIdToken"
    other = await id_token_from(provider.url, "nonce-sub", "the nonce of another sign-in")
    assert (await sign_in_with_id_token(gateway, other, NONCE))["__typename"] == "InvalidIdToken"
    empty = await sign_in_with_id_token(gateway, await id_token_from(provider.url, "nonce-sub", NONCE), "")
    assert empty["__typename"] == "InvalidInput"
    assert [field["field"] for field in empty["fields"]] == ["nonce"]
    assert not await UserRow.filter(email_key="nonce@example.com").exists()


@pytest.mark.parametrize("lie", ID_TOKEN_LIES.values(), ids=ID_TOKEN_LIES.keys())
async def test_a_token_that_fails_a_check_is_refused(
    start: Callable[..., Any], provider: RunningProcess, lie: dict[str, Any]
) -> None:
    from persistence.models import UserRow

    gateway: Gateway = await start()
    id_token = await id_token_from(provider.url, "liar-sub", NONCE, {**verified("liar@example.com"), **lie})
    refused = await sign_in_with_id_token(gateway, id_token, NONCE)
    assert refused["__typename"] == "InvalidIdToken", refused
    assert not await UserRow.filter(email_key="liar@example.com").exists()


async def test_a_token_signed_with_another_key_is_refused(start: Callable[..., Any], provider: RunningProcess) -> None:
    gateway: Gateway = await start()
    genuine = await id_token_from(provider.url, "forged-sub", NONCE, verified("forged@example.com"))
    header, payload = _unverified(genuine)
    forger = RSAKey.generate_key(2048)
    now = int(time.time())
    # the provider's header (its key id, if it names one) over the same claims, another key's signature
    forged = jwt.encode({**header, "alg": "RS256"}, {**payload, "iat": now, "exp": now + 300}, forger)
    assert (await sign_in_with_id_token(gateway, forged, NONCE))["__typename"] == "InvalidIdToken"
    for nonsense in ("not a token", "a.b.c", "x" * 20_000):
        assert (await sign_in_with_id_token(gateway, nonsense, NONCE))["__typename"] == "InvalidIdToken"
    # the genuine one still works: nothing above spent it
    assert (await sign_in_with_id_token(gateway, genuine, NONCE))["__typename"] == "AuthPayload"


async def test_a_native_apps_own_client_id_counts_only_when_set_up(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    gateway: Gateway = await start()
    claims = verified("android@example.com")
    for_the_app = await id_token_from(provider.url, "android-sub", NONCE, claims, client_id="android-app")
    assert (await sign_in_with_id_token(gateway, for_the_app, NONCE))["__typename"] == "InvalidIdToken"

    gateway = await start(mock=provider_settings(provider.url, id_token_audiences=["android-app"]))
    for_the_app = await id_token_from(provider.url, "android-sub", NONCE, client_id="android-app")
    assert (await sign_in_with_id_token(gateway, for_the_app, NONCE))["__typename"] == "AuthPayload"
    # Google's Android tokens: for the server's client id, issued to the app's (azp)
    await id_token_from(provider.url, "android-sub", None, {**claims, "aud": "gateway", "azp": "android-app"})
    by_the_app = await id_token_from(provider.url, "android-sub", NONCE)
    assert (await sign_in_with_id_token(gateway, by_the_app, NONCE))["__typename"] == "AuthPayload"
    # Another client's token is no more the gateway's than before.
    to_another = await id_token_from(provider.url, "android-sub", NONCE, {**claims, "aud": "someone-else", "azp": None})
    assert (await sign_in_with_id_token(gateway, to_another, NONCE))["__typename"] == "InvalidIdToken"
    # The callback's ID tokens are still for the gateway's own client id only: the app's are not its.
    back = await signed_in_at_provider(gateway, provider.url, "android-sub", {**claims, "aud": "android-app"})
    assert back == {"error": "provider_refused"}


async def test_an_account_with_the_address_is_never_linked_silently(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    gateway: Gateway = await start()
    await gateway.signed_up("owner@example.com")
    id_token = await id_token_from(provider.url, "intruder-sub", NONCE, verified("owner@example.com"))
    answer = await sign_in_with_id_token(gateway, id_token, NONCE)
    assert answer["__typename"] == "LinkRequired", answer
    assert answer["linkToken"]
    assert (await sign_in_with_id_token(gateway, id_token, NONCE))["__typename"] == "InvalidIdToken"


async def test_an_unknown_provider_or_one_that_is_down_is_a_typed_answer(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    id_token = await id_token_from(provider.url, "down-sub", NONCE, verified("down@example.com"))
    gateway: Gateway = await start(down=provider_settings(f"http://127.0.0.1:{free_port()}"))
    unknown = await sign_in_with_id_token(gateway, id_token, NONCE, provider="nobody")
    assert unknown["__typename"] == "InvalidInput"
    assert [field["field"] for field in unknown["fields"]] == ["provider"]
    assert (await sign_in_with_id_token(gateway, id_token, NONCE, provider="down"))["__typename"] == (
        "ProviderUnavailable"
    )


async def test_sign_ins_with_id_tokens_are_rate_limited_like_the_others(start: Callable[..., Any]) -> None:
    gateway: Gateway = await start(settings={"rate_limit_login_per_ip": "2/10m"})
    answers = [(await sign_in_with_id_token(gateway, "a.b.c", NONCE))["__typename"] for _ in range(3)]
    assert answers == ["InvalidIdToken", "InvalidIdToken", "RateLimited"]


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    import base64
    import json

    header, payload, _ = token.split(".")

    def part(segment: str) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        return decoded

    return part(header), part(payload)


async def test_first_sign_ins_of_one_identity_at_once_make_one_account(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    from persistence.models import ProviderIdentityRow, UserRow

    gateway: Gateway = await start()
    await id_token_from(provider.url, "twin-sub", None, verified("twin@example.com"))
    nonces = [f"twin-{n}" for n in range(6)]
    tokens = [await id_token_from(provider.url, "twin-sub", nonce) for nonce in nonces]
    answers = await asyncio.gather(*(sign_in_with_id_token(gateway, t, n) for t, n in zip(tokens, nonces, strict=True)))
    assert [answer["__typename"] for answer in answers] == ["AuthPayload"] * 6, answers
    assert len({answer["user"]["id"] for answer in answers}) == 1
    assert await UserRow.filter(email_key="twin@example.com").count() == 1
    assert await ProviderIdentityRow.filter(subject="twin-sub").count() == 1
