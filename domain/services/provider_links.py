"""The provider identities of an account: listing, linking one after ``LinkRequired``, unlinking.

Linking never trusts the provider's word for the account: ``finishProviderSignIn`` answers
``LinkRequired`` with a link token (hashed here, single use, ``LINK_TOKEN_LIFETIME``, bound to
the identity and to the account that has its address), and only a session of that account,
with a recent proof of its owner (``PasswordCheck``: the password, or a sign-in or
``reauthenticate`` within the window, with the second factor when the account has one),
redeems it. Unlinking never removes the last way in (``domain.services.ways_in``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain import messages
from domain.entities import UNKNOWN_CLIENT, AuditEventType, MailKind, ProviderIdentity
from domain.errors import (
    EmailAlreadyTaken,
    InvalidAccessToken,
    InvalidLinkToken,
    ProviderAlreadyLinked,
    ProviderNotLinked,
)
from domain.secrets import secret_hash
from domain.services.provider_sign_in import SECRET_MAX_LENGTH, display_name
from domain.services.ways_in import keep_a_way_in

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from domain.entities import Client, Principal, SignInProvider, User
    from domain.policy import AuthPolicy
    from domain.ports import Clock, IdentityProviders, Outbox, UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.password_check import PasswordCheck


class ProviderLinkService:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        providers: IdentityProviders,
        password_check: PasswordCheck,
        outbox: Outbox,
        clock: Clock,
        policy: AuthPolicy,
        audit: AuditTrail,
    ) -> None:
        self._uow = uow
        self._providers = providers
        self._password_check = password_check
        self._outbox = outbox
        self._clock = clock
        self._policy = policy
        self._audit = audit

    def sign_in_providers(self) -> tuple[SignInProvider, ...]:
        """The providers the SPA may offer: ids and display names only."""
        return self._providers.listed()

    async def identities(self, principal: Principal) -> list[ProviderIdentity]:
        async with self._uow() as uow:
            return await uow.providers.list_identities(principal.user.id)

    async def link(
        self, principal: Principal, link_token: str, password: str | None, client: Client = UNKNOWN_CLIENT
    ) -> ProviderIdentity:
        """Link the identity of ``link_token`` to the signed-in account, after a recent proof.

        The token is spent by the first attempt that gets past the proof, whatever it brings.

        Raises:
            ReauthenticationRequired, InvalidCredentials, RateLimited: see ``PasswordCheck.confirm``
                (the token is not spent: prove, then try again).
            InvalidLinkToken: unknown, expired, used, or issued for another account.
            ProviderAlreadyLinked: the identity is linked already (here or elsewhere), or the account
                has an identity at that provider already.
        """
        if not link_token or len(link_token) > SECRET_MAX_LENGTH:
            raise InvalidLinkToken
        await self._password_check.confirm(principal, password, client)
        user_id = principal.user.id
        async with self._uow() as uow:
            pending = await uow.providers.take_link_token(secret_hash(link_token))
            now = self._clock.now()
            if pending is None or pending.expires_at <= now or pending.user_id != user_id:
                await uow.commit()  # spent all the same
                raise InvalidLinkToken
            user = await self._locked(uow, user_id)
            held = await uow.providers.list_identities(user_id)
            taken = await uow.providers.get_identity(pending.provider, pending.subject)
            if taken is not None or any(identity.provider == pending.provider for identity in held):
                await uow.commit()
                raise ProviderAlreadyLinked
            identity = ProviderIdentity(
                pending.provider, pending.subject, user_id, pending.email, created_at=now, last_used_at=now
            )
            try:
                await uow.providers.add_identity(identity)
            except EmailAlreadyTaken:  # a concurrent sign-in or link took the identity first
                raise ProviderAlreadyLinked from None
            await self._audit.record(uow, AuditEventType.PROVIDER_LINKED, client, user_id, pending.provider)
            await self._notify(uow, user, MailKind.PROVIDER_LINKED, pending.provider, client)
            await uow.commit()
        return identity

    async def unlink(
        self, principal: Principal, provider: str, password: str | None, client: Client = UNKNOWN_CLIENT
    ) -> None:
        """Unlink the account's identity at ``provider``, after a recent proof.

        Raises:
            ProviderNotLinked: the account has no identity there.
            LastSignInMethod: it is the account's only way in (no password, no passkey, no other
                identity); checked before the proof is asked for, and again after.
            ReauthenticationRequired, InvalidCredentials, RateLimited: see ``PasswordCheck.confirm``.
        """
        user_id = principal.user.id
        async with self._uow() as uow:
            await self._check_removable(uow, await self._locked(uow, user_id), provider)
        await self._password_check.confirm(principal, password, client)
        async with self._uow() as uow:
            # Locked: two unlinks at once must not each leave the other as the last way in.
            user = await self._locked(uow, user_id)
            await self._check_removable(uow, user, provider)
            await uow.providers.delete_identity(user_id, provider)
            await self._audit.record(uow, AuditEventType.PROVIDER_UNLINKED, client, user_id, provider)
            await self._notify(uow, user, MailKind.PROVIDER_UNLINKED, provider, client)
            await uow.commit()

    async def _check_removable(self, uow: UnitOfWork, user: User, provider: str) -> None:
        identities = await uow.providers.list_identities(user.id)
        if not any(identity.provider == provider for identity in identities):
            raise ProviderNotLinked
        await keep_a_way_in(uow, user, without_provider=provider)

    @staticmethod
    async def _locked(uow: UnitOfWork, user_id: UUID) -> User:
        user = await uow.users.get_for_update(user_id)
        if user is None:  # deleted since the request was let in
            raise InvalidAccessToken
        return user

    async def _notify(self, uow: UnitOfWork, user: User, kind: MailKind, provider: str, client: Client) -> None:
        """The owner hears of it: queued with the change, sent once it commits."""
        name = display_name(self._providers, provider)
        notice = messages.provider_notice(
            user.email,
            kind,
            self._policy.product_name,
            name,
            at=self._clock.now(),
            client=client,
            locale=self._policy.mail_locale(user.locale),
        )
        await self._outbox.queue(uow, notice)
