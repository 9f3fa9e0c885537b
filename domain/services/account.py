from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from domain import messages
from domain.entities import UNKNOWN_CLIENT, AuditEventType
from domain.errors import InvalidAccessToken
from domain.validation import InputCollector, check_locale, check_name, check_new_password

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from domain.entities import Client, Principal, User
    from domain.policy import AuthPolicy
    from domain.ports import Clock, Outbox, PasswordHasher, UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.password_check import PasswordCheck


class Unchanged(enum.Enum):
    """A profile field the caller left out: it keeps its value (``None`` clears it)."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


class AccountService:
    """What a signed-in person changes about their own account: password, profile, existence."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        passwords: PasswordHasher,
        password_check: PasswordCheck,
        outbox: Outbox,
        clock: Clock,
        policy: AuthPolicy,
        audit: AuditTrail,
    ) -> None:
        self._uow = uow
        self._passwords = passwords
        self._password_check = password_check
        self._outbox = outbox
        self._clock = clock
        self._policy = policy
        self._audit = audit

    async def change_password(
        self, principal: Principal, current_password: str | None, new_password: str, client: Client = UNKNOWN_CLIENT
    ) -> int:
        """Replace the password and end every other session; the caller's stays.

        Returns:
            How many other sessions ended.

        Raises:
            InvalidInput: the new password breaks the rules (checked first: it costs no try).
            InvalidCredentials: ``current_password`` is wrong.
            ReauthenticationRequired: no ``current_password``, and no recent proof in this session.
            RateLimited: too many wrong passwords in a row for this account.
        """
        user = principal.user
        errors = InputCollector()
        if current_password == "":
            errors.add("current_password", "Enter your current password, or leave it out after reauthenticate.")
        new_password = check_new_password(new_password, errors, user.email, "new_password")
        errors.raise_if_any()
        await self._password_check.confirm(principal, current_password, client)
        new_hash = await self._passwords.hash(new_password)

        async with self._uow() as uow:
            current = await self._locked(uow, user.id)
            current.password_hash = new_hash
            await uow.users.save(current)
            now = self._clock.now()
            ended = await uow.sessions.revoke_all(
                user.id, now, used_since=self._policy.idle_cutoff(now), keep=principal.session_id
            )
            await self._audit.record(uow, AuditEventType.PASSWORD_CHANGED, client, user.id, detail=f"ended:{ended}")
            await self._outbox.queue(
                uow,
                messages.password_changed(
                    current.email,
                    self._policy.product_name,
                    at=now,
                    client=client,
                    locale=self._policy.mail_locale(current.locale),
                ),
            )
            await uow.commit()
        return ended

    async def update_profile(
        self,
        principal: Principal,
        first_name: str | Unchanged | None = UNCHANGED,
        last_name: str | Unchanged | None = UNCHANGED,
        client: Client = UNKNOWN_CLIENT,
        locale: str | Unchanged | None = UNCHANGED,
    ) -> User:
        """Set the names and the mail language given (``None`` clears one), keep the ones left out.

        Raises:
            InvalidInput: naming each bad field.
        """
        errors = InputCollector()
        if not isinstance(first_name, Unchanged):
            first_name = check_name(first_name, errors, "first_name")
        if not isinstance(last_name, Unchanged):
            last_name = check_name(last_name, errors, "last_name")
        if not isinstance(locale, Unchanged):
            locale = check_locale(locale, self._policy.mail_locales, errors)
        errors.raise_if_any()
        async with self._uow() as uow:
            user = await self._locked(uow, principal.user.id)
            if not isinstance(first_name, Unchanged):
                user.first_name = first_name
            if not isinstance(last_name, Unchanged):
                user.last_name = last_name
            if not isinstance(locale, Unchanged):
                user.locale = locale
            await uow.users.save(user)
            await self._audit.record(uow, AuditEventType.PROFILE_UPDATED, client, user.id)
            await uow.commit()
        return user

    async def delete_account(self, principal: Principal, password: str | None, client: Client = UNKNOWN_CLIENT) -> UUID:
        """Remove the account, its sessions and codes, and the personal data in its audit events.

        One transaction: all of it goes, or none. The audit log keeps that an
        account was deleted, with neither the account's id nor the caller's address.

        Raises:
            InvalidCredentials: wrong password.
            RateLimited: too many wrong passwords in a row for this account.
        """
        user = principal.user
        await self._password_check.confirm(principal, password, client)
        async with self._uow() as uow:
            await self._locked(uow, user.id)
            await uow.audit.forget_account(user.id)
            await uow.users.delete(user.id)
            await self._audit.record(uow, AuditEventType.ACCOUNT_DELETED, UNKNOWN_CLIENT, forgotten_user_id=user.id)
            await uow.commit()
        return user.id

    @staticmethod
    async def _locked(uow: UnitOfWork, user_id: UUID) -> User:
        user = await uow.users.get_for_update(user_id)
        if user is None:  # deleted by a concurrent request since the token was checked
            raise InvalidAccessToken
        return user
