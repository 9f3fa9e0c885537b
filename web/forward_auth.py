"""Forward auth: a reverse proxy asks the gateway whether a request may pass.

nginx ``auth_request``, Traefik ``ForwardAuth`` and Caddy ``forward_auth`` send the
gateway a copy of the request's headers. A live access token in ``Authorization:
Bearer …`` gets 200 with the caller's identity in ``X-Auth-User-Id``,
``X-Auth-Email`` and ``X-Auth-Session-Id``, for the proxy to hand to the upstream;
anything else gets 401. The session is checked against the database, as for every
signed-in GraphQL request, so a logout or revocation takes effect at once.

The answer also says how the session signed in: ``X-Auth-AAL`` (``aal2`` after a second
factor, else ``aal1``) and ``X-Auth-Methods`` (the token's RFC 8176 ``amr``). A proxy can
demand more for a route by setting, on its subrequest, ``X-Auth-Require-AAL: aal2`` (a
second factor) or ``X-Auth-Max-Age: <seconds>`` (a sign-in at most that old). A token
that falls short gets 401 with ``WWW-Authenticate: Bearer error="insufficient_user_authentication"``
and ``acr_values`` or ``max_age``, as RFC 9470 (OAuth 2.0 step-up authentication) describes:
the SPA signs in again, with its second factor.

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
AAL1, AAL2 = "aal1", "aal2"  # NIST SP 800-63B assurance levels: a password; a second factor too
# auth_request subrequests are GETs; Traefik and Caddy may keep the original method.
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def forward_auth_route(identity: IdentityService) -> Route:
    async def forward_auth(request: Request) -> Response:
        try:
            token = bearer_token(request.headers.get("authorization"))
            if token is None:
                return _refused("Send an access token: Authorization: Bearer <accessToken>.", 'Bearer realm="gateway"')
            claims = identity.read_access_token(token)
            principal = await identity.authenticate(claims)
        except InvalidAccessToken:
            return _refused(
                "The access token is malformed, expired or its session has ended.",
                'Bearer realm="gateway", error="invalid_token"',
            )
        demanded = _demands(request)
        if isinstance(demanded, Response):
            return demanded
        required_aal, max_age = demanded
        if identity.second_factor_required:  # SECOND_FACTOR_POLICY=required: every route
            required_aal = AAL2
        aal = AAL2 if claims.with_second_factor else AAL1
        if required_aal == AAL2 and aal != AAL2:
            return _refused(
                "This needs a sign-in with a second factor.",
                'Bearer realm="gateway", error="insufficient_user_authentication", '
                'error_description="A second factor is required", acr_values="aal2"',
            )
        if max_age is not None and not identity.signed_in_within(claims, max_age):
            return _refused(
                f"This needs a sign-in within the last {max_age} seconds.",
                'Bearer realm="gateway", error="insufficient_user_authentication", '
                f'error_description="A more recent sign-in is required", max_age={max_age}',
            )
        user = principal.user
        return Response(
            status_code=200,
            headers={
                "X-Auth-User-Id": str(user.id),
                "X-Auth-Email": header_safe(user.email),
                "X-Auth-Session-Id": str(principal.session_id),
                "X-Auth-AAL": aal,
                "X-Auth-Methods": " ".join(claims.amr),
            },
        )

    return Route(FORWARD_AUTH_PATH, forward_auth, methods=_METHODS)


def _demands(request: Request) -> tuple[str | None, int | None] | Response:
    """What the proxy demands of this route (``X-Auth-Require-AAL``, ``X-Auth-Max-Age``), or the
    400 that names a value the gateway does not understand (a proxy configuration to fix)."""
    required = request.headers.get("x-auth-require-aal")
    if required is not None and required.strip().lower() not in {AAL1, AAL2}:
        return error_response(400, "X-Auth-Require-AAL must be aal1 or aal2.", code="BAD_REQUEST")
    raw_max_age = request.headers.get("x-auth-max-age")
    max_age = None
    if raw_max_age is not None:
        text = raw_max_age.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 9):
            return error_response(400, "X-Auth-Max-Age must be a whole number of seconds.", code="BAD_REQUEST")
        max_age = int(text)
    return (required.strip().lower() if required else None), max_age


def header_safe(email: str) -> str:
    """``email`` as is when ASCII; else percent-encoded UTF-8 (header values are bytes, not text)."""
    return email if email.isascii() else quote(email, safe="@")


def _refused(message: str, challenge: str) -> Response:
    return error_response(401, message, {"WWW-Authenticate": challenge}, code="UNAUTHENTICATED")
