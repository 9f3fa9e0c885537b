from __future__ import annotations

from typing import TYPE_CHECKING

from domain.entities import UNKNOWN_CLIENT, AuditEventType, OtpPurpose, email_key
from domain.errors import AuthError, InvalidOtp
from domain.services.code_tries import code_subject
from domain.services.refusals import committing_refusals
from domain.services.throttle import VERIFY_PER_ACCOUNT, VERIFY_PER_IP, requester
from domain.validation import InputCollector, check_new_password, normalise_email

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from domain.entities import Client, SignedIn, User
    from domain.policy import AuthPolicy
    from domain.ports import Clock, PasswordHasher, UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.otp_checker import OtpChecker
    from domain.services.session_starter import SessionStarter
    from domain.services.throttle import Throttle


class VerificationService:
    """Confirms an address with the mailed code and signs its owner in."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        passwords: PasswordHasher,
        checker: OtpChecker,
        sessions: SessionStarter,
        clock: Clock,
        policy: AuthPolicy,
        throttle: Throttle,
        audit: AuditTrail,
    ) -> None:
        self._throttle = throttle
        self._audit = audit
        self._uow = uow
        self._passwords = passwords
        self._checker = checker
        self._sessions = sessions
        self._clock = clock
        self._policy = policy

    async def verify(self, email: str, code: str, password: str, client: Client = UNKNOWN_CLIENT) -> SignedIn:
        """Check ``code`` for ``email``; the account gets ``password`` and is signed in.

        The password is the one shown with the code, whatever ``register`` stored:
        a password chosen before the address was proven never survives its proof
        unless the person proving it shows it. Anyone can sign up with someone
        else's address, and the code goes to its owner; whichever code she types,
        the account opens with the password she types with it.

        Raises:
            InvalidInput: a malformed address or code, or a password that breaks the rules.
            InvalidOtp: unknown address, wrong code, or an address already verified.
            OtpExpired: the right code, too late.
            TooManyAttempts: the code has had its allowed wrong tries; ask for a new one.
            RateLimited: too many tries from this client or for this address.
        """
        await self._throttle.check_client(VERIFY_PER_IP, client)
        errors = InputCollector()
        email = normalise_email(email, errors)
        code = self._checker.normalise(code, errors)
        password = check_new_password(password, errors, email)
        errors.raise_if_any()
        await self._throttle.check(VERIFY_PER_ACCOUNT, requester(email_key(email), client), client)
        # Hashed before looking the address up: unknown addresses take as long.
        password_hash = await self._passwords.hash(password)

        user_id: UUID | None = None
        try:
            async with self._uow() as uow, committing_refusals(uow):
                user = self._policy.account(await uow.users.get_by_email(email), self._clock.now())
                user_id = user.id if user else None
                signed_in = await self._verify(uow, email, user, code, password_hash, client)
        except AuthError as failure:
            await self._audit.record_alone(AuditEventType.VERIFY_FAILED, client, user_id, type(failure).__name__)
            raise
        return signed_in

    async def _verify(
        self, uow: UnitOfWork, email: str, user: User | None, code: str, password_hash: str, client: Client
    ) -> SignedIn:
        pending = user if user is not None and not user.email_verified else None
        subject = code_subject(OtpPurpose.VERIFY_EMAIL, email)
        await self._checker.consume(
            uow, OtpPurpose.VERIFY_EMAIL, subject, pending.id if pending else None, code, client
        )
        if pending is None:  # pragma: no cover - consume found no code to match
            raise InvalidOtp
        pending.email_verified = True
        pending.password_hash = password_hash
        await uow.users.save(pending)
        # The owner has proven the address: a lockout run up before it was hers ends.
        await self._throttle.sign_in_succeeded(uow, pending.email_key)
        signed_in = await self._sessions.start(uow, pending, client)
        await self._audit.record(
            uow, AuditEventType.VERIFY_SUCCEEDED, client, pending.id, session_id=signed_in.session_id
        )
        await uow.commit()
        return signed_in
