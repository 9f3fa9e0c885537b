"""Rate-limit and lockout counters: one row per key, changed under a row lock."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from domain.rate_limiting import ThrottleState
from persistence.models import ThrottleRow

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from tortoise.backends.base.client import BaseDBAsyncClient

T = TypeVar("T")


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
