"""A real OpenID Connect provider for the tests: ``oidc-provider-mock`` (PyPI) run as a process
on loopback through the harness, and a browser's part of its authorization step.

The mock serves discovery, its JWK Set, an authorization page (a form: a subject to sign in
as, or "Deny") and a token endpoint that signs RS256 ID tokens. It takes any client id and
secret. A user's claims are set with ``PUT /users/{sub}``; they go into the ID token as they
are, standard claims only with their scope, any other claim (``iss``, ``aud``, ``azp``,
``exp``, ``nonce``) in place of the one the mock would have written: how the tests make a
provider that lies.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.processes import RunningProcess, serving

MOCK_PROVIDER = (sys.executable, "-m", "oidc_provider_mock", "--port", "{port}")


@contextmanager
def mock_provider() -> Iterator[RunningProcess]:
    """The mock provider, answering its discovery document; stopped on leaving."""
    with serving(MOCK_PROVIDER, {}, ready_path="/.well-known/openid-configuration", name="oidc-provider") as running:
        yield running


@contextmanager
def silent_socket() -> Iterator[str]:
    """The URL of a port that accepts connections and never answers: a provider that hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


async def set_user(provider_url: str, sub: str, claims: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=provider_url) as http:
        response = await http.put(f"/users/{sub}", json=claims)
        assert response.status_code == 204, response.text


async def authorize(authorization_url: str, sub: str | None = None, *, deny: bool = False) -> str:
    """Do what a person does on the provider's page: open it, then sign in as ``sub`` (or deny).
    Returns where the provider redirects the browser: the gateway's callback URL."""
    async with httpx.AsyncClient() as browser:
        page = await browser.get(authorization_url)
        assert page.status_code == 200, page.text
        assert "<form" in page.text, page.text
        form = {"action": "deny"} if deny else {"sub": sub or ""}
        answer = await browser.post(authorization_url, data=form)  # the page's forms post to its own URL
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
