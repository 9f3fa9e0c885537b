from __future__ import annotations

from typing import TYPE_CHECKING

from domain.errors import InvalidOtp, OtpExpired, TooManyAttempts
from domain.otp import CODE_DIGITS

if TYPE_CHECKING:
    from uuid import UUID

    from domain.entities import OtpChallenge, OtpPurpose
    from domain.otp import OtpCodes
    from domain.policy import AuthPolicy
    from domain.ports import Clock, UnitOfWork
    from domain.validation import InputCollector


class OtpChecker:
    """The rules every mailed code obeys: right digits, in time, single use, a few tries."""

    def __init__(self, codes: OtpCodes, clock: Clock, policy: AuthPolicy) -> None:
        self._codes = codes
        self._clock = clock
        self._policy = policy

    @staticmethod
    def normalise(code: str, errors: InputCollector, field: str = "code") -> str:
        """The code without surrounding spaces; a problem recorded unless it is six digits."""
        code = code.strip()
        if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
            errors.add(field, f"Enter the {CODE_DIGITS}-digit code from the e-mail.")
        return code

    async def consume(self, uow: UnitOfWork, user_id: UUID, purpose: OtpPurpose, code: str) -> OtpChallenge:
        """Spend the user's pending code of ``purpose`` if ``code`` is it; the caller commits.

        A wrong code counts one try and commits the unit of work at once (the try
        must count whatever the caller does next), then raises.

        Raises:
            InvalidOtp: no pending code, or a wrong one.
            TooManyAttempts: the code has had its allowed wrong tries.
            OtpExpired: the right code, too late.
        """
        challenge = await uow.otps.get_for_update(user_id, purpose)
        if challenge is None:
            raise InvalidOtp
        if challenge.attempts >= self._policy.otp_max_attempts:
            raise TooManyAttempts
        if not self._codes.matches(user_id, purpose, code, challenge.code_hmac):
            challenge.attempts += 1
            await uow.otps.save(challenge)
            await uow.commit()
            if challenge.attempts >= self._policy.otp_max_attempts:
                raise TooManyAttempts
            raise InvalidOtp
        if self._clock.now() >= challenge.expires_at:
            raise OtpExpired
        await uow.otps.delete(challenge)
        return challenge
