"""Forward auth: a reverse proxy asks the gateway whether a request may pass.

nginx ``auth_request``, Traefik ``ForwardAuth`` and Caddy ``forward_auth`` send the
gateway a copy of the request's headers. A live access token in ``Authorization:
Bearer …`` gets 200 with the caller's identity in ``X-Auth-User-Id``,
``X-Auth-Email`` and ``X-Auth-Session-Id``, for the proxy to hand to the upstream;
anything else gets 401. The session is checked against the database, as for every
signed-in GraphQL request, so a logout or revocation takes effect at once.

Only the bearer token counts, never the refresh cookie: that cookie is scoped to
the GraphQL endpoint (browsers do not send it to the app's other paths), and it is
a credential for minting access tokens, not for authorising requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from domain.errors import InvalidAccessToken
from resolvers.context import bearer_token
from web.http import error_response

if TYPE_CHECKING:
    from starlette.requests import Request

    from domain.services.identity import IdentityService

FORWARD_AUTH_PATH = "/auth/forward"
# auth_request subrequests are GETs; Traefik and Caddy may keep the original method.
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def forward_auth_route(identity: IdentityService) -> Route:
    async def forward_auth(request: Request) -> Response:
        try:
            token = bearer_token(request.headers.get("authorization"))
            if token is None:
                return _refused("Send an access token: Authorization: Bearer <accessToken>.", 'Bearer realm="gateway"')
            principal = await identity.authenticate(identity.read_access_token(token))
        except InvalidAccessToken:
            return _refused(
                "The access token is malformed, expired or its session has ended.",
                'Bearer realm="gateway", error="invalid_token"',
            )
        user = principal.user
        return Response(
            status_code=200,
            headers={
                "X-Auth-User-Id": str(user.id),
                "X-Auth-Email": header_safe(user.email),
                "X-Auth-Session-Id": str(principal.session_id),
            },
        )

    return Route(FORWARD_AUTH_PATH, forward_auth, methods=_METHODS)


def header_safe(email: str) -> str:
    """``email`` as is when ASCII; else percent-encoded UTF-8 (header values are bytes, not text)."""
    return email if email.isascii() else quote(email, safe="@")


def _refused(message: str, challenge: str) -> Response:
    return error_response(401, message, {"WWW-Authenticate": challenge}, code="UNAUTHENTICATED")
