"""What the stand-in providers (``tests.support.microsoft_provider``, ``apple_provider``,
``github_provider``) share: a real HTTP server on loopback (uvicorn, in a thread of its own, so
a module's tests can share it whatever their event loops), the authorization step they all
have (a page, then the person's choice posted back), the codes it hands out with what the
token endpoint must check of them (client, redirect URI, PKCE S256, single use), and an RSA
key that signs ID tokens.

They answer with the shapes their providers document; each records what it was sent, so a
test can check what the gateway asked for.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import uvicorn
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response


@dataclass(frozen=True)
class Authorization:
    """What an authorization request asked for, kept with the code it ended in."""

    client_id: str
    redirect_uri: str
    code_challenge: str | None
    nonce: str | None
    scope: str
    user: str


@dataclass
class StandInProvider:
    """The part every stand-in has; ``routes`` come from the subclass's ``app``."""

    url: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "stand-in-1"}))
    codes: dict[str, Authorization] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)  # the forms the token endpoint got
    down: bool = False  # answer 503 to everything, as a provider in an outage does

    def app(self) -> Starlette:
        raise NotImplementedError

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False, use="sig", alg="RS256")]}

    async def authorization_page(self, request: Request) -> Response:
        """The provider's sign-in page: a form to choose who signs in (``user``) or to cancel."""
        if self.down:
            return outage()
        return HTMLResponse(
            f'<form method="post" action="{html.escape(str(request.url))}">'
            '<input name="user"><button>Sign in</button><button name="cancel" value="1">Cancel</button></form>'
        )

    async def chosen(self, request: Request) -> tuple[dict[str, str], Authorization | None]:
        """The authorization request's parameters, and (unless the person cancelled) its code's record."""
        query = dict(request.query_params)
        form = {key: str(value) for key, value in (await form_of(request)).items()}
        if form.get("cancel"):
            return query, None
        return query, Authorization(
            client_id=query["client_id"],
            redirect_uri=query["redirect_uri"],
            code_challenge=query.get("code_challenge") if query.get("code_challenge_method") == "S256" else None,
            nonce=query.get("nonce"),
            scope=query.get("scope", ""),
            user=form["user"],
        )

    def new_code(self, authorization: Authorization) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = authorization
        return code

    def redeemed(self, form: dict[str, str], client_id: str) -> Authorization | None:
        """The code's authorization when the token request fits it (client, redirect URI, PKCE);
        the code is spent either way."""
        self.token_requests.append(form)
        authorization = self.codes.pop(form.get("code", ""), None)
        if authorization is None or authorization.client_id != client_id:
            return None
        if form.get("redirect_uri") != authorization.redirect_uri:
            return None
        verifier = form.get("code_verifier", "")
        if authorization.code_challenge is not None and s256(verifier) != authorization.code_challenge:
            return None
        return authorization


Provider = TypeVar("Provider", bound=StandInProvider)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def form_of(request: Request) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl((await request.body()).decode()))


def client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """The client's id and secret, from HTTP Basic (client_secret_basic) or the form (client_secret_post)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        from urllib.parse import unquote

        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        return unquote(client_id), unquote(secret)
    return form.get("client_id", ""), form.get("client_secret", "")


def oauth_error(error: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": error.replace("_", " ")}, status_code=status)


def outage() -> Response:
    return HTMLResponse("<h1>Service Unavailable</h1>", status_code=503)


def redirect_to(uri: str, **params: str) -> RedirectResponse:
    from urllib.parse import urlencode

    return RedirectResponse(f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}", status_code=302)


def now() -> int:
    return int(time.time())


@contextmanager
def serving(provider: Provider) -> Iterator[Provider]:
    """``provider`` served on a free loopback port (``provider.url``) until leaving."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    provider.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(provider.app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="stand-in-provider", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "the stand-in provider stopped"
        assert time.monotonic() < deadline, "the stand-in provider did not start"
        time.sleep(0.01)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
