from __future__ import annotations

from typing import TYPE_CHECKING

from domain import messages
from domain.entities import UNKNOWN_CLIENT, AuditEventType, OtpPurpose, OtpSent, SignedIn, email_key
from domain.errors import AuthError, InvalidOtp
from domain.services.code_tries import code_subject
from domain.services.new_accounts import admitted_code_request
from domain.services.refusals import committing_refusals
from domain.services.throttle import CODE_REQUESTS_PER_IP, VERIFY_PER_ACCOUNT, VERIFY_PER_IP, requester
from domain.validation import InputCollector, check_new_password, normalise_email

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from domain.entities import Client, MfaRequired
    from domain.policy import AuthPolicy
    from domain.ports import Clock, Outbox, PasswordHasher, UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.otp_checker import OtpChecker
    from domain.services.otp_sender import OtpSender
    from domain.services.second_factors import SecondFactorService
    from domain.services.session_starter import SessionStarter
    from domain.services.throttle import Throttle


class PasswordResetService:
    """ "I forgot my password": a mailed code sets a new one and ends every session."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        passwords: PasswordHasher,
        otp_sender: OtpSender,
        checker: OtpChecker,
        sessions: SessionStarter,
        second_factors: SecondFactorService,
        outbox: Outbox,
        clock: Clock,
        policy: AuthPolicy,
        throttle: Throttle,
        audit: AuditTrail,
    ) -> None:
        self._uow = uow
        self._passwords = passwords
        self._otp_sender = otp_sender
        self._checker = checker
        self._sessions = sessions
        self._second_factors = second_factors
        self._outbox = outbox
        self._clock = clock
        self._policy = policy
        self._throttle = throttle
        self._audit = audit

    async def request(self, email: str, client: Client = UNKNOWN_CLIENT) -> OtpSent:
        """Mail a reset code to ``email`` if it has an account; the same answer either way.

        The code is mailed after the answer (from the outbox): neither a refused
        message nor the time the mail server takes tells whether the address has
        an account.

        Raises:
            InvalidInput: ``email`` is not an e-mail address.
            RateLimited: too many requests from this client, or mails to this address.
        """
        email = await admitted_code_request(self._throttle, CODE_REQUESTS_PER_IP, email, client)
        async with self._uow() as uow:
            user = self._policy.account(await uow.users.get_by_email(email), self._clock.now())
            if user is None:
                sent = await self._otp_sender.no_code(uow, email, OtpPurpose.RESET_PASSWORD)
                await uow.commit()
                return sent
            sent = await self._otp_sender.send(uow, user, client, OtpPurpose.RESET_PASSWORD, to=email)
            await self._audit.record(uow, AuditEventType.PASSWORD_RESET_REQUESTED, client, user.id)
            await uow.commit()
        return sent

    async def reset(
        self, email: str, code: str, new_password: str, client: Client = UNKNOWN_CLIENT
    ) -> SignedIn | MfaRequired:
        """Set ``new_password`` with the mailed code; every session ends and a new one starts.

        The code also confirms the address (it was read from that mailbox), and
        the new password ends any sign-in lockout. An account with a second factor is not
        signed in yet: the answer is the ticket of the second step (``MfaRequired``).

        Raises:
            InvalidInput: a malformed address or code, or a password that breaks the rules.
            InvalidOtp: unknown address, no reset pending, or a wrong or spent code.
            OtpExpired: the right code, too late.
            TooManyAttempts: this code has had its allowed wrong tries; ask for a new one.
            RateLimited: too many tries from this client or for this address.
        """
        await self._throttle.check_client(VERIFY_PER_IP, client)
        errors = InputCollector()
        email = normalise_email(email, errors)
        code = self._checker.normalise(code, errors)
        new_password = check_new_password(new_password, errors, email, "new_password")
        errors.raise_if_any()
        await self._throttle.check(VERIFY_PER_ACCOUNT, requester(email_key(email), client), client)
        # Hashed before looking the address up: unknown addresses take as long.
        new_hash = await self._passwords.hash(new_password)

        user_id: UUID | None = None
        try:
            async with self._uow() as uow, committing_refusals(uow):
                user = self._policy.account(await uow.users.get_by_email(email), self._clock.now())
                user_id = user.id if user else None
                subject = code_subject(OtpPurpose.RESET_PASSWORD, email)
                await self._checker.consume(uow, OtpPurpose.RESET_PASSWORD, subject, user_id, code, client)
                if user is None:  # pragma: no cover - consume found no code to match
                    raise InvalidOtp
                user.password_hash = new_hash
                user.email_verified = True
                await uow.users.save(user)
                now = self._clock.now()
                await uow.sessions.revoke_all(user.id, now, used_since=self._policy.idle_cutoff(now))
                # With a second factor the mailbox is not enough: the sign-in waits for it,
                # and the failure streak ends only when it comes.
                signed_in: SignedIn | MfaRequired | None = await self._second_factors.challenge(uow, user)
                if signed_in is None:
                    await self._throttle.sign_in_succeeded(uow, user.email_key)
                    signed_in = await self._sessions.start(uow, user, client)
                session_id = signed_in.session_id if isinstance(signed_in, SignedIn) else None
                await self._audit.record(uow, AuditEventType.PASSWORD_RESET, client, user.id, session_id=session_id)
                await self._outbox.queue(
                    uow,
                    messages.password_changed(
                        user.email,
                        self._policy.product_name,
                        at=now,
                        client=client,
                        reset=True,
                        locale=self._policy.mail_locale(user.locale),
                    ),
                )
                await uow.commit()
        except AuthError as failure:
            await self._audit.record_alone(
                AuditEventType.PASSWORD_RESET_FAILED, client, user_id, type(failure).__name__
            )
            raise
        return signed_in
