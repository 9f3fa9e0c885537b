"""Rate-limit counters and the audit log: rows written beside, not inside, the accounts."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, TypeVar

from domain.throttling import ThrottleState
from persistence.models import AuditEventRow, ThrottleRow

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from uuid import UUID

    from tortoise.backends.base.client import BaseDBAsyncClient

    from domain.entities import AuditEvent

T = TypeVar("T")

audit_logger = logging.getLogger("gateway.audit")


class TortoiseThrottleRepository:
    def __init__(self, db: BaseDBAsyncClient) -> None:
        self._db = db

    async def update(self, key: str, change: Callable[[ThrottleState], tuple[ThrottleState, T]]) -> T:
        # Lock the row; when there is none yet, INSERT … ON CONFLICT DO NOTHING and lock
        # again: concurrent first hits on a new key cannot both insert, and every hit
        # then waits for the one before. A purge or an unlock may delete the row in
        # between: the loop makes it again. The usual case, an existing row, costs one query.
        locked = ThrottleRow.filter(key=key).select_for_update().using_db(self._db)
        while (row := await locked.first()) is None:
            await ThrottleRow.bulk_create([ThrottleRow(key=key)], ignore_conflicts=True, using_db=self._db)
        before = ThrottleState(row.count, row.marked_at, row.expires_at)
        after, outcome = change(before)
        if after != before:
            await (
                ThrottleRow.filter(key=key)
                .using_db(self._db)
                .update(
                    count=after.count,
                    marked_at=after.marked_at,
                    expires_at=after.expires_at,
                )
            )
        return outcome

    async def clear(self, key: str) -> None:
        await ThrottleRow.filter(key=key).using_db(self._db).delete()

    async def purge_expired(self, now: datetime) -> int:
        """Delete counters that can no longer change a decision."""
        return await ThrottleRow.filter(expires_at__lt=now).using_db(self._db).delete()


class TortoiseAuditRepository:
    """Inserts audit events; each is logged as one JSON line once its transaction commits."""

    def __init__(self, db: BaseDBAsyncClient) -> None:
        self._db = db
        self._uncommitted: list[AuditEvent] = []

    async def add(self, event: AuditEvent) -> None:
        await AuditEventRow.create(
            using_db=self._db,
            occurred_at=event.occurred_at,
            event=event.type.value,
            user_id=event.user_id,
            client_ip=event.client_ip,
            user_agent=event.user_agent,
            detail=event.detail,
        )
        self._uncommitted.append(event)

    async def forget_account(self, user_id: UUID) -> None:
        await (
            AuditEventRow.filter(user_id=user_id)
            .using_db(self._db)
            .update(user_id=None, client_ip=None, user_agent=None)
        )

    def committed(self) -> None:
        for event in self._uncommitted:
            audit_logger.info(
                json.dumps(
                    {
                        "audit": event.type.value,
                        "at": event.occurred_at.isoformat(),
                        "user_id": str(event.user_id) if event.user_id else None,
                        "client_ip": event.client_ip,
                        "user_agent": event.user_agent,
                        "detail": event.detail,
                    },
                    ensure_ascii=True,
                )
            )
        self._uncommitted.clear()
