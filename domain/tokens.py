"""Access tokens (signed JWTs) and refresh tokens (opaque, derived, hashed at rest)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from typing import TYPE_CHECKING, Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from domain.entities import AccessClaims
from domain.errors import InvalidAccessToken

if TYPE_CHECKING:
    from datetime import datetime

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret


class AccessTokenCodec:
    """Issues and checks access tokens (RFC 9068 ``at+jwt``).

    Decoding accepts only the configured algorithm and checks the issuer, the
    audience, the expiry and the ``typ`` header, so a refresh token, an ID token
    from elsewhere or an ``alg: none`` forgery is refused.
    """

    def __init__(
        self,
        key: bytes,
        issuer: str,
        audience: str,
        lifetime_seconds: int,
        algorithm: str = "HS256",
    ) -> None:
        self._key = OctKey.import_key(key)
        self.issuer = issuer
        self.audience = audience
        self.lifetime_seconds = lifetime_seconds
        self.algorithm = algorithm

    def issue(self, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime) -> str:
        issued_at = int(now.timestamp())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "sid": str(session_id),
            "iat": issued_at,
            "exp": issued_at + self.lifetime_seconds,
            "jti": uuid.uuid4().hex,
        }
        header = {"alg": self.algorithm, "typ": ACCESS_TOKEN_TYPE}
        return jwt.encode(header, claims, self._key, algorithms=[self.algorithm])

    def decode(self, token: str, now: datetime) -> AccessClaims:
        try:
            decoded = jwt.decode(token, self._key, algorithms=[self.algorithm])
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
            )
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidAccessToken from exc


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class RefreshTokenMinter:
    """Derives the refresh tokens of a session from its seed and a counter.

    token(g) = HMAC(HMAC(server key, seed), g), 256 bits. The database keeps the
    seed and the SHA-256 of each token; without the server key neither yields a
    token, yet the server can recompute the family's current token, which is what
    lets a repeat inside the grace window get the same successor instead of a
    second live branch.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    @staticmethod
    def new_family_seed() -> bytes:
        return secrets.token_bytes(32)

    def token(self, family_seed: bytes, generation: int) -> str:
        family_key = hmac.new(self._key, b"family:" + family_seed, hashlib.sha256).digest()
        raw = hmac.new(family_key, generation.to_bytes(8, "big"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
