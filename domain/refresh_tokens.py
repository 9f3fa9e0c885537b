"""Refresh tokens: opaque, derived from their session's seed, kept only as hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


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
