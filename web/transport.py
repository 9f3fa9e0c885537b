"""How a refresh token travels between the gateway and its client: in the body, a cookie, or both.

In ``cookie`` mode a browser keeps the refresh token where its JavaScript cannot
read it: an ``HttpOnly`` cookie scoped to the GraphQL endpoint, ``Secure`` and
``SameSite=Strict`` unless configured otherwise. The response body then carries
the access token only (``refreshToken`` is null). ``both`` sets the cookie and
fills the field too, for a gateway that serves browsers and native apps alike.

A cookie is an ambient credential: the browser attaches it to every request to
the endpoint, whoever's page made the request. So while the cookie is in use,
every POST must also carry ``X-Requested-With`` (``CSRF_HEADER``), a header that
no HTML form can send and that another origin's script can send only after a
CORS preflight that the gateway answers for its own origins alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

Mode = Literal["body", "cookie", "both"]
SameSite = Literal["strict", "lax", "none"]

CSRF_HEADER = "X-Requested-With"


@dataclass(frozen=True)
class RefreshTokenTransport:
    mode: Mode = "body"
    secure: bool = True
    same_site: SameSite = "strict"
    path: str = "/graphql"

    @property
    def uses_cookie(self) -> bool:
        return self.mode != "body"

    @property
    def in_body(self) -> bool:
        return self.mode != "cookie"

    @property
    def cookie_name(self) -> str:
        # The __Secure- prefix makes browsers refuse the cookie unless it is Secure and
        # came over HTTPS, so no plain-HTTP page on the same host can plant one.
        return "__Secure-refresh_token" if self.secure else "refresh_token"

    def deliver(self, response: Response, refresh_token: str, lifetime_seconds: int) -> str | None:
        """Set the cookie if it is in use; the token for the response body, or ``None``."""
        if self.uses_cookie:
            response.set_cookie(
                self.cookie_name,
                refresh_token,
                max_age=lifetime_seconds,
                path=self.path,
                secure=self.secure,
                httponly=True,
                samesite=self.same_site,
            )
        return refresh_token if self.in_body else None

    def read(self, request: Request) -> str | None:
        """The refresh token the browser sent in the cookie, if the cookie is in use."""
        if not self.uses_cookie:
            return None
        return request.cookies.get(self.cookie_name) or None

    def clear(self, response: Response) -> None:
        """Tell the browser to forget the cookie (sign-out, a dead token)."""
        if self.uses_cookie:
            response.delete_cookie(
                self.cookie_name,
                path=self.path,
                secure=self.secure,
                httponly=True,
                samesite=self.same_site,
            )
