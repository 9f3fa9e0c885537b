"""One-time codes: drawn from ``secrets``, kept only as an HMAC."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uuid import UUID

    from domain.entities import OtpPurpose

CODE_DIGITS = 6


class OtpCodes:
    def __init__(self, key: bytes) -> None:
        self._key = key

    @staticmethod
    def generate() -> str:
        return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"

    def digest(self, user_id: UUID, purpose: OtpPurpose, code: str) -> str:
        # Binding the user and purpose means a stored HMAC is useless for any other account.
        message = f"{user_id}:{purpose.value}:{code}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def matches(self, user_id: UUID, purpose: OtpPurpose, code: str, code_hmac: str) -> bool:
        return hmac.compare_digest(self.digest(user_id, purpose, code), code_hmac)
