"""bcrypt password hashing, run in a worker thread so the event loop stays free."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac

import bcrypt

# bcrypt reads only the first 72 bytes. Following OWASP's Password Storage Cheat
# Sheet, the password is first reduced with HMAC-SHA-384 and base64-encoded (no NUL
# bytes), so every character counts. The key is a fixed label, not a secret:
# rotating the server secret must not lock everyone out.
_PREHASH_KEY = b"auth-gateway/password/v1"


def _prehash(password: str) -> bytes:
    digest = hmac.new(_PREHASH_KEY, password.encode("utf-8"), hashlib.sha384).digest()
    return base64.b64encode(digest)


def _cost_of(password_hash: str) -> int | None:
    # "$2b$12$<salt+hash>"
    parts = password_hash.split("$")
    if len(parts) < 4 or not parts[2].isdigit():
        return None
    return int(parts[2])


class BcryptPasswordHasher:
    def __init__(self, cost: int = 12) -> None:
        self.cost = cost
        self._dummy_hash = bcrypt.hashpw(b"dummy password", bcrypt.gensalt(cost))

    def _hash_sync(self, password: str) -> str:
        return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(self.cost)).decode("ascii")

    @staticmethod
    def _verify_sync(password: str, password_hash: bytes) -> bool:
        try:
            return bcrypt.checkpw(_prehash(password), password_hash)
        except ValueError:  # not a bcrypt hash at all
            return False

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash_sync, password)

    async def verify(self, password: str, password_hash: str) -> bool:
        return await asyncio.to_thread(self._verify_sync, password, password_hash.encode("ascii"))

    async def verify_dummy(self, password: str) -> None:
        await asyncio.to_thread(self._verify_sync, password, self._dummy_hash)

    def needs_rehash(self, password_hash: str) -> bool:
        cost = _cost_of(password_hash)
        return cost is None or cost < self.cost
