"""bcrypt password hashing, run in worker threads of lower priority so the event loop stays free."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

import bcrypt

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

# How much less the hashing threads weigh with the kernel's scheduler than the event loop's
# (nice 10 is about a tenth of nice 0): during a storm of sign-ins every other request still
# gets a core at once, and the hashes take whatever CPU is left, which is all of it otherwise.
HASHING_NICENESS = 10


def _lower_priority() -> None:
    """Make the calling (new worker) thread nicer; where the system will not, it stays as it is."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux-like, or not allowed
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


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
        # One thread per core: more would only share the cores among more hashes at once.
        self._threads = ThreadPoolExecutor(
            max_workers=os.cpu_count() or 1, thread_name_prefix="bcrypt", initializer=_lower_priority
        )

    async def _in_thread(self, work: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)

    def _hash_sync(self, password: str) -> str:
        return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(self.cost)).decode("ascii")

    @staticmethod
    def _verify_sync(password: str, password_hash: bytes) -> bool:
        try:
            return bcrypt.checkpw(_prehash(password), password_hash)
        except ValueError:  # not a bcrypt hash at all
            return False

    async def hash(self, password: str) -> str:
        return await self._in_thread(self._hash_sync, password)

    async def verify(self, password: str, password_hash: str) -> bool:
        return await self._in_thread(self._verify_sync, password, password_hash.encode("ascii"))

    async def verify_dummy(self, password: str) -> None:
        await self._in_thread(self._verify_sync, password, self._dummy_hash)

    def needs_rehash(self, password_hash: str) -> bool:
        cost = _cost_of(password_hash)
        return cost is None or cost < self.cost
