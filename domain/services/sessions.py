from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from domain.entities import UNKNOWN_CLIENT, AuditEventType
from domain.errors import SessionNotFound

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from domain.entities import Client, Principal, Session
    from domain.policy import AuthPolicy
    from domain.ports import Clock, UnitOfWork
    from domain.services.audit import AuditTrail


class SessionService:
    """The signed-in devices of an account: list them, end one, end them all."""

    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock, policy: AuthPolicy, audit: AuditTrail) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy
        self._audit = audit

    async def list_live(self, principal: Principal) -> list[Session]:
        """The account's live sessions, most recently used first."""
        now = self._clock.now()
        async with self._uow() as uow:
            return await uow.sessions.list_live(principal.user.id, now, used_since=self._policy.idle_cutoff(now))

    async def current(self, principal: Principal) -> Session | None:
        """The session the caller's request comes from, while it is live."""
        live = await self.list_live(principal)
        return next((session for session in live if session.id == principal.session_id), None)

    async def logout(self, principal: Principal, client: Client = UNKNOWN_CLIENT) -> int:
        """End the caller's own session: its refresh token and access tokens stop working.

        Returns:
            How many sessions ended: 1.
        """
        await self.revoke(principal, principal.session_id, client)
        return 1

    async def logout_everywhere(self, principal: Principal, client: Client = UNKNOWN_CLIENT) -> int:
        """End every session of the account, the caller's included; returns how many."""
        async with self._uow() as uow:
            now = self._clock.now()
            ended = await uow.sessions.revoke_all(principal.user.id, now, used_since=self._policy.idle_cutoff(now))
            await self._audit.record(uow, AuditEventType.LOGGED_OUT, client, principal.user.id, detail=f"all:{ended}")
            await uow.commit()
        return ended

    async def revoke(self, principal: Principal, session_id: UUID | str, client: Client = UNKNOWN_CLIENT) -> UUID:
        """End one session of the caller's account (the caller's own one too).

        Raises:
            SessionNotFound: no live session of this account has that id.
        """
        wanted = _as_uuid(session_id)
        now = self._clock.now()
        async with self._uow() as uow:
            session = await uow.sessions.get_for_update(wanted) if wanted else None
            if (
                session is None
                or session.user_id != principal.user.id
                or not session.is_live(now, self._policy.refresh_idle_lifetime)
            ):
                raise SessionNotFound
            session.revoked_at = now
            await uow.sessions.save(session)
            event = AuditEventType.LOGGED_OUT if session.id == principal.session_id else AuditEventType.SESSION_REVOKED
            await self._audit.record(uow, event, client, principal.user.id, session_id=session.id)
            await uow.commit()
        return session.id


def _as_uuid(value: UUID | str) -> UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
