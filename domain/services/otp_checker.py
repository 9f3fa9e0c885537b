from __future__ import annotations

from typing import TYPE_CHECKING

from domain.errors import InvalidOtp, OtpExpired, TooManyAttempts
from domain.otp import CODE_DIGITS
from domain.services.refusals import Counted

if TYPE_CHECKING:
    from uuid import UUID

    from domain.entities import Client, OtpChallenge, OtpPurpose
    from domain.otp import OtpCodes
    from domain.ports import Clock, UnitOfWork
    from domain.services.code_tries import CodeTries
    from domain.validation import InputCollector


class OtpChecker:
    """The rules every mailed code obeys: right digits, in time, single use, a few tries."""

    def __init__(self, codes: OtpCodes, clock: Clock, tries: CodeTries) -> None:
        self._codes = codes
        self._clock = clock
        self._tries = tries

    @staticmethod
    def normalise(code: str, errors: InputCollector, field: str = "code") -> str:
        """The code without surrounding spaces; a problem recorded unless it is six digits."""
        code = code.strip()
        if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
            errors.add(field, f"Enter the {CODE_DIGITS}-digit code from the e-mail.")
        return code

    async def consume(
        self,
        uow: UnitOfWork,
        purpose: OtpPurpose,
        subject: str,
        user_id: UUID | None,
        code: str,
        client: Client,
    ) -> OtpChallenge:
        """Spend ``user_id``'s pending code of ``purpose`` if ``code`` is it; the caller commits.

        ``user_id`` is ``None`` when no account may take a code here (unknown
        address, already verified): the try is counted all the same, against
        ``subject`` (``code_subject``), so the answers never tell the two apart.
        A wrong code is counted in the unit of work and raised as ``Counted``: the
        caller opens it with ``committing_refusals``, so the try counts whatever the
        caller does next.

        Raises:
            Counted: carrying InvalidOtp (no pending code, or a wrong one) or
                TooManyAttempts (that was the last try).
            TooManyAttempts: the code had had its allowed wrong tries; nothing counted.
            OtpExpired: the right code, too late.
        """
        counters = await self._tries.admit(uow, purpose, subject, client)
        challenge = None if user_id is None else await uow.otps.get_for_update(user_id, purpose)
        if challenge is None or not self._codes.matches(challenge.user_id, purpose, code, challenge.code_hmac):
            exhausted = await self._tries.failed(uow, counters)
            raise Counted(TooManyAttempts() if exhausted else InvalidOtp())
        if self._clock.now() >= challenge.expires_at:
            raise OtpExpired
        await uow.otps.delete(challenge)
        return challenge
