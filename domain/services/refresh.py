from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from domain.entities import UNKNOWN_CLIENT, AuditEventType, RefreshTokenRecord, truncated_user_agent
from domain.errors import InvalidRefreshToken
from domain.rate_limiting import CounterRefused
from domain.refresh_tokens import hash_refresh_token
from domain.services.throttle import REFRESH_PER_ACCOUNT, REFRESH_PER_IP
from domain.validation import is_text

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from domain.entities import Client, Session, SignedIn
    from domain.policy import AuthPolicy
    from domain.ports import Clock, UnitOfWork
    from domain.refresh_tokens import RefreshTokenMinter
    from domain.services.audit import AuditTrail
    from domain.services.session_starter import SessionStarter
    from domain.services.throttle import Throttle

logger = logging.getLogger(__name__)

# Far longer than any token we issue (43 characters); longer input is not ours.
_MAX_TOKEN_LENGTH = 512


# Reads of a family before its rotation is written: each lost race means another rotation
# of the family was written in between, and the next read shows it.
_ATTEMPTS = 3


class RefreshService:
    """Rotates refresh tokens and detects the reuse of a spent one."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        minter: RefreshTokenMinter,
        sessions: SessionStarter,
        clock: Clock,
        policy: AuthPolicy,
        throttle: Throttle,
        audit: AuditTrail,
        statements: Callable[[], UnitOfWork] | None = None,
    ) -> None:
        """``statements``: units of work of single statements, outside a transaction (``uow``
        if not given): a rotation is two counters' hits, a read and one write that is atomic
        on its own. The reuse of a spent token is handled in a transaction, after it."""
        self._throttle = throttle
        self._audit = audit
        self._uow = uow
        self._statements = statements or uow
        self._minter = minter
        self._sessions = sessions
        self._clock = clock
        self._policy = policy

    async def refresh(self, refresh_token: str, client: Client = UNKNOWN_CLIENT) -> SignedIn:
        """Spend ``refresh_token`` and issue the family's next pair.

        A repeat of the token just spent, within the grace window, is answered with
        the same successor (two tabs refreshing at once both keep working). Any
        other spent token means it was copied: the whole family is revoked.

        No lock is held: the token, its session and account are read, and the rotation is
        written only if the session is still at the generation read (compare and set). A
        rotation of the same family that got there first makes the write match nothing;
        reading again then shows the token as the one just spent.

        Raises:
            InvalidRefreshToken: unknown, expired, revoked or reused token.
            RateLimited: too many refreshes from this client or for this account.
        """
        async with self._statements() as statements:
            if not refresh_token or len(refresh_token) > _MAX_TOKEN_LENGTH or not is_text(refresh_token):
                await self._throttle.check_client(REFRESH_PER_IP, client, statements)
                raise InvalidRefreshToken
            token_hash = hash_refresh_token(refresh_token)
            # Each limit's hit is made in the statement of the read or the write that follows it.
            counting = self._throttle.counting_client(REFRESH_PER_IP, client)
            try:
                found = await statements.sessions.find_for_rotation(token_hash, counting)
            except CounterRefused as refused:
                await self._throttle.refuse(statements, REFRESH_PER_IP, client, refused.wait)
            for attempt in range(_ATTEMPTS):
                if found is None:
                    raise InvalidRefreshToken
                record, session, user = found
                now = self._clock.now()
                if session.revoked_at is not None or self._expired(session, now):
                    raise InvalidRefreshToken
                # the account's limit counts the first read's refresh, not the reads after a lost race
                counting = self._throttle.counting(REFRESH_PER_ACCOUNT, str(user.id)) if attempt == 0 else None
                if record.generation != session.generation:
                    if counting is not None:  # counted like any refresh
                        await self._throttle.check(REFRESH_PER_ACCOUNT, str(user.id), client, user.id, statements)
                    break  # a spent token: repeated by a second tab, or copied
                successor = self._rotated(session, now, client)
                event = self._audit.event(AuditEventType.TOKEN_REFRESHED, client, user.id)
                try:
                    rotated = await statements.sessions.rotate(
                        session, self._record(session, successor, now), event, counting
                    )
                except CounterRefused as refused:
                    await self._throttle.refuse(statements, REFRESH_PER_ACCOUNT, client, refused.wait, user.id)
                if rotated:
                    self._audit.written(event)
                    return self._sessions.signed_in(user, session, successor, now)
                # Another rotation of this family was written first (the hit was counted): read it.
                found = await statements.sessions.find_for_rotation(token_hash)
            else:
                raise InvalidRefreshToken  # the family moved on at every read: too many tabs at once

        if self._is_grace_repeat(session, record, now):
            current = self._minter.token(session.family_seed, session.generation)
            return self._sessions.signed_in(user, session, current, now)
        await self._revoke_reused(session, now, client)
        raise InvalidRefreshToken

    async def _revoke_reused(self, session: Session, now: datetime, client: Client) -> None:
        logger.warning("refresh token reuse detected; session %s revoked", session.id)
        async with self._uow() as uow:
            current = await uow.sessions.get_for_update(session.id)
            if current is not None and current.revoked_at is None:
                current.revoked_at = now
                await uow.sessions.save(current)
            await self._audit.record(uow, AuditEventType.REFRESH_TOKEN_REUSED, client, session.user_id)
            await uow.commit()

    def _expired(self, session: Session, now: datetime) -> bool:
        return not session.is_live(now, self._policy.refresh_idle_lifetime)

    def _is_grace_repeat(self, session: Session, record: RefreshTokenRecord, now: datetime) -> bool:
        """The token spent by the family's last rotation (at the session's ``last_used_at``),
        sent again within the grace window: two tabs that refreshed at once."""
        return (
            record.generation == session.generation - 1
            and now - session.last_used_at <= self._policy.refresh_reuse_grace
        )

    def _rotated(self, session: Session, now: datetime, client: Client) -> str:
        """Move ``session`` on a generation (in memory); the successor token."""
        session.generation += 1
        session.last_used_at = now
        session.client_ip = client.ip
        session.user_agent = truncated_user_agent(client.user_agent)
        return self._minter.token(session.family_seed, session.generation)

    @staticmethod
    def _record(session: Session, successor: str, now: datetime) -> RefreshTokenRecord:
        return RefreshTokenRecord(
            token_hash=hash_refresh_token(successor),
            session_id=session.id,
            generation=session.generation,
            issued_at=now,
        )
