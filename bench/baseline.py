"""The bench's baseline: what answering ``me`` costs without GraphQL and without a database.

A bare Starlette app on the same uvicorn that reads the POSTed JSON, verifies the bearer
access token exactly as the gateway's ``AccessTokenCodec.decode`` does (joserfc, the
configured algorithm only, the public half of the gateway's signing key picked by ``kid``,
``typ: at+jwt``, issuer, audience, expiry and the essential claims) and answers the very
bytes the gateway answered for the bench user's ``me``, hard-coded by the bench. The
gateway's ``me`` throughput is read as a fraction of this one's.

Run by ``bench/run.py`` as ``python -m bench.baseline`` with BENCH_PUBLIC_KEYS (a JWK, JWK
Set or PEM of the verification keys), BENCH_ALGORITHM, BENCH_ISSUER, BENCH_AUDIENCE,
BENCH_ME_BODY (the response body), HOST and PORT in the environment.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any, cast

import uvicorn
from joserfc import jwt
from joserfc.errors import JoseError
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from security.signing_keys import AsymmetricAlgorithm, jws_registry, keys_by_kid, load_keys

if TYPE_CHECKING:
    from joserfc.jwk import GuestProtocol, Key
    from starlette.requests import Request

UNAUTHENTICATED = b'{"data":{"me":null},"errors":[{"message":"Not signed in","extensions":{"code":"UNAUTHENTICATED"}}]}'


class TokenVerifier:
    """``AccessTokenCodec.decode``'s checks, on public keys only."""

    def __init__(self, public_keys: str, algorithm: AsymmetricAlgorithm, issuer: str, audience: str) -> None:
        self._keys = {
            kid: key.key for kid, key in keys_by_kid(load_keys(public_keys, "public keys", algorithm)).items()
        }
        self._registry = jws_registry(algorithm)
        self._issuer = issuer
        self._audience = audience

    def _key(self, token: GuestProtocol) -> Key:
        kid = token.headers().get("kid")
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise ValueError("unknown kid")
        return key

    def valid(self, token: str) -> bool:
        try:
            decoded = jwt.decode(token, self._key, registry=self._registry)
            if decoded.header.get("typ") != "at+jwt":
                return False
            claims: dict[str, Any] = decoded.claims
            jwt.JWTClaimsRegistry(
                now=int(time.time()),
                iss={"essential": True, "value": self._issuer},
                aud={"essential": True, "value": self._audience},
                exp={"essential": True},
                sub={"essential": True},
                sid={"essential": True},
                jti={"essential": True},
            ).validate(claims)
        except (JoseError, ValueError, TypeError):
            return False
        return True


def create_app(verifier: TokenVerifier, me_body: bytes) -> Starlette:
    async def graphql(request: Request) -> Response:
        json.loads(await request.body())  # the gateway parses the request too
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        valid = scheme.lower() == "bearer" and verifier.valid(token.strip())
        return Response(me_body if valid else UNAUTHENTICATED, media_type="application/json")

    async def healthz(_request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)])


def main() -> None:
    verifier = TokenVerifier(
        os.environ["BENCH_PUBLIC_KEYS"],
        cast("AsymmetricAlgorithm", os.environ.get("BENCH_ALGORITHM", "EdDSA")),
        os.environ["BENCH_ISSUER"],
        os.environ["BENCH_AUDIENCE"],
    )
    app = create_app(verifier, os.environ["BENCH_ME_BODY"].encode("utf-8"))
    # As server.py runs the gateway: uvicorn's defaults, no access log, no proxy headers.
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ["PORT"]),
        proxy_headers=False,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
