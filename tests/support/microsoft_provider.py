"""A stand-in for Microsoft Entra ID's v2.0 endpoints, served on loopback (``tests.support.stand_in``).

Each authority path ``/{tenant}`` (``common``, ``organizations``, ``consumers`` or a tenant id)
serves ``/{tenant}/v2.0/.well-known/openid-configuration``, ``/{tenant}/discovery/v2.0/keys``,
``/{tenant}/oauth2/v2.0/authorize`` and ``/{tenant}/oauth2/v2.0/token``. Discovery's ``issuer``
is Microsoft's: the template ``{authority}/{tenantid}/v2.0`` for ``common`` and
``organizations``, the tenant's own for a tenant id (and for ``consumers``, the personal
accounts' tenant). ID tokens (RS256) carry what Microsoft's v2.0 tokens carry: ``iss`` of the
user's tenant, ``tid``, ``oid``, a pairwise ``sub`` (per user and application), ``email``
(unverified: whatever the tenant wrote), ``name``, ``preferred_username``, ``nonce``, ``ver``.

``users`` maps a user id to its claims (``tid`` and ``email`` at least); any other claim given
there (``iss``, ``tid``) replaces the one the stand-in would write: how tests make a token lie.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.stand_in import (
    StandInProvider,
    client_credentials,
    form_of,
    now,
    oauth_error,
    outage,
    redirect_to,
)

CONSUMERS_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"  # Microsoft's tenant of personal accounts
TENANT_A = "72f988bf-86f1-41af-91ab-2d7cd011db47"
TENANT_B = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"


@dataclass
class MicrosoftStandIn(StandInProvider):
    client_id: str = "gateway"
    client_secret: str = ""
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/{tenant}/v2.0/.well-known/openid-configuration", self._discovery),
                Route("/{tenant}/discovery/v2.0/keys", self._keys),
                Route("/{tenant}/oauth2/v2.0/authorize", self.authorization_page, methods=["GET"]),
                Route("/{tenant}/oauth2/v2.0/authorize", self._authorize, methods=["POST"]),
                Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
            ]
        )

    def issuer_of(self, tenant: str) -> str:
        return f"{self.url}/{tenant}/v2.0"

    async def _discovery(self, request: Request) -> Response:
        if self.down:
            return outage()
        tenant = request.path_params["tenant"]
        base = f"{self.url}/{tenant}"
        issuer = {"common": "{tenantid}", "organizations": "{tenantid}", "consumers": CONSUMERS_TENANT}.get(
            tenant, tenant
        )
        return JSONResponse(
            {
                "issuer": self.issuer_of(issuer),
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "tid", "oid", "email", "name"],
                "tenant_region_scope": None,
            }
        )

    async def _keys(self, _request: Request) -> Response:
        return JSONResponse(self.jwks())

    async def _authorize(self, request: Request) -> Response:
        query, authorization = await self.chosen(request)
        if authorization is None:
            return redirect_to(
                query["redirect_uri"], error="access_denied", error_description="AADSTS65004", state=query["state"]
            )
        return redirect_to(authorization.redirect_uri, code=self.new_code(authorization), state=query["state"])

    async def _token(self, request: Request) -> Response:
        if self.down:
            return outage()
        form = await form_of(request)
        client_id, secret = client_credentials(request, form)
        if client_id != self.client_id or secret != self.client_secret:
            return oauth_error("invalid_client", 401)
        authorization = self.redeemed(form, client_id)
        if authorization is None:
            return oauth_error("invalid_grant")
        user = dict(self.users[authorization.user])
        oid = user.pop("oid", hashlib.sha256(authorization.user.encode()).hexdigest()[:32])
        issued = now()
        claims = {
            "ver": "2.0",
            "iss": self.issuer_of(user["tid"]),
            "aud": client_id,
            # pairwise: one value per user and application
            "sub": hashlib.sha256(f"{oid}:{client_id}".encode()).hexdigest()[:43],
            "oid": oid,
            "iat": issued,
            "nbf": issued,
            "exp": issued + 3600,
            "preferred_username": user.get("email", ""),
            "name": "Ada Lovelace",
            **({"nonce": authorization.nonce} if authorization.nonce else {}),
            **user,
        }
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key, algorithms=["RS256"])
        return JSONResponse(
            {
                "token_type": "Bearer",
                "scope": authorization.scope,
                "expires_in": 3600,
                "access_token": "eyJ0eXAiOi.stand-in.access",
                "id_token": id_token,
            }
        )
