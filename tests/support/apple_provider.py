"""A stand-in for Sign in with Apple, served on loopback (``tests.support.stand_in``).

It serves Apple's discovery document, ``/auth/keys``, ``/auth/authorize`` and ``/auth/token``
as Apple documents them:

- the authorization step answers with a page that POSTs the callback (``response_mode=form_post``,
  which Apple requires when ``name`` or ``email`` is asked for): ``code``, ``state`` and, on the
  person's first authorization of this client only, ``user`` (JSON with the name and address);
- the token endpoint takes the client secret in the form (``client_secret_post``) and checks it
  as Apple does: an ES256 JWT signed by the team's registered key (header ``kid``), ``iss`` the
  team id, ``sub`` the client id, ``aud`` the issuer, not expired and valid for six months at
  most; every secret it received is kept for tests (``client_secrets``);
- ID tokens (RS256) carry ``email_verified`` and ``is_private_email`` as the strings
  ``"true"``/``"false"``, as Apple's do.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.support.stand_in import StandInProvider, form_of, now, oauth_error, outage

SIX_MONTHS_SECONDS = 15_777_000  # what Apple allows a client secret to live
TEAM_ID = "TEAM123456"
KEY_ID = "KEY1234567"


@dataclass
class AppleStandIn(StandInProvider):
    client_id: str = "com.example.gateway"
    team_key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256"))  # the team's .p8 key
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorized: set[tuple[str, str]] = field(default_factory=set)  # (user, client): the name goes once
    client_secrets: list[str] = field(default_factory=list)

    def private_key_pem(self) -> str:
        return self.team_key.as_pem(private=True).decode()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/auth/keys", self._keys),
                Route("/auth/authorize", self.authorization_page, methods=["GET"]),
                Route("/auth/authorize", self._authorize, methods=["POST"]),
                Route("/auth/token", self._token, methods=["POST"]),
            ]
        )

    async def _discovery(self, _request: Request) -> Response:
        if self.down:
            return outage()
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/auth/authorize",
                "token_endpoint": f"{self.url}/auth/token",
                "revocation_endpoint": f"{self.url}/auth/revoke",
                "jwks_uri": f"{self.url}/auth/keys",
                "response_types_supported": ["code"],
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "name"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "claims_supported": [
                    "aud",
                    "email",
                    "email_verified",
                    "exp",
                    "iat",
                    "is_private_email",
                    "iss",
                    "nonce",
                    "nonce_supported",
                    "real_user_status",
                    "sub",
                    "transfer_sub",
                ],
            }
        )

    async def _keys(self, _request: Request) -> Response:
        return JSONResponse(self.jwks())

    async def _authorize(self, request: Request) -> Response:
        query, authorization = await self.chosen(request)
        scopes = set(query.get("scope", "").split())
        if scopes & {"name", "email"} and query.get("response_mode") != "form_post":
            return JSONResponse({"error": "invalid_request"}, status_code=400)  # Apple's rule
        fields = {"state": query["state"]}
        if authorization is None:
            fields["error"] = "user_cancelled_authorize"
        else:
            fields["code"] = self.new_code(authorization)
            first = (authorization.user, authorization.client_id) not in self.authorized
            self.authorized.add((authorization.user, authorization.client_id))
            profile = self.users[authorization.user]
            if first and "name" in scopes:
                fields["user"] = json.dumps(
                    {"name": profile.get("name", {}), "email": profile.get("email", "")}, separators=(",", ":")
                )
        inputs = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(value)}">' for name, value in fields.items()
        )
        # What Apple's page does: post the answer to the redirect URI from the browser.
        return HTMLResponse(
            f'<form method="post" action="{html.escape(query["redirect_uri"])}">{inputs}</form>'
            "<script>document.forms[0].submit()</script>"
        )

    def _secret_problem(self, secret: str) -> str | None:
        public_key = ECKey.import_key(self.team_key.as_dict(private=False))  # what Apple holds of the key
        try:
            token = jwt.decode(secret, public_key, algorithms=["ES256"])
        except (JoseError, ValueError):
            return "signature"
        claims, header = token.claims, token.header
        if header.get("kid") != KEY_ID:
            return "kid"
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": TEAM_ID},
            sub={"essential": True, "value": self.client_id},
            aud={"essential": True, "value": self.url},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as failure:
            return str(failure)
        if claims["exp"] - claims["iat"] > SIX_MONTHS_SECONDS:
            return "lifetime"
        return None

    async def _token(self, request: Request) -> Response:
        if self.down:
            return outage()
        form = await form_of(request)
        secret = form.get("client_secret", "")
        self.client_secrets.append(secret)
        if form.get("client_id") != self.client_id or self._secret_problem(secret) is not None:
            return oauth_error("invalid_client")
        authorization = self.redeemed(form, self.client_id)
        if authorization is None:
            return oauth_error("invalid_grant")
        profile = self.users[authorization.user]
        issued = now()
        claims = {
            "iss": self.url,
            "aud": self.client_id,
            "sub": authorization.user,
            "iat": issued,
            "exp": issued + 600,
            "auth_time": issued,
            "nonce_supported": True,
            "email": profile["email"],
            "email_verified": profile.get("email_verified", "true"),
            "is_private_email": "false",
            **({"nonce": authorization.nonce} if authorization.nonce else {}),
        }
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key, algorithms=["RS256"])
        return JSONResponse(
            {
                "access_token": "a0b1c2.stand-in.access",
                "token_type": "Bearer",
                "expires_in": 3600,
                "refresh_token": "r0b1c2.stand-in.refresh",
                "id_token": id_token,
            }
        )
