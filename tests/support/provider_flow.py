"""The SPA's and the browser's part of a provider sign-in, for tests through the API: begin,
the provider's page (``tests.support.oidc_provider``), the gateway's callback, finish."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

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
    ... on LinkRequired {{ provider linkToken }} }} }}"""


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
