from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from domain.entities import UNKNOWN_CLIENT, AuditEventType, email_key
from domain.errors import EmailNotVerified, InvalidCredentials
from domain.services.refusals import committing_refusals
from domain.services.throttle import LOGIN_PER_IP, RESEND_COOLDOWN
from domain.validation import PASSWORD_MAX_LENGTH, InputCollector, is_text, normalise_email, normalise_password

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from domain.entities import Client, MfaRequired, SignedIn
    from domain.policy import AuthPolicy
    from domain.ports import Clock, PasswordHasher, UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.otp_sender import OtpSender
    from domain.services.second_factors import SecondFactorService
    from domain.services.session_starter import SessionStarter
    from domain.services.throttle import Throttle


class LoginService:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        passwords: PasswordHasher,
        otp_sender: OtpSender,
        sessions: SessionStarter,
        second_factors: SecondFactorService,
        clock: Clock,
        policy: AuthPolicy,
        throttle: Throttle,
        audit: AuditTrail,
        statements: Callable[[], UnitOfWork] | None = None,
    ) -> None:
        """``statements``: units of work of single statements (``uow`` if not given), for the
        account's lookup before bcrypt: one query needs no transaction."""
        self._statements = statements or uow
        self._clock = clock
        self._policy = policy
        self._throttle = throttle
        self._audit = audit
        self._uow = uow
        self._passwords = passwords
        self._otp_sender = otp_sender
        self._sessions = sessions
        self._second_factors = second_factors

    async def login(self, email: str, password: str, client: Client = UNKNOWN_CLIENT) -> SignedIn | MfaRequired:
        """Sign in with e-mail and password; an account with a second factor answers the ticket
        of the second step (``MfaRequired``) instead.

        Raises:
            InvalidInput: the address is malformed or the password empty or too long.
            InvalidCredentials: unknown address, wrong password, or an account without a
                password (indistinguishable, in answer and in time).
            EmailNotVerified: right password, address not yet confirmed; a fresh
                code has been mailed.
            RateLimited: too many attempts from this client, or too many failures in
                a row for this address (known or not).
            DeliveryFailed: that fresh code could not be mailed.
        """
        await self._throttle.check_client(LOGIN_PER_IP, client)
        errors = InputCollector()
        email = normalise_email(email, errors)
        password = normalise_password(password)
        if not password:
            errors.add("password", "Enter your password.")
        elif not is_text(password):
            errors.add("password", "The password contains characters that cannot be stored.")
        elif len(password) > PASSWORD_MAX_LENGTH:
            errors.add("password", f"Passwords have at most {PASSWORD_MAX_LENGTH} characters.")
        errors.raise_if_any()
        account = email_key(email)
        failures = await self._throttle.begin_sign_in(account, client)

        async with self._statements() as statements:
            user = self._policy.account(await statements.users.get_by_email(email), self._clock.now())
        # bcrypt runs outside any transaction: it is slow by design and must not hold a lock.
        if user is None:
            await self._passwords.verify_dummy(password)
            await self._failed(client, None, failures, "unknown_account")
        elif user.password_hash is None:
            # An account without a password (made by a provider sign-in): answered, counted
            # and timed as a wrong password, so nobody learns how the account signs in.
            await self._passwords.verify_dummy(password)
            await self._failed(client, user.id, failures, "no_password")
        elif not await self._passwords.verify(password, user.password_hash):
            await self._failed(client, user.id, failures, "wrong_password")
        new_hash = await self._passwords.hash(password) if self._passwords.needs_rehash(user.password_hash) else None

        async with self._uow() as uow, committing_refusals(uow):
            current = await uow.users.get(user.id)
            if current is None:  # deleted while we were hashing
                raise InvalidCredentials
            # The right password ends the failure streak, verified address or not; with a
            # second factor, only the second step does.
            mfa = await self._second_factors.challenge(uow, current) if current.email_verified else None
            if mfa is None:
                await self._throttle.sign_in_succeeded(uow, account)
            if not current.email_verified:
                await self._throttle.check_code_request_in(uow, account, client, current.id)
                await self._throttle.start_cooldown(uow, RESEND_COOLDOWN, account)
                await self._otp_sender.send(uow, current, client, to=email)
                await uow.commit()
                raise EmailNotVerified(current.email)
            if new_hash is not None and current.password_hash == user.password_hash:
                current.password_hash = new_hash
                await uow.users.save(current)
            if mfa is not None:
                await uow.commit()
                return mfa
            signed_in = await self._sessions.start(uow, current, client)
            await self._audit.record(
                uow, AuditEventType.LOGIN_SUCCEEDED, client, current.id, session_id=signed_in.session_id
            )
            await uow.commit()
            return signed_in

    async def _failed(self, client: Client, user_id: UUID | None, failures: int, reason: str) -> NoReturn:
        await self._throttle.sign_in_failed(failures, AuditEventType.LOGIN_FAILED, client, user_id, reason)
        raise InvalidCredentials
