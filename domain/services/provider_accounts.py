"""Whom a provider's assertion signs in, once the way it came has been checked (the callback's
one-time code, an ID token given to the gateway, or the code that confirmed its address).

Identities are keyed by (provider, subject). A known identity signs in to its account. A new
one makes an account only from a proven address: the provider vouched for it
(``email_verified``), or its owner entered the code the gateway mailed to it. An address the
provider did not vouch for gets that code first (``EmailConfirmationRequired``), whether or not
an account has it, so the answer tells nobody which addresses have accounts. An account that
has the address is never linked silently: the answer is ``LinkRequired`` with a link token for
``ProviderLinkService.link``, unless the operator set the provider up to link verified
addresses itself (``auto_link_verified_email``; never for an address only our code confirmed).
A new account removes a pending sign-up on its address. Every first use of an identity (a new
account, a link) is audited and mailed to the account's address.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from domain import messages
from domain.entities import AuditEventType, AuthMethod, MailKind, ProviderIdentity, ProviderLinkToken
from domain.errors import LinkRequired, ProviderEmailNotVerified
from domain.secrets import secret_hash
from domain.services.new_accounts import add_account
from domain.services.provider_sign_in import display_name, kept_name
from domain.services.refusals import Counted
from domain.validation import InputCollector, normalise_email

if TYPE_CHECKING:
    from datetime import datetime

    from domain.entities import Client, MfaRequired, ProviderAssertion, SignedIn, User
    from domain.policy import AuthPolicy
    from domain.ports import Clock, IdentityProviders, Outbox, UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.provider_email_confirmation import ProviderEmailConfirmations
    from domain.services.second_factors import SecondFactorService
    from domain.services.session_starter import SessionStarter

# long enough to sign in to the existing account (password, second factor) and link
LINK_TOKEN_LIFETIME = timedelta(minutes=10)
PROVIDER_SIGN_IN = (AuthMethod.FEDERATED,)


class ProviderAccounts:
    def __init__(
        self,
        providers: IdentityProviders,
        sessions: SessionStarter,
        second_factors: SecondFactorService,
        confirmations: ProviderEmailConfirmations,
        outbox: Outbox,
        clock: Clock,
        policy: AuthPolicy,
        audit: AuditTrail,
    ) -> None:
        self._providers = providers
        self._sessions = sessions
        self._second_factors = second_factors
        self._confirmations = confirmations
        self._outbox = outbox
        self._clock = clock
        self._policy = policy
        self._audit = audit

    async def sign_in(
        self,
        uow: UnitOfWork,
        asserted: ProviderAssertion,
        client: Client,
        *,
        email_confirmed: bool = False,
        how: str | None = None,
    ) -> SignedIn | MfaRequired:
        """Sign in the account of ``asserted`` (the second step's ticket when it has a second
        factor), in the caller's unit of work, which commits. ``email_confirmed``: the address's
        owner entered our code. ``how`` is added to the audit detail (``id_token``).

        Raises:
            Counted(ProviderEmailNotVerified): a new identity with no usable address.
            Counted(EmailConfirmationRequired): a new identity with an address the provider did
                not vouch for: a code went to it.
            Counted(LinkRequired): an account has the address; the link token is kept with the refusal.
            Counted(RateLimited): the address has had its codes.
            EmailAlreadyTaken: a concurrent sign-in made the account or linked the identity
                first; the caller tries again (and finds it).
        """
        now = self._clock.now()
        identity = await uow.providers.get_identity(asserted.provider, asserted.subject)
        user = await uow.users.get_for_update(identity.user_id) if identity is not None else None
        if identity is not None and user is not None:
            identity.last_used_at = now
            identity.email = asserted.email
            await uow.providers.save_identity(identity)
        else:
            user = await self._first_sign_in(uow, asserted, now, client, email_confirmed)
        mfa = await self._second_factors.challenge(uow, user, first_factor=AuthMethod.FEDERATED)
        if mfa is not None:
            return mfa
        started = await self._sessions.start(uow, user, client, amr=PROVIDER_SIGN_IN)
        detail = asserted.provider if how is None else f"{asserted.provider}:{how}"
        await self._audit.record(
            uow, AuditEventType.PROVIDER_SIGN_IN, client, user.id, detail, session_id=started.session_id
        )
        return started

    async def _first_sign_in(
        self, uow: UnitOfWork, asserted: ProviderAssertion, now: datetime, client: Client, email_confirmed: bool
    ) -> User:
        """The account of a first sign-in with this identity: made from its proven address, or
        (when the provider is set up for it) the account that has that address, linked."""
        errors = InputCollector()
        email = normalise_email(asserted.email or "", errors)
        if errors.errors:
            await self._audit.record(
                uow, AuditEventType.PROVIDER_SIGN_IN_FAILED, client, None, f"{asserted.provider}:no_email"
            )
            raise Counted(ProviderEmailNotVerified())
        if not (asserted.email_verified or email_confirmed):
            # Asked before looking the address up: the answer is the same whoever has it.
            await self._confirmations.start(uow, asserted, email, client)
        found = await uow.users.get_by_email(email)
        existing = self._policy.account(found, now)
        if existing is not None and existing.email_verified:
            return await self._existing_account(uow, existing, asserted, now, client)
        # A sign-up nobody confirmed (found) goes: the provider's proof is not its password's.
        user = await add_account(
            uow,
            email,
            now,
            verified=True,
            replacing=found,
            first_name=kept_name(asserted.given_name),
            last_name=kept_name(asserted.family_name),
        )
        await uow.providers.add_identity(
            ProviderIdentity(asserted.provider, asserted.subject, user.id, email, created_at=now, last_used_at=now)
        )
        await self._audit.record(uow, AuditEventType.ACCOUNT_CREATED_BY_PROVIDER, client, user.id, asserted.provider)
        # the new account names no language yet: the one of whoever just signed in
        await self._notify(uow, user, MailKind.PROVIDER_ACCOUNT_CREATED, asserted.provider, now, client, new=True)
        return user

    async def _existing_account(
        self, uow: UnitOfWork, existing: User, asserted: ProviderAssertion, now: datetime, client: Client
    ) -> User:
        """Link to ``existing`` when the provider is set up to link the addresses it vouches for
        (and the account has no identity there yet); otherwise refuse with a link token for its owner."""
        user = await uow.users.get_for_update(existing.id) or existing
        held = await uow.providers.list_identities(user.id)
        if (
            asserted.email_verified  # never without: the setting is about the provider's word only
            and self._providers.links_verified_email(asserted.provider)
            and not any(identity.provider == asserted.provider for identity in held)
        ):
            await uow.providers.add_identity(
                ProviderIdentity(asserted.provider, asserted.subject, user.id, asserted.email, now, now)
            )
            await self._audit.record(uow, AuditEventType.PROVIDER_LINKED, client, user.id, f"{asserted.provider}:auto")
            await self._notify(uow, user, MailKind.PROVIDER_LINKED, asserted.provider, now, client)
            return user
        link_token = secrets.token_urlsafe(32)
        await uow.providers.add_link_token(
            ProviderLinkToken(
                token_hash=secret_hash(link_token),
                provider=asserted.provider,
                subject=asserted.subject,
                email=asserted.email,
                user_id=user.id,
                expires_at=now + LINK_TOKEN_LIFETIME,
            )
        )
        await self._audit.record(
            uow, AuditEventType.PROVIDER_SIGN_IN_FAILED, client, user.id, f"{asserted.provider}:link_required"
        )
        raise Counted(LinkRequired(asserted.provider, link_token))

    async def _notify(
        self,
        uow: UnitOfWork,
        user: User,
        kind: MailKind,
        provider: str,
        at: datetime,
        client: Client,
        *,
        new: bool = False,
    ) -> None:
        """The owner hears of it, with when and from where: queued with the change, sent once it
        commits; in the account's language, or (``new``: it has none yet) the signer-in's."""
        name = display_name(self._providers, provider)
        locale = self._policy.mail_locale(user.locale, client if new else None)
        notice = messages.provider_notice(
            user.email, kind, self._policy.product_name, name, at=at, client=client, locale=locale
        )
        await self._outbox.queue(uow, notice)
