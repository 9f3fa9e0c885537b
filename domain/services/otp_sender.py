from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from domain import messages
from domain.entities import AuditEventType, OtpChallenge, OtpPurpose, OtpSent

if TYPE_CHECKING:
    from datetime import datetime

    from domain.entities import Client, User
    from domain.otp import OtpCodes
    from domain.policy import AuthPolicy
    from domain.ports import Clock, Mailer, UnitOfWork
    from domain.services.audit import AuditTrail


class OtpSender:
    """Replaces a user's pending code with a new one and mails it.

    Runs inside the caller's unit of work and mails before the caller commits, so a
    refused message rolls the new code back and the previous one stays valid.
    """

    def __init__(self, codes: OtpCodes, mailer: Mailer, clock: Clock, policy: AuthPolicy, audit: AuditTrail) -> None:
        self._audit = audit
        self._codes = codes
        self._mailer = mailer
        self._clock = clock
        self._policy = policy

    def expiry_from_now(self) -> datetime:
        """When a code sent now would expire; also what a no-code answer must show."""
        return self._clock.now() + self._policy.otp_lifetime

    async def send(
        self, uow: UnitOfWork, user: User, client: Client, purpose: OtpPurpose = OtpPurpose.VERIFY_EMAIL
    ) -> OtpSent:
        now = self._clock.now()
        code = self._codes.generate()
        challenge = OtpChallenge(
            id=uuid.uuid4(),
            user_id=user.id,
            purpose=purpose,
            code_hmac=self._codes.digest(user.id, purpose, code),
            expires_at=now + self._policy.otp_lifetime,
            attempts=0,
            created_at=now,
        )
        await uow.otps.replace(challenge)
        await self._audit.record(uow, AuditEventType.CODE_SENT, client, user.id, detail=purpose.value)
        lifetime_seconds = int(self._policy.otp_lifetime.total_seconds())
        await self._mailer.send(
            messages.verification_code(user.email, self._policy.product_name, code, lifetime_seconds)
        )
        return OtpSent(email=user.email, expires_at=challenge.expires_at)
