from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from domain.entities import UNKNOWN_CLIENT, AuditEventType, RefreshTokenRecord, truncated_user_agent
from domain.errors import InvalidRefreshToken
from domain.refresh_tokens import hash_refresh_token
from domain.services.refusals import committing_refusals
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
    ) -> None:
        self._throttle = throttle
        self._audit = audit
        self._uow = uow
        self._minter = minter
        self._sessions = sessions
        self._clock = clock
        self._policy = policy

    async def refresh(self, refresh_token: str, client: Client = UNKNOWN_CLIENT) -> SignedIn:
        """Spend ``refresh_token`` and issue the family's next pair.

        A repeat of the token just spent, within the grace window, is answered with
        the same successor (two tabs refreshing at once both keep working). Any
        other spent token means it was copied: the whole family is revoked.

        Raises:
            InvalidRefreshToken: unknown, expired, revoked or reused token.
            RateLimited: too many refreshes from this client or for this account.
        """
        await self._throttle.check_client(REFRESH_PER_IP, client)
        if not refresh_token or len(refresh_token) > _MAX_TOKEN_LENGTH or not is_text(refresh_token):
            raise InvalidRefreshToken
        token_hash = hash_refresh_token(refresh_token)
        async with self._uow() as uow, committing_refusals(uow):
            # One query: the record, its account, and its session locked, which serialises
            # every rotation of this family; a rotation that waited sees the one before it.
            found = await uow.sessions.find_for_rotation(token_hash)
            if found is None:
                raise InvalidRefreshToken
            record, session, user = found
            now = self._clock.now()
            if session.revoked_at is not None or self._expired(session, now):
                raise InvalidRefreshToken
            await self._throttle.check_in(uow, REFRESH_PER_ACCOUNT, str(user.id), client, user.id)

            if record.generation == session.generation:
                successor = await self._rotate(uow, session, now, client)
                await self._audit.record(uow, AuditEventType.TOKEN_REFRESHED, client, user.id)
                await uow.commit()
                return self._sessions.signed_in(user, session, successor, now)

            if self._is_grace_repeat(session, record, now):
                await uow.commit()  # the repeat counts against the account's limit like any refresh
                current = self._minter.token(session.family_seed, session.generation)
                return self._sessions.signed_in(user, session, current, now)

            logger.warning("refresh token reuse detected; session %s revoked", session.id)
            session.revoked_at = now
            await uow.sessions.save(session)
            await self._audit.record(uow, AuditEventType.REFRESH_TOKEN_REUSED, client, user.id)
            await uow.commit()
            raise InvalidRefreshToken

    def _expired(self, session: Session, now: datetime) -> bool:
        return not session.is_live(now, self._policy.refresh_idle_lifetime)

    def _is_grace_repeat(self, session: Session, record: RefreshTokenRecord, now: datetime) -> bool:
        """The token spent by the family's last rotation (at the session's ``last_used_at``),
        sent again within the grace window: two tabs that refreshed at once."""
        return (
            record.generation == session.generation - 1
            and now - session.last_used_at <= self._policy.refresh_reuse_grace
        )

    async def _rotate(self, uow: UnitOfWork, session: Session, now: datetime, client: Client) -> str:
        """Spend the current token (the session moves to the next generation) and record its successor."""
        session.generation += 1
        session.last_used_at = now
        session.client_ip = client.ip
        session.user_agent = truncated_user_agent(client.user_agent)
        successor = self._minter.token(session.family_seed, session.generation)
        record = RefreshTokenRecord(
            token_hash=hash_refresh_token(successor),
            session_id=session.id,
            generation=session.generation,
            issued_at=now,
        )
        await uow.sessions.rotate(session, record)
        return successor
