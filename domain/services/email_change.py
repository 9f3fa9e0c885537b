from __future__ import annotations

from typing import TYPE_CHECKING

from domain import messages
from domain.entities import UNKNOWN_CLIENT, AuditEventType, OtpPurpose, OtpSent, email_key
from domain.errors import (
    EmailAlreadyTaken,
    InvalidAccessToken,
    InvalidInput,
    InvalidOtp,
    OtpExpired,
    TooManyAttempts,
)
from domain.services.code_tries import code_subject
from domain.services.new_accounts import discard_unconfirmed
from domain.services.refusals import committing_refusals
from domain.services.throttle import VERIFY_PER_ACCOUNT, VERIFY_PER_IP
from domain.validation import InputCollector, normalise_email

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.entities import Client, Principal, User
    from domain.policy import AuthPolicy
    from domain.ports import Clock, Outbox, UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.otp_checker import OtpChecker
    from domain.services.otp_sender import OtpSender
    from domain.services.password_check import PasswordCheck
    from domain.services.throttle import Throttle

_TAKEN = "This address now belongs to another account."


class EmailChangeService:
    """Moves an account to another address, once a code mailed there comes back."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        password_check: PasswordCheck,
        otp_sender: OtpSender,
        checker: OtpChecker,
        outbox: Outbox,
        clock: Clock,
        policy: AuthPolicy,
        throttle: Throttle,
        audit: AuditTrail,
    ) -> None:
        self._uow = uow
        self._password_check = password_check
        self._otp_sender = otp_sender
        self._checker = checker
        self._outbox = outbox
        self._clock = clock
        self._policy = policy
        self._throttle = throttle
        self._audit = audit

    async def request(
        self, principal: Principal, new_email: str, password: str | None, client: Client = UNKNOWN_CLIENT
    ) -> OtpSent:
        """Mail a code to ``new_email``; the account keeps its address until the code comes back.

        The password is asked again, or a recent proof of the session (``PasswordCheck``): a
        stolen access token alone cannot move the account to its thief's mailbox. An address that already has a verified
        account gets a notice instead of a code, and the caller the same answer.

        Raises:
            InvalidInput: not an address, or the account's own one.
            InvalidCredentials: wrong password.
            ReauthenticationRequired: no password, and no recent proof in this session.
            RateLimited: too many wrong passwords, or mails to this address.
        """
        user = principal.user
        errors = InputCollector()
        new_email = normalise_email(new_email, errors, "new_email")
        if not errors.errors and email_key(new_email) == user.email_key:
            errors.add("new_email", "This is already your address.")
        if password == "":
            errors.add("password", "Enter your password, or leave it out after reauthenticate.")
        errors.raise_if_any()
        await self._password_check.confirm(principal, password, client)
        await self._throttle.check_code_request(email_key(new_email), client)

        async with self._uow() as uow:
            owner = await uow.users.get_by_email(new_email)
            if owner is not None and owner.email_verified:
                await self._outbox.queue(
                    uow,
                    messages.address_in_use(
                        owner.email, self._policy.product_name, locale=self._policy.mail_locale(owner.locale)
                    ),
                )
                await self._audit.record(uow, AuditEventType.EMAIL_CHANGE_REQUESTED, client, user.id, "address_taken")
                sent = await self._otp_sender.no_code(uow, new_email, OtpPurpose.CHANGE_EMAIL, user.id)
                await uow.commit()
                return sent
            sent = await self._otp_sender.send(uow, user, client, OtpPurpose.CHANGE_EMAIL, to=new_email)
            await self._audit.record(uow, AuditEventType.EMAIL_CHANGE_REQUESTED, client, user.id)
            await uow.commit()
            return sent

    async def confirm(self, principal: Principal, code: str, client: Client = UNKNOWN_CLIENT) -> User:
        """Move the account to the address the code was mailed to; the old address gets a notice.

        An unverified account still waiting on that address is removed: entering
        the code proves this person reads the mailbox.

        Raises:
            InvalidInput: a malformed code, or the address was taken meanwhile.
            InvalidOtp: no change pending, or a wrong or spent code.
            OtpExpired: the right code, too late.
            TooManyAttempts: this code has had its allowed wrong tries; ask for a new one.
            RateLimited: too many tries from this client or for this account.
        """
        await self._throttle.check_client(VERIFY_PER_IP, client)
        errors = InputCollector()
        code = self._checker.normalise(code, errors)
        errors.raise_if_any()
        account = principal.user.id
        await self._throttle.check(VERIFY_PER_ACCOUNT, f"account:{account}", client)
        try:
            async with self._uow() as uow, committing_refusals(uow):
                user = await uow.users.get_for_update(account)
                if user is None:
                    raise InvalidAccessToken
                subject = code_subject(OtpPurpose.CHANGE_EMAIL, user.email, user.id)
                challenge = await self._checker.consume(uow, OtpPurpose.CHANGE_EMAIL, subject, user.id, code, client)
                if challenge.new_email is None:
                    raise InvalidOtp
                owner = await uow.users.get_by_email(challenge.new_email)
                if owner is not None and owner.id != user.id:
                    if owner.email_verified:
                        raise InvalidInput.one("new_email", _TAKEN)
                    await discard_unconfirmed(uow, owner)
                # A reset code mailed to the old address must not open the account at its new one.
                if (reset := await uow.otps.get_for_update(user.id, OtpPurpose.RESET_PASSWORD)) is not None:
                    await uow.otps.delete(reset)
                old_email = user.email
                user.email = challenge.new_email
                user.email_verified = True
                try:
                    await uow.users.save(user)
                except EmailAlreadyTaken:
                    raise InvalidInput.one("new_email", _TAKEN) from None
                await self._audit.record(uow, AuditEventType.EMAIL_CHANGED, client, user.id)
                locale, now, product = (
                    self._policy.mail_locale(user.locale),
                    self._clock.now(),
                    self._policy.product_name,
                )
                # both addresses hear of it: the one left, and the one the account signs in with now
                await self._outbox.queue(
                    uow, messages.email_changed(old_email, product, user.email, at=now, client=client, locale=locale)
                )
                await self._outbox.queue(
                    uow,
                    messages.email_changed_here(user.email, product, old_email, at=now, client=client, locale=locale),
                )
                await uow.commit()
        except (InvalidOtp, OtpExpired, TooManyAttempts) as failure:
            await self._audit.record_alone(AuditEventType.EMAIL_CHANGE_FAILED, client, account, type(failure).__name__)
            raise
        return user
