"""Access tokens: signed JWTs (RFC 9068 ``at+jwt``), issued and checked with joserfc."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from joserfc import jwt
from joserfc.errors import JoseError

from domain.entities import AccessClaims
from domain.errors import InvalidAccessToken
from security.signing_keys import AccessTokenKeys, jws_registry

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from joserfc.jwk import GuestProtocol, Key

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret


class AccessTokenCodec:
    """Issues and checks access tokens (RFC 9068 ``at+jwt``).

    Tokens are signed by the signing key of ``keys`` and carry its ``kid``; decoding
    picks the verifying key by the token's ``kid`` (no kid: the signing key; an
    unknown kid: refused), accepts only the configured algorithm and checks the
    issuer, the audience, the expiry and the ``typ`` header, so a refresh token, an
    ID token from elsewhere or an ``alg: none`` forgery is refused.
    """

    def __init__(
        self,
        keys: AccessTokenKeys | bytes,
        issuer: str,
        audience: str,
        lifetime_seconds: int,
    ) -> None:
        """``keys`` as bytes: an HS256 key, e.g. the one derived from the server secret."""
        self.keys = keys if isinstance(keys, AccessTokenKeys) else AccessTokenKeys.symmetric(keys)
        self.issuer = issuer
        self.audience = audience
        self.lifetime_seconds = lifetime_seconds
        self._registry = jws_registry(self.keys.algorithm)

    @property
    def algorithm(self) -> str:
        return self.keys.algorithm

    def public_jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWK Set of the public keys that verify (empty for HS256)."""
        return self.keys.jwks()

    def issue(
        self,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        now: datetime,
        amr: Sequence[str] = ("pwd",),
        auth_time: datetime | None = None,
    ) -> str:
        issued_at = int(now.timestamp())
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "sid": str(session_id),
            "iat": issued_at,
            "exp": issued_at + self.lifetime_seconds,
            "jti": uuid.uuid4().hex,
            "amr": list(amr),  # RFC 8176: how the session authenticated
            "auth_time": int((auth_time or now).timestamp()),
        }
        signer = self.keys.signer
        header = {"alg": signer.algorithm, "typ": ACCESS_TOKEN_TYPE, "kid": signer.kid}
        return jwt.encode(header, claims, signer.key, registry=self._registry)

    def decode(self, token: str, now: datetime) -> AccessClaims:
        try:
            decoded = jwt.decode(token, self._verifying_key, registry=self._registry)
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidAccessToken from exc
        if decoded.header.get("typ") != ACCESS_TOKEN_TYPE:
            raise InvalidAccessToken
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
            sub={"essential": True},
            sid={"essential": True},
            jti={"essential": True},
        )
        claims: dict[str, Any] = decoded.claims
        try:
            registry.validate(claims)
            return AccessClaims(
                user_id=uuid.UUID(str(claims["sub"])),
                session_id=uuid.UUID(str(claims["sid"])),
                token_id=str(claims["jti"]),
                expires_at=int(claims["exp"]),
                amr=_methods(claims.get("amr", ["pwd"])),
                auth_time=int(claims["auth_time"]) if "auth_time" in claims else None,
            )
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidAccessToken from exc

    def _verifying_key(self, token: GuestProtocol) -> Key:
        # Called by joserfc once the header's alg is known to be the configured one.
        key = self.keys.verifier(token.headers().get("kid"))
        if key is None:
            raise InvalidAccessToken  # a kid this gateway does not (or no longer) verify
        return key


def _methods(amr: object) -> tuple[str, ...]:
    """The ``amr`` claim: a list of strings (tokens from before it was issued have none: "pwd")."""
    if not (isinstance(amr, list) and all(isinstance(method, str) for method in amr)):
        raise ValueError("amr is not a list of strings")
    return tuple(amr)
