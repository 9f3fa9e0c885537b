from __future__ import annotations

from typing import TYPE_CHECKING

from domain import messages
from domain.entities import UNKNOWN_CLIENT, AuditEventType, OtpSent, email_key
from domain.errors import EmailAlreadyTaken
from domain.services.new_accounts import add_account
from domain.services.throttle import CODE_REQUESTS_PER_IP, REGISTER_PER_IP, RESEND_COOLDOWN
from domain.validation import InputCollector, check_locale, check_name, check_new_password, normalise_email

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.entities import Client
    from domain.policy import AuthPolicy
    from domain.ports import Clock, Outbox, PasswordHasher, UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.otp_sender import OtpSender
    from domain.services.throttle import Throttle


class RegistrationService:
    """Signs a person up and mails them a code, without telling anyone who has an account."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        passwords: PasswordHasher,
        otp_sender: OtpSender,
        outbox: Outbox,
        clock: Clock,
        policy: AuthPolicy,
        throttle: Throttle,
        audit: AuditTrail,
    ) -> None:
        self._uow = uow
        self._throttle = throttle
        self._audit = audit
        self._passwords = passwords
        self._otp_sender = otp_sender
        self._outbox = outbox
        self._clock = clock
        self._policy = policy

    async def register(
        self,
        email: str,
        password: str,
        first_name: str | None = None,
        last_name: str | None = None,
        client: Client = UNKNOWN_CLIENT,
        locale: str | None = None,
    ) -> OtpSent:
        """Create the account, or refresh a pending one, and mail a code.

        An address that already has a verified account gets the same answer and a
        notice in its mailbox instead of a code. Within the resend cooldown of the
        last mail to the address nothing is sent again (that code is still good):
        a second click costs no budget.

        The password is the account's only once the code comes back with it
        (``VerificationService.verify``): whoever proves the address chooses the
        password, so nobody can plant one in an address that is not theirs.

        ``locale`` (one of ``AuthPolicy.mail_locales``) is the new account's mail language; an
        address that already has an account keeps its own.

        Raises:
            InvalidInput: naming each bad field.
            RateLimited: too many sign-ups from this client, or mails to this address.
        """
        await self._throttle.check_client(REGISTER_PER_IP, client)
        errors = InputCollector()
        email = normalise_email(email, errors)
        password = check_new_password(password, errors, email)
        first_name = check_name(first_name, errors, "first_name")
        last_name = check_name(last_name, errors, "last_name")
        locale = check_locale(locale, self._policy.mail_locales, errors)
        errors.raise_if_any()
        account = email_key(email)
        if await self._throttle.cooling_down(RESEND_COOLDOWN, account):
            return OtpSent(email=email, expires_at=self._otp_sender.expiry_from_now())
        # Each sign-up mails the address (a code or a notice): this bounds the mail
        # anyone can make a mailbox receive.
        await self._throttle.check_code_request(account, client)

        # Hashing first, outside the transaction, keeps every branch equally slow
        # and keeps the database lock short.
        password_hash = await self._passwords.hash(password)
        try:
            return await self._register(email, password_hash, first_name, last_name, client, locale)
        except EmailAlreadyTaken:
            # Another request created the account between our lookup and insert;
            # now the lookup finds it.
            return await self._register(email, password_hash, first_name, last_name, client, locale)

    async def resend_code(self, email: str, client: Client = UNKNOWN_CLIENT) -> OtpSent:
        """Mail a new verification code to a pending account; the same answer for any address.

        Unknown and already verified addresses get no mail. One code per address per
        cooldown (counted from the last code mailed, registration's included), and
        the mail goes out after the answer (from the outbox), so neither the answer
        nor its timing tells whether the address has an account.

        Raises:
            InvalidInput: ``email`` is not an e-mail address.
            RateLimited: the cooldown has not passed, or too many requests from this
                client or mails to this address.
        """
        await self._throttle.check_client(CODE_REQUESTS_PER_IP, client)
        errors = InputCollector()
        email = normalise_email(email, errors)
        errors.raise_if_any()
        account = email_key(email)
        await self._throttle.check(RESEND_COOLDOWN, account, client)
        await self._throttle.check_code_request(account, client)
        async with self._uow() as uow:
            user = self._policy.account(await uow.users.get_by_email(email), self._clock.now())
            if user is None or user.email_verified:
                sent = await self._otp_sender.no_code(uow, email)
                await uow.commit()
                return sent
            sent = await self._otp_sender.send(uow, user, client, to=email)
            await uow.commit()
        return sent

    async def _register(
        self,
        email: str,
        password_hash: str,
        first_name: str | None,
        last_name: str | None,
        client: Client,
        locale: str | None,
    ) -> OtpSent:
        async with self._uow() as uow:
            await self._throttle.start_cooldown(uow, RESEND_COOLDOWN, email_key(email))
            found = await uow.users.get_by_email(email)
            now = self._clock.now()
            user = self._policy.account(found, now)
            if user is not None and user.email_verified:
                await self._outbox.queue(
                    uow,
                    messages.already_registered(
                        user.email, self._policy.product_name, locale=self._policy.mail_locale(user.locale)
                    ),
                )
                await self._audit.record(uow, AuditEventType.REGISTERED_AGAIN, client, user.id)
                sent = await self._otp_sender.no_code(uow, email)
                await uow.commit()
                return sent
            if user is None:
                # a sign-up nobody confirmed in time (found) starts over, from nothing
                user = await add_account(
                    uow,
                    email,
                    now,
                    verified=False,
                    replacing=found,
                    password_hash=password_hash,
                    first_name=first_name,
                    last_name=last_name,
                    locale=locale,
                )
            else:
                # Still unverified: the sign-up starts again, as typed this time. Its
                # password opens the account only if the code comes back with it.
                user.email = email
                user.password_hash = password_hash
                user.first_name = first_name
                user.last_name = last_name
                user.locale = locale
                user.created_at = now
                await uow.users.save(user)
            await self._audit.record(uow, AuditEventType.REGISTERED, client, user.id)
            sent = await self._otp_sender.send(uow, user, client, to=email)
            await uow.commit()
            return OtpSent(email=email, expires_at=sent.expires_at)
