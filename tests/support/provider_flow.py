"""The SPA's and the browser's part of a provider sign-in, for tests through the API: begin,
the provider's page (``tests.support.oidc_provider``, or a stand-in's: ``tests.support.stand_in``),
the gateway's callback (a redirect, or a form POST), finish."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from tests.support.client import AUTH_PAYLOAD, ERROR, INVALID_INPUT_FIELDS, MFA_REQUIRED, Gateway
from tests.support.oidc_provider import authorize, query_of, set_user

RETURN_URL = "https://spa.test/signed-in"
OTHER_RETURN_URL = "https://spa.test/other"
CLIENT_SECRET = "provider-client-secret-4d1f0a"
GATEWAY_URL = "https://gateway.test"  # https: the client's cookie jar sends Secure cookies back

BEGIN = f"""mutation Begin($input: BeginProviderSignInInput!) {{
  beginProviderSignIn(input: $input) {{ __typename ... on ProviderSignInStarted {{ authorizationUrl expiresIn }}
    {ERROR} {INVALID_INPUT_FIELDS} }} }}"""
FINISH = f"""mutation Finish($input: FinishProviderSignInInput!) {{
  finishProviderSignIn(input: $input) {{ __typename {AUTH_PAYLOAD} {MFA_REQUIRED} {ERROR}
    ... on LinkRequired {{ provider linkToken }}
    ... on EmailConfirmationRequired {{ ticket email expiresAt }} }} }}"""


# Claims of an ID token that fail a check, each in place of the one the provider would write.
ID_TOKEN_LIES: dict[str, dict[str, Any]] = {
    "issuer": {"iss": "https://impostor.example"},
    "audience": {"aud": "another-client"},
    "azp": {"aud": ["gateway", "another-client"], "azp": "another-client"},
    "audiences-without-azp": {"aud": ["gateway", "another-client"]},
    "expired": {"exp": 1_000_000_000},
    "issued-in-the-future": {"iat": 4_000_000_000},
    "issued-long-ago": {"iat": 1_000_000_000},
}


def subjects_to(gateway: Gateway, address: str) -> list[str]:
    """The subjects of the mails to ``address``, oldest first."""
    mailbox = gateway.mailbox
    return [
        str(mail["Subject"]) for mail, to in zip(mailbox.messages, mailbox.recipients, strict=True) if address in to
    ]


def provider_settings(issuer: str, client_id: str = "gateway", **more: Any) -> dict[str, Any]:
    return {"issuer": issuer, "client_id": client_id, "client_secret": CLIENT_SECRET, **more}


def verified(email: str) -> dict[str, Any]:
    return {"email": email, "email_verified": True}


async def begin(gateway: Gateway, provider: str = "mock", return_url: str = RETURN_URL) -> dict[str, Any]:
    return await gateway.mutate(
        "beginProviderSignIn", BEGIN, {"input": {"provider": provider, "returnUrl": return_url}}
    )


async def finish(gateway: Gateway, code: str) -> dict[str, Any]:
    return await gateway.mutate("finishProviderSignIn", FINISH, {"input": {"code": code}})


async def callback(gateway: Gateway, location: str, http: httpx.AsyncClient | None = None) -> dict[str, str]:
    """Follow the provider's redirect to the gateway's callback; the query the SPA gets back."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == GATEWAY_URL, location
    response = await (http or gateway.http).get(urlunsplit(("", "", parts.path, parts.query, "")))
    assert response.status_code == 303, response.text
    back = response.headers["location"]
    assert back.split("?", 1)[0] in (RETURN_URL, OTHER_RETURN_URL), back
    assert "token" not in back.lower()
    return query_of(back)


async def signed_in_at_provider(
    gateway: Gateway, provider_url: str, sub: str, claims: dict[str, Any] | None = None, provider: str = "mock"
) -> dict[str, str]:
    """Begin, sign in at the provider as ``sub`` and come back: the return URL's query."""
    if claims is not None:
        await set_user(provider_url, sub, claims)
    started = await begin(gateway, provider)
    assert started["__typename"] == "ProviderSignInStarted", started
    return await callback(gateway, await authorize(started["authorizationUrl"], sub))


async def provider_sign_in(
    gateway: Gateway, provider_url: str, sub: str, claims: dict[str, Any] | None = None, provider: str = "mock"
) -> dict[str, Any]:
    """The whole flow: what finishProviderSignIn answers."""
    back = await signed_in_at_provider(gateway, provider_url, sub, claims, provider)
    assert "code" in back, back
    return await finish(gateway, back["code"])


@dataclass(frozen=True)
class ProviderAnswer:
    """Where a provider's page sends the browser after the person chose: a redirect (GET) to
    ``url``, or a form the page posts to ``url`` by itself (``response_mode=form_post``)."""

    url: str
    posted: dict[str, str] | None = None


