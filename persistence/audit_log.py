"""The audit log: events written in the transaction of the change they tell of, and logged
as one JSON line each once it commits."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from domain.entities import AuditEvent, AuditEventType
from persistence import written_out
from persistence.models import AuditEventRow

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from tortoise.backends.base.client import BaseDBAsyncClient

audit_logger = logging.getLogger("gateway.audit")


class TortoiseAuditRepository:
    """Inserts audit events; each is logged as one JSON line once its transaction commits
    (``autocommit``: outside a transaction, where each insert commits on its own)."""

    def __init__(self, db: BaseDBAsyncClient, *, autocommit: bool = False) -> None:
        self._db = db
        self._autocommit = autocommit
        self._uncommitted: list[AuditEvent] = []

    async def add(self, event: AuditEvent) -> None:
        await written_out.insert(self._db, AuditEventRow, row_values(event))
        if self._autocommit:
            log_written(event)
        else:
            self._uncommitted.append(event)

    async def list_for_account(self, user_id: UUID, since: datetime, limit: int) -> list[AuditEvent]:
        rows = (
            await AuditEventRow.filter(user_id=user_id, occurred_at__gte=since)
            .using_db(self._db)
            .order_by("-occurred_at", "-id")
            .limit(limit)
        )
        return [
            AuditEvent(
                type=AuditEventType(row.event),
                occurred_at=row.occurred_at,
                user_id=user_id,
                client_ip=row.client_ip,
                user_agent=row.user_agent,
                detail=row.detail,
            )
            for row in rows
        ]

    async def forget_account(self, user_id: UUID) -> None:
        await (
            AuditEventRow.filter(user_id=user_id)
            .using_db(self._db)
            .update(user_id=None, client_ip=None, user_agent=None)
        )

    def committed(self) -> None:
        for event in self._uncommitted:
            log_written(event)
        self._uncommitted.clear()


def row_values(event: AuditEvent) -> dict[str, object]:
    """The columns of ``event``'s row in the audit log."""
    return {
        "occurred_at": event.occurred_at,
        "event": event.type.value,
        "user_id": event.user_id,
        "client_ip": event.client_ip,
        "user_agent": event.user_agent,
        "detail": event.detail,
    }


def log_written(event: AuditEvent) -> None:
    """Log ``event`` as one JSON line, once its row is committed."""
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
