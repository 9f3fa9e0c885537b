"""Discovery for services that verify access tokens themselves: the JWK Set and where to find it.

``/.well-known/jwks.json`` publishes the public keys that verify access tokens
(RFC 7517); ``/.well-known/openid-configuration`` names the issuer and that URL,
which is how most JWT middlewares find the keys from an issuer. It announces no
endpoint the gateway does not have: this is not an OpenID provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from collections.abc import Mapping

    from starlette.requests import Request

JWKS_PATH = "/.well-known/jwks.json"
OPENID_CONFIGURATION_PATH = "/.well-known/openid-configuration"
# How long verifiers may cache the documents: a new key is published at least this long
# before it signs (docs/signing-keys.md), so no verifier meets an unknown kid.
CACHE_SECONDS = 300


def well_known_routes(jwks: Mapping[str, Any], issuer: str, public_url: str | None) -> list[Route]:
    """The two documents, for ``jwks`` (public keys only) and tokens whose ``iss`` is ``issuer``.

    ``public_url`` (PUBLIC_URL) is the gateway's external base URL; without it the
    JWKS address is built from the request (Host, and the scheme a trusted proxy
    reports), so that answer is not for shared caches.
    """
    cached = {"Cache-Control": f"public, max-age={CACHE_SECONDS}"}

    async def jwks_document(_request: Request) -> JSONResponse:
        return JSONResponse(jwks, headers=cached)

    async def openid_configuration(request: Request) -> JSONResponse:
        base_url = public_url or str(request.base_url).rstrip("/")
        document = {"issuer": issuer, "jwks_uri": base_url + JWKS_PATH}
        headers = cached if public_url else {"Cache-Control": f"private, max-age={CACHE_SECONDS}"}
        return JSONResponse(document, headers=headers)

    return [
        Route(JWKS_PATH, jwks_document, methods=["GET"]),
        Route(OPENID_CONFIGURATION_PATH, openid_configuration, methods=["GET"]),
    ]
