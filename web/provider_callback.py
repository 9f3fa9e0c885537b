"""The callback of a provider sign-in: ``GET /oauth/callback/{provider}``, where the provider
sends the browser back with ``code`` and ``state`` (or ``error``); or ``POST`` with the same as a
form, from a provider that answers with ``response_mode=form_post`` (Apple).

The browser binding is a cookie: an HttpOnly, ``SameSite=Lax`` (the provider's redirect is a
top-level GET from another site, which Strict would strip) random value, scoped to this path,
set by ``beginProviderSignIn``; the gateway keeps only its hash, next to the state. A cross-site
POST carries no Lax cookie, so a sign-in at a form_post provider also gets the same value in a
``SameSite=None; Secure`` cookie, which only the POST callback reads: the binding is the same
(the value's hash is compared with the one kept with the state), only its way in differs. The answer
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
FORM_MAX_BYTES = 16 * 1024  # a code, a state, an ID token and Apple's user: a few kilobytes at most


@dataclass(frozen=True)
class BrowserBindingCookie:
    """The cookie that binds a provider sign-in to the browser that began it."""

    secure: bool = True
    path: str = CALLBACK_PREFIX

    @property
    def name(self) -> str:
        return "__Secure-provider_sign_in" if self.secure else "provider_sign_in"

    @property
    def cross_site_name(self) -> str:
        """The same value for a callback POSTed from the provider's site (form_post)."""
        return "__Secure-provider_sign_in_post" if self.secure else "provider_sign_in_post"

    def set(self, response: Response, value: str, max_age: int, *, cross_site: bool = False) -> None:
        response.set_cookie(
            self.name, value, max_age=max_age, path=self.path, secure=self.secure, httponly=True, samesite="lax"
        )
        if cross_site:
            # Browsers drop SameSite=None without Secure: over plain http (development) the
            # cookie stays Lax and a cross-site POST arrives without it (form_post needs https).
            response.set_cookie(
                self.cross_site_name,
                value,
                max_age=max_age,
                path=self.path,
                secure=self.secure,
                httponly=True,
                samesite="none" if self.secure else "lax",
            )

    def read(self, request: Request, *, cross_site: bool = False) -> str | None:
        return request.cookies.get(self.cross_site_name if cross_site else self.name) or None


def provider_callback_route(sign_in: ProviderSignInService, cookie: BrowserBindingCookie) -> Route:
    async def callback(request: Request) -> Response:
        posted = request.method == "POST"
        fields = await _posted_form(request) if posted else dict(request.query_params)
        peer = request.client
        client = Client(ip=client_ip(peer.host if peer else None), user_agent=request.headers.get("user-agent"))
        outcome = await sign_in.callback(
            request.path_params["provider"],
            state=fields.get("state"),
            code=fields.get("code"),
            error=fields.get("error"),
            browser_secret=cookie.read(request, cross_site=posted),
            client=client,
            posted=posted,
            posted_user=fields.get("user"),
        )
        # The one-time code rides in the SPA's URL: no Referer may carry it further.
        return RedirectResponse(_return_url(outcome), status_code=303, headers={"Referrer-Policy": "no-referrer"})

    return Route(OIDC_CALLBACK_PATH, callback, methods=["GET", "POST"])


async def _posted_form(request: Request) -> dict[str, str]:
    """The fields of a form POST (``application/x-www-form-urlencoded``, as providers send it);
    nothing from another encoding or a body past ``FORM_MAX_BYTES``."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_MAX_BYTES:
            return {}
    try:
        return dict(parse_qsl(body.decode("utf-8"), max_num_fields=16))
    except ValueError:  # not UTF-8 (UnicodeDecodeError is one), or too many fields
        return {}


def _return_url(outcome: ProviderCallbackOutcome) -> str:
    parts = urlsplit(outcome.return_url)
    added = [("code", outcome.code)] if outcome.code is not None else [("error", outcome.error or "")]
    query = [(key, value) for key, value in parse_qsl(parts.query) if key not in ("code", "error")] + added
    return urlunsplit(parts._replace(query=urlencode(query)))
