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
VERIFIED_TOKENS_KEPT = 4096  # about 5 MiB at most: the tokens of that many recently active sessions


class AccessTokenCodec:
    """Issues and checks access tokens (RFC 9068 ``at+jwt``).

    Tokens are signed by the signing key of ``keys`` and carry its ``kid``; decoding
    picks the verifying key by the token's ``kid`` (no kid: the signing key; an
    unknown kid: refused), accepts only the configured algorithm and checks the
    issuer, the audience, the expiry and the ``typ`` header, so a refresh token, an
    ID token from elsewhere or an ``alg: none`` forgery is refused.

    A token that passed is remembered, keyed by its whole text, with its claims: its
    signature and claims cannot change, so the next request with the very same token
    skips the signature and the parsing, and only the time is checked again (the token
    must still be valid: ``iat`` and ``nbf`` passed, ``exp`` not). No other text can
    hit the entry. The verifying keys are fixed for the life of the process. What the
    token is worth still depends on its session, which the caller checks on every
    request. The oldest entries give way beyond ``VERIFIED_TOKENS_KEPT``.
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
        self._verified: dict[str, tuple[AccessClaims, int]] = {}  # token -> its claims, valid from

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
        moment = int(now.timestamp())
        remembered = self._verified.get(token)
        if remembered is not None:
            claims, valid_from = remembered
            if valid_from <= moment < claims.expires_at:
                return claims
            del self._verified[token]  # expired: checked in full below, and refused
        claims, valid_from = self._verify(token, moment)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (claims, valid_from)
        return claims

    def _verify(self, token: str, moment: int) -> tuple[AccessClaims, int]:
        """The token's claims, and from when it is valid (its ``iat`` or ``nbf``, whichever is later).

        Raises:
            InvalidAccessToken: anything wrong with it.
        """
        try:
            decoded = jwt.decode(token, self._verifying_key, registry=self._registry)
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidAccessToken from exc
        if decoded.header.get("typ") != ACCESS_TOKEN_TYPE:
            raise InvalidAccessToken
        registry = jwt.JWTClaimsRegistry(
            now=moment,
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
            valid_from = max(int(claims.get("iat", 0)), int(claims.get("nbf", 0)))
            verified = AccessClaims(
                user_id=uuid.UUID(str(claims["sub"])),
                session_id=uuid.UUID(str(claims["sid"])),
                token_id=str(claims["jti"]),
                expires_at=int(claims["exp"]),
                amr=_methods(claims.get("amr", ["pwd"])),
                auth_time=int(claims["auth_time"]) if "auth_time" in claims else None,
            )
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidAccessToken from exc
        return verified, valid_from

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
