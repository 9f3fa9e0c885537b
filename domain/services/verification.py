from __future__ import annotations

from typing import TYPE_CHECKING

from domain.entities import OtpPurpose
from domain.errors import InvalidOtp, OtpExpired, TooManyAttempts
from domain.otp import CODE_DIGITS
from domain.validation import InputCollector, normalise_email

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.entities import SignedIn
    from domain.otp import OtpCodes
    from domain.policy import AuthPolicy
    from domain.ports import Clock, UnitOfWork
    from domain.services.session_starter import SessionStarter


class VerificationService:
    """Confirms an address with the mailed code and signs its owner in."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        codes: OtpCodes,
        sessions: SessionStarter,
        clock: Clock,
        policy: AuthPolicy,
    ) -> None:
        self._uow = uow
        self._codes = codes
        self._sessions = sessions
        self._clock = clock
        self._policy = policy

    async def verify(self, email: str, code: str) -> SignedIn:
        """Check ``code`` for ``email``.

        Raises:
            InvalidInput: the address or the code is not even well-formed.
            InvalidOtp: unknown address, wrong code, or an address already verified.
            OtpExpired: the right code, too late.
            TooManyAttempts: this code has had its allowed wrong tries; ask for a new one.
        """
        errors = InputCollector()
        email = normalise_email(email, errors)
        code = code.strip()
        if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
            errors.add("code", f"Enter the {CODE_DIGITS}-digit code from the e-mail.")
        errors.raise_if_any()

        async with self._uow() as uow:
            user = await uow.users.get_by_email(email)
            if user is None or user.email_verified:
                raise InvalidOtp
            challenge = await uow.otps.get_for_update(user.id, OtpPurpose.VERIFY_EMAIL)
            if challenge is None:
                raise InvalidOtp
            if challenge.attempts >= self._policy.otp_max_attempts:
                raise TooManyAttempts
            if not self._codes.matches(user.id, challenge.purpose, code, challenge.code_hmac):
                challenge.attempts += 1
                await uow.otps.save(challenge)
                await uow.commit()
                if challenge.attempts >= self._policy.otp_max_attempts:
                    raise TooManyAttempts
                raise InvalidOtp
            if self._clock.now() >= challenge.expires_at:
                raise OtpExpired
            await uow.otps.delete(challenge)
            user.email_verified = True
            await uow.users.save(user)
            signed_in = await self._sessions.start(uow, user)
            await uow.commit()
            return signed_in
