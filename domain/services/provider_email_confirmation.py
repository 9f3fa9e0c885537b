"""A first provider sign-in whose provider did not vouch for the address: the gateway mails a
code to the address and the sign-in waits for it.

``ProviderEmailConfirmations.start`` (inside the sign-in's unit of work) keeps what the provider
asserted behind the SHA-256 of a random ticket, with the code's HMAC, for the codes' lifetime,
and queues the code's mail; the answer (``EmailConfirmationRequired``) is the same whether or
not an account has the address. ``ProviderEmailConfirmationService.confirm`` takes the ticket
and the code: the code's rules are every mailed code's (six digits, single use, expiry,
``otp_max_attempts`` wrong tries, the address's mail budget when it is sent), and the right
code proves the address, so the sign-in goes on as if the provider had vouched for it, except
that it never links an existing account by itself (``LinkRequired``).
"""

from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING, NoReturn

from domain import messages
from domain.entities import (
    UNKNOWN_CLIENT,
    AuditEventType,
    MailKind,
    OtpPurpose,
    ProviderAssertion,
    ProviderEmailConfirmation,
    email_key,
)
from domain.errors import (
    EmailAlreadyTaken,
    EmailConfirmationRequired,
    InvalidOtp,
    InvalidTicket,
    OtpExpired,
    TooManyAttempts,
)
from domain.secrets import secret_hash
from domain.services.otp_checker import OtpChecker
from domain.services.provider_sign_in import SECRET_MAX_LENGTH, display_name, kept_name
from domain.services.refusals import Counted, committing_refusals
from domain.services.throttle import VERIFY_PER_IP
from domain.validation import InputCollector

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.entities import Client, MfaRequired, SignedIn
    from domain.otp import OtpCodes
    from domain.policy import AuthPolicy
    from domain.ports import Clock, IdentityProviders, Outbox, UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.provider_accounts import ProviderAccounts
    from domain.services.throttle import Throttle

PURPOSE = OtpPurpose.CONFIRM_PROVIDER_EMAIL


def _code_binding(ticket_hash: str) -> uuid.UUID:
    """What the code's HMAC is bound to: this confirmation (its ticket), as an account's code
    is bound to its account; a stored HMAC is useless for any other."""
    return uuid.UUID(hex=ticket_hash[:32])


class ProviderEmailConfirmations:
    """Starts a confirmation: the ticket, the code and its mail."""

    def __init__(
        self,
        codes: OtpCodes,
        providers: IdentityProviders,
        outbox: Outbox,
        clock: Clock,
        policy: AuthPolicy,
        throttle: Throttle,
        audit: AuditTrail,
    ) -> None:
        self._codes = codes
        self._providers = providers
        self._outbox = outbox
        self._clock = clock
        self._policy = policy
        self._throttle = throttle
        self._audit = audit

    async def start(self, uow: UnitOfWork, asserted: ProviderAssertion, email: str, client: Client) -> NoReturn:
        """Mail a code to ``email`` (normalised) for the identity of ``asserted``, in ``uow``.

        Raises:
            Counted(RateLimited): the address, or this client's mails to it, had their budget.
            Counted(EmailConfirmationRequired): always otherwise, with the ticket.
        """
        await self._throttle.check_code_request_in(uow, email_key(email), client)
        ticket = secrets.token_urlsafe(32)
        ticket_hash = secret_hash(ticket)
        code = self._codes.generate()
        expires_at = self._clock.now() + self._policy.otp_lifetime
        await uow.providers.add_email_confirmation(
            ProviderEmailConfirmation(
                ticket_hash=ticket_hash,
                provider=asserted.provider,
                subject=asserted.subject,
                email=email,
                code_hmac=self._codes.digest(_code_binding(ticket_hash), PURPOSE, code),
                expires_at=expires_at,
                given_name=kept_name(asserted.given_name),
                family_name=kept_name(asserted.family_name),
            )
        )
        await self._audit.record(uow, AuditEventType.CODE_SENT, client, None, detail=PURPOSE.value)
        # The requester's language: which account (if any) has the address is not looked up here.
        mail = messages.code(
            email,
            MailKind.CONFIRM_PROVIDER_EMAIL,
            self._policy.product_name,
            code,
            int(self._policy.otp_lifetime.total_seconds()),
            locale=self._policy.mail_locale(None, client),
            provider=display_name(self._providers, asserted.provider),
        )
        await self._outbox.queue(uow, mail)
        raise Counted(EmailConfirmationRequired(ticket, email, expires_at))


class ProviderEmailConfirmationService:
    """``confirmProviderEmail``: the ticket and the mailed code finish the sign-in."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        codes: OtpCodes,
        accounts: ProviderAccounts,
        clock: Clock,
        policy: AuthPolicy,
        throttle: Throttle,
        audit: AuditTrail,
    ) -> None:
        self._uow = uow
        self._codes = codes
        self._accounts = accounts
        self._clock = clock
        self._policy = policy
        self._throttle = throttle
        self._audit = audit

    async def confirm(self, ticket: str, code: str, client: Client = UNKNOWN_CLIENT) -> SignedIn | MfaRequired:
        """Sign in with the identity waiting behind ``ticket`` once ``code`` proves its address:
        a new account, the account of an identity linked meanwhile, or ``LinkRequired`` when an
        account has the address.

        Raises:
            InvalidInput: the code is not six digits.
            InvalidTicket: unknown, used, or out of tries.
            InvalidOtp: a wrong code (the ticket keeps its other tries).
            TooManyAttempts: that was the ticket's last try; sign in with the provider again.
            OtpExpired: the right code, too late.
            LinkRequired: an account has the address.
            RateLimited: too many tries from this client.
        """
        await self._throttle.check_client(VERIFY_PER_IP, client)
        errors = InputCollector()
        code = OtpChecker.normalise(code, errors)
        errors.raise_if_any()
        if not ticket or len(ticket) > SECRET_MAX_LENGTH:
            raise InvalidTicket
        try:
            try:
                return await self._confirm(secret_hash(ticket), code, client)
            except EmailAlreadyTaken:
                # A concurrent sign-in made the account or linked the identity first: now it is found.
                return await self._confirm(secret_hash(ticket), code, client)
        except (InvalidTicket, InvalidOtp, TooManyAttempts, OtpExpired) as failure:
            await self._audit.record_alone(
                AuditEventType.PROVIDER_SIGN_IN_FAILED, client, None, f"email_code:{type(failure).__name__}"
            )
            raise

    async def _confirm(self, ticket_hash: str, code: str, client: Client) -> SignedIn | MfaRequired:
        async with self._uow() as uow, committing_refusals(uow):
            pending = await uow.providers.get_email_confirmation_for_update(ticket_hash)
            if pending is None:
                raise InvalidTicket
            if not self._codes.matches(_code_binding(ticket_hash), PURPOSE, code, pending.code_hmac):
                pending.failed_tries += 1
                if pending.failed_tries >= self._policy.otp_max_attempts:
                    await uow.providers.delete_email_confirmation(ticket_hash)
                    raise Counted(TooManyAttempts())
                await uow.providers.save_email_confirmation(pending)
                raise Counted(InvalidOtp())
            await uow.providers.delete_email_confirmation(ticket_hash)
            if pending.expires_at <= self._clock.now():
                raise Counted(OtpExpired())  # spent all the same
            asserted = ProviderAssertion(
                pending.provider,
                pending.subject,
                pending.email,
                False,
                nonce=None,
                given_name=pending.given_name,
                family_name=pending.family_name,
            )
            signed_in = await self._accounts.sign_in(uow, asserted, client, email_confirmed=True)
            await uow.commit()
        return signed_in
