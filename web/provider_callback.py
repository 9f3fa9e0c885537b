"""The callback of a provider sign-in: ``GET /oauth/callback/{provider}``, where the provider
sends the browser back with ``code`` and ``state`` (or ``error``).

The browser binding is a cookie: an HttpOnly, ``SameSite=Lax`` (the provider's redirect is a
top-level GET from another site, which Strict would strip) random value, scoped to this path,
set by ``beginProviderSignIn``; the gateway keeps only its hash, next to the state. The answer
is always a 303 to an allow-listed return URL of the SPA, with ``?code=`` (one-time, short-lived)
or ``?error=``: never a token, never a 500 for anything the provider or the browser sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.responses import RedirectResponse
from starlette.routing import Route

from domain.entities import Client
from settings import OIDC_CALLBACK_PATH
from web.client_address import client_ip

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from domain.entities import ProviderCallbackOutcome
    from domain.services.provider_sign_in import ProviderSignInService

CALLBACK_PREFIX = OIDC_CALLBACK_PATH.split("{", 1)[0].rstrip("/")  # /oauth/callback


@dataclass(frozen=True)
class BrowserBindingCookie:
    """The cookie that binds a provider sign-in to the browser that began it."""

    secure: bool = True
    path: str = CALLBACK_PREFIX

    @property
    def name(self) -> str:
        return "__Secure-provider_sign_in" if self.secure else "provider_sign_in"

    def set(self, response: Response, value: str, max_age: int) -> None:
        response.set_cookie(
            self.name, value, max_age=max_age, path=self.path, secure=self.secure, httponly=True, samesite="lax"
        )

    def read(self, request: Request) -> str | None:
        return request.cookies.get(self.name) or None


def provider_callback_route(sign_in: ProviderSignInService, cookie: BrowserBindingCookie) -> Route:
    async def callback(request: Request) -> Response:
        query = request.query_params
        peer = request.client
        client = Client(ip=client_ip(peer.host if peer else None), user_agent=request.headers.get("user-agent"))
        outcome = await sign_in.callback(
            request.path_params["provider"],
            state=query.get("state"),
            code=query.get("code"),
            error=query.get("error"),
            browser_secret=cookie.read(request),
            client=client,
        )
        # The one-time code rides in the SPA's URL: no Referer may carry it further.
        return RedirectResponse(_return_url(outcome), status_code=303, headers={"Referrer-Policy": "no-referrer"})

    return Route(OIDC_CALLBACK_PATH, callback, methods=["GET"])


def _return_url(outcome: ProviderCallbackOutcome) -> str:
    parts = urlsplit(outcome.return_url)
    added = [("code", outcome.code)] if outcome.code is not None else [("error", outcome.error or "")]
    query = [(key, value) for key, value in parse_qsl(parts.query) if key not in ("code", "error")] + added
    return urlunsplit(parts._replace(query=urlencode(query)))
