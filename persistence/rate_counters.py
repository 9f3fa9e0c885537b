"""Rate-limit and lockout counters: one row per key, changed under a row lock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from domain.rate_limiting import ThrottleState
from persistence.models import ThrottleRow

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from tortoise.backends.base.client import BaseDBAsyncClient

T = TypeVar("T")

_LOCK = {
    "postgres": 'SELECT * FROM "throttles" WHERE "key" = $1 FOR UPDATE',
    "sqlite": 'SELECT * FROM "throttles" WHERE "key" = ?',  # one writer at a time: nothing to lock
}
_SAVE = {
    "postgres": 'UPDATE "throttles" SET "count" = $1, "marked_at" = $2, "expires_at" = $3 WHERE "key" = $4',
    "sqlite": 'UPDATE "throttles" SET "count" = ?, "marked_at" = ?, "expires_at" = ? WHERE "key" = ?',
}


def _db_time(moment: datetime | None) -> Any:
    """``moment`` as Tortoise writes a datetime to this table (UTC; text on SQLite)."""
    return ThrottleRow._meta.fields_map["marked_at"].to_db_value(moment, ThrottleRow)


class TortoiseThrottleRepository:
    def __init__(self, db: BaseDBAsyncClient) -> None:
        self._db = db

    async def update(self, key: str, change: Callable[[ThrottleState], tuple[ThrottleState, T]]) -> T:
        # Lock the row; when there is none yet, INSERT … ON CONFLICT DO NOTHING and lock
        # again: concurrent first hits on a new key cannot both insert, and every hit
        # then waits for the one before. A purge or an unlock may delete the row in
        # between: the loop makes it again. The usual case, an existing row, costs one query.
        # Both statements are written out: every rate-limited request runs them, and building
        # them with the query builder took longer than the database took to run them.
        dialect = self._db.capabilities.dialect
        while (row := await self._locked(dialect, key)) is None:
            await ThrottleRow.bulk_create([ThrottleRow(key=key)], ignore_conflicts=True, using_db=self._db)
        before = ThrottleState(row.count, row.marked_at, row.expires_at)
        after, outcome = change(before)
        if after != before:
            values = [after.count, _db_time(after.marked_at), _db_time(after.expires_at), key]
            await self._db.execute_query(_SAVE[dialect], values)
        return outcome

    async def _locked(self, dialect: str, key: str) -> ThrottleRow | None:
        _, rows = await self._db.execute_query(_LOCK[dialect], [key])
        return ThrottleRow._init_from_db(**dict(rows[0])) if rows else None

    async def clear(self, key: str) -> None:
        await ThrottleRow.filter(key=key).using_db(self._db).delete()