async def choose_at_provider(authorization_url: str, user: str, *, cancel: bool = False) -> ProviderAnswer:
    """Do what a person does on a stand-in provider's page (``tests.support.stand_in``): open it,
    then sign in as ``user`` (or cancel)."""
    async with httpx.AsyncClient() as browser:
        page = await browser.get(authorization_url)
        assert page.status_code == 200, page.text
        answer = await browser.post(authorization_url, data={"user": user, **({"cancel": "1"} if cancel else {})})
    if answer.status_code == 302:
        return ProviderAnswer(answer.headers["location"])
    assert answer.status_code == 200, answer.text
    form = re.search(r'<form method="post" action="([^"]+)">', answer.text)
    assert form is not None, answer.text
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', answer.text)
    return ProviderAnswer(html.unescape(form.group(1)), {name: html.unescape(value) for name, value in fields})


async def come_back(gateway: Gateway, answer: ProviderAnswer, http: httpx.AsyncClient | None = None) -> dict[str, str]:
    """The browser arrives at the gateway's callback as the provider sent it (GET or form POST):
    the query the SPA gets back."""
    if answer.posted is None:
        return await callback(gateway, answer.url, http)
    parts = urlsplit(answer.url)
    assert f"{parts.scheme}://{parts.netloc}" == GATEWAY_URL, answer.url
    response = await (http or gateway.http).post(parts.path, data=answer.posted)
    assert response.status_code == 303, response.text
    back = response.headers["location"]
    assert back.split("?", 1)[0] in (RETURN_URL, OTHER_RETURN_URL), back
    return query_of(back)


async def stand_in_sign_in(gateway: Gateway, provider: str, user: str) -> dict[str, str]:
    """Begin at ``provider`` (a stand-in), sign in there as ``user`` and come back: the return URL's query."""
    started = await begin(gateway, provider)
    assert started["__typename"] == "ProviderSignInStarted", started
    return await come_back(gateway, await choose_at_provider(started["authorizationUrl"], user))


SIGN_IN_WITH_ID_TOKEN = f"""mutation IdToken($input: SignInWithIdTokenInput!) {{
  signInWithIdToken(input: $input) {{ __typename {AUTH_PAYLOAD} {MFA_REQUIRED} {ERROR} {INVALID_INPUT_FIELDS}
    ... on LinkRequired {{ provider linkToken }}
    ... on EmailConfirmationRequired {{ ticket email expiresAt }} }} }}"""
CONFIRM_PROVIDER_EMAIL = f"""mutation ConfirmProviderEmail($input: ConfirmProviderEmailInput!) {{
  confirmProviderEmail(input: $input) {{ __typename {AUTH_PAYLOAD} {MFA_REQUIRED} {ERROR} {INVALID_INPUT_FIELDS}
    ... on LinkRequired {{ provider linkToken }} }} }}"""
NATIVE_REDIRECT_URI = "com.example.app:/oauth2redirect"


async def id_token_from(
    provider_url: str,
    sub: str,
    nonce: str | None,
    claims: dict[str, Any] | None = None,
    client_id: str = "gateway",
) -> str:
    """What a native app's SDK gets: a genuine ID token, from the provider's own authorization
    and token endpoints (the code flow, with ``nonce`` when given), for ``client_id``."""
    if claims is not None:
        await set_user(provider_url, sub, claims)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": NATIVE_REDIRECT_URI,
        "scope": "openid email profile",
        "state": "native-app-state",
        **({"nonce": nonce} if nonce is not None else {}),
    }
    location = await authorize(f"{provider_url}/oauth2/authorize?{urlencode(params)}", sub)
    code = query_of(location)["code"]
    async with httpx.AsyncClient(base_url=provider_url) as http:
        response = await http.post(
            "/oauth2/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": NATIVE_REDIRECT_URI},
            auth=(client_id, "the app's secret"),
        )
    assert response.status_code == 200, response.text
    id_token = response.json()["id_token"]
    assert isinstance(id_token, str)
    return id_token


async def sign_in_with_id_token(gateway: Gateway, id_token: str, nonce: str, provider: str = "mock") -> dict[str, Any]:
    return await gateway.mutate(
        "signInWithIdToken",
        SIGN_IN_WITH_ID_TOKEN,
        {"input": {"provider": provider, "idToken": id_token, "nonce": nonce}},
    )


async def confirm_provider_email(gateway: Gateway, ticket: str, code: str) -> dict[str, Any]:
    return await gateway.mutate(
        "confirmProviderEmail", CONFIRM_PROVIDER_EMAIL, {"input": {"ticket": ticket, "code": code}}
    )
