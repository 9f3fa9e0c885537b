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

from domain.entities import AccessClaims
from domain.errors import InvalidAccessToken
from domain.signing_keys import AccessTokenKeys, jws_registry

if TYPE_CHECKING:
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
            )
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidAccessToken from exc

    def _verifying_key(self, token: GuestProtocol) -> Key:
        # Called by joserfc once the header's alg is known to be the configured one.
        key = self.keys.verifier(token.headers().get("kid"))
        if key is None:
            raise InvalidAccessToken  # a kid this gateway does not (or no longer) verify
        return key


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
