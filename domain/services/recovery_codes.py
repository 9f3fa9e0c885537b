"""Recovery codes: ten single-use codes that stand in for an account's second factors when the
person has lost them, kept only as HMACs under a server key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uuid import UUID

    from domain.ports import UnitOfWork

RECOVERY_CODES = 10
RECOVERY_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud, typed from paper
RECOVERY_CODE_LENGTH = 10  # about 49 bits each, shown as xxxxx-xxxxx


class RecoveryCodeBook:
    def __init__(self, key: bytes) -> None:
        self._key = key

    async def first(self, uow: UnitOfWork, user_id: UUID) -> list[str]:
        """With the account's first second factor: new codes (to be shown once). With a later
        one: none (``[]``): the codes made before still stand."""
        if await uow.factors.count_recovery_codes(user_id):
            return []
        return await self.new(uow, user_id)

    async def new(self, uow: UnitOfWork, user_id: UUID) -> list[str]:
        """New codes for the account, voiding every earlier one; as the person sees them."""
        raw = [
            "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
            for _ in range(RECOVERY_CODES)
        ]
        await uow.factors.replace_recovery_codes(user_id, [self.hash(code) for code in raw])
        return [f"{code[:5]}-{code[5:]}" for code in raw]

    def hash(self, code: str) -> str:
        """The stored form of a normalised code (lower case, no dash)."""
        return hmac.new(self._key, code.encode("ascii"), hashlib.sha256).hexdigest()
