"""bcrypt is slow by design; it must never run on the event loop's thread."""

from __future__ import annotations

import os
import threading

import bcrypt
import pytest

from security.passwords import HASHING_NICENESS, BcryptPasswordHasher


async def test_hashing_and_checking_run_in_worker_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []
    real_hashpw, real_checkpw = bcrypt.hashpw, bcrypt.checkpw

    def hashpw(password: bytes, salt: bytes) -> bytes:
        seen.append(threading.get_ident())
        return real_hashpw(password, salt)

    def checkpw(password: bytes, hashed: bytes) -> bool:
        seen.append(threading.get_ident())
        return real_checkpw(password, hashed)

    hasher = BcryptPasswordHasher(cost=4)
    monkeypatch.setattr(bcrypt, "hashpw", hashpw)
    monkeypatch.setattr(bcrypt, "checkpw", checkpw)

    hashed = await hasher.hash("a password")
    assert await hasher.verify("a password", hashed)
    await hasher.verify_dummy("a password")

    assert len(seen) == 3
    assert loop_thread not in seen


async def test_hashing_threads_yield_to_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scheduler favours the loop's thread over a hash: nice 10 against the loop's own."""
    niceness: list[int] = []
    real_checkpw = bcrypt.checkpw

    def checkpw(password: bytes, hashed: bytes) -> bool:
        niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return real_checkpw(password, hashed)

    hasher = BcryptPasswordHasher(cost=4)
    monkeypatch.setattr(bcrypt, "checkpw", checkpw)
    await hasher.verify_dummy("a password")
    loop_niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert niceness == [min(loop_niceness + HASHING_NICENESS, 19)]
