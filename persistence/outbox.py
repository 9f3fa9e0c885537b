"""The outbox table: mails, and webhook deliveries (``endpoint`` set); delivered items stay,
emptied, with ``sent_at`` until the retention job deletes them. Claims lock with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several gateway processes share the work without
two claiming one item; SQLite has one writer at a time, which is lock enough for the single
process it serves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise.expressions import F

from domain.entities import MailKind, OutboxBacklog, OutboxItem, WebhookEventType
from persistence.models import OutboxRow

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from tortoise.backends.base.client import BaseDBAsyncClient


def _item(row: OutboxRow) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        kind=MailKind(row.kind) if row.endpoint is None else WebhookEventType(row.kind),
        sealed_mail=bytes(row.sealed_mail),
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        attempts=row.attempts,
        last_error=row.last_error,
        dead_at=row.dead_at,
        endpoint=row.endpoint,
        sent_at=row.sent_at,
    )


class TortoiseOutboxRepository:
    def __init__(self, db: BaseDBAsyncClient) -> None:
        self._db = db

    async def add(self, item: OutboxItem) -> None:
        await OutboxRow.create(
            using_db=self._db,
            id=item.id,
            kind=item.kind.value,
            sealed_mail=item.sealed_mail,
            created_at=item.created_at,
            next_attempt_at=item.next_attempt_at,
            attempts=item.attempts,
            endpoint=item.endpoint,
        )

    async def claim(self, now: datetime, lease_until: datetime, limit: int, claimant: str) -> list[OutboxItem]:
        rows = (
            # the partial index outbox_due_idx (0013) holds exactly these rows, in this order
            await OutboxRow.filter(dead_at=None, sent_at=None, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .limit(limit)
            .select_for_update(skip_locked=True)  # rows another process is claiming are skipped, not waited for
            .using_db(self._db)
        )
        if not rows:
            return []
        ids = [row.id for row in rows]
        await (
            OutboxRow.filter(id__in=ids)
            .using_db(self._db)
            .update(next_attempt_at=lease_until, claimant=claimant, attempts=F("attempts") + 1)
        )
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = lease_until
        return [_item(row) for row in rows]

    async def delivered(self, item_id: UUID, now: datetime) -> None:
        await OutboxRow.filter(id=item_id).using_db(self._db).update(sent_at=now, sealed_mail=b"", claimant=None)

    async def postpone(self, item_id: UUID, claimant: str, next_attempt_at: datetime, error: str) -> None:
        await (
            OutboxRow.filter(id=item_id, claimant=claimant)
            .using_db(self._db)
            .update(next_attempt_at=next_attempt_at, last_error=error[:128])
        )

    async def bury(self, item_id: UUID, claimant: str, now: datetime, error: str) -> None:
        await (
            OutboxRow.filter(id=item_id, claimant=claimant)
            .using_db(self._db)
            .update(dead_at=now, last_error=error[:128])
        )

    async def list_dead(self) -> list[OutboxItem]:
        rows = await OutboxRow.filter(dead_at__not_isnull=True).order_by("created_at").using_db(self._db)
        return [_item(row) for row in rows]

    async def revive(self, item_id: UUID | None, now: datetime) -> int:
        dead = OutboxRow.filter(dead_at__not_isnull=True)
        if item_id is not None:
            dead = dead.filter(id=item_id)
        return await dead.using_db(self._db).update(
            dead_at=None, attempts=0, next_attempt_at=now, claimant=None, last_error=None
        )

    async def backlog(self) -> OutboxBacklog:
        waiting = OutboxRow.filter(dead_at=None, sent_at=None)
        queued = await waiting.using_db(self._db).count()
        oldest = await waiting.order_by("created_at").using_db(self._db).first()
        dead = await OutboxRow.filter(dead_at__not_isnull=True).using_db(self._db).count()
        return OutboxBacklog(queued=queued, oldest_queued_at=oldest.created_at if oldest else None, dead=dead)
