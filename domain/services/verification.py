from __future__ import annotations

from typing import TYPE_CHECKING

from domain.entities import UNKNOWN_CLIENT, AuditEventType, OtpPurpose, email_key
from domain.errors import AuthError, InvalidOtp
from domain.services.throttle import VERIFY_PER_ACCOUNT, VERIFY_PER_IP
from domain.validation import InputCollector, normalise_email

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from domain.entities import Client, SignedIn, User
    from domain.ports import UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.otp_checker import OtpChecker
    from domain.services.session_starter import SessionStarter
    from domain.services.throttle import Throttle


class VerificationService:
    """Confirms an address with the mailed code and signs its owner in."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        checker: OtpChecker,
        sessions: SessionStarter,
        throttle: Throttle,
        audit: AuditTrail,
    ) -> None:
        self._throttle = throttle
        self._audit = audit
        self._uow = uow
        self._checker = checker
        self._sessions = sessions

    async def verify(self, email: str, code: str, client: Client = UNKNOWN_CLIENT) -> SignedIn:
        """Check ``code`` for ``email``.

        Raises:
            InvalidInput: the address or the code is not even well-formed.
            InvalidOtp: unknown address, wrong code, or an address already verified.
            OtpExpired: the right code, too late.
            TooManyAttempts: this code has had its allowed wrong tries; ask for a new one.
            RateLimited: too many tries from this client or for this address.
        """
        await self._throttle.check_client(VERIFY_PER_IP, client)
        errors = InputCollector()
        email = normalise_email(email, errors)
        code = self._checker.normalise(code, errors)
        errors.raise_if_any()
        await self._throttle.check(VERIFY_PER_ACCOUNT, email_key(email), client)

        user_id: UUID | None = None
        try:
            async with self._uow() as uow:
                user = await uow.users.get_by_email(email)
                user_id = user.id if user else None
                signed_in = await self._verify(uow, user, code, client)
        except AuthError as failure:
            await self._audit.record_alone(AuditEventType.VERIFY_FAILED, client, user_id, type(failure).__name__)
            raise
        return signed_in

    async def _verify(self, uow: UnitOfWork, user: User | None, code: str, client: Client) -> SignedIn:
        if user is None or user.email_verified:
            raise InvalidOtp
        await self._checker.consume(uow, user.id, OtpPurpose.VERIFY_EMAIL, code)
        user.email_verified = True
        await uow.users.save(user)
        signed_in = await self._sessions.start(uow, user, client)
        await self._audit.record(uow, AuditEventType.VERIFY_SUCCEEDED, client, user.id)
        await uow.commit()
        return signed_in
