"""Rate-limit and lockout counters: one row per key, changed under a row lock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from tortoise.transactions import in_transaction

from domain.rate_limiting import CounterHit, ThrottleState, hit
from persistence.models import ThrottleRow

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime, timedelta

    from tortoise.backends.base.client import BaseDBAsyncClient

    from domain.rate_limiting import Rate

T = TypeVar("T")

_LOCK = {
    "postgres": 'SELECT * FROM "throttles" WHERE "key" = $1 FOR UPDATE',
    "sqlite": 'SELECT * FROM "throttles" WHERE "key" = ?',  # one writer at a time: nothing to lock
}
_SAVE = {
    "postgres": 'UPDATE "throttles" SET "count" = $1, "marked_at" = $2, "expires_at" = $3 WHERE "key" = $4',
    "sqlite": 'UPDATE "throttles" SET "count" = ?, "marked_at" = ?, "expires_at" = ? WHERE "key" = ?',
}


# domain.rate_limiting.hit in one statement, for PostgreSQL: with ``arrival`` the later of
# the stored theoretical arrival time and now, an attempt is admitted when
# ``arrival - now`` is within the tolerance, and moves the time to ``arrival`` plus
# the interval. ON CONFLICT DO UPDATE locks the row and judges its latest version,
# so concurrent hits on one key take their turns; a refused hit changes nothing and
# returns no row. GREATEST skips NULL: a row without a time arrives now.
def hit_statement(first: int = 1) -> str:
    """The hit as one statement whose parameters (``hit_arguments``) are numbered from ``first``:
    a row when admitted, none when refused. Within a WITH, the work it gates can wait for it."""
    key, now, interval, tolerance = (f"${number}" for number in range(first, first + 4))
    return f"""
INSERT INTO "throttles" AS t ("key", "count", "marked_at", "expires_at")
VALUES ({key}, 0, {now}::timestamptz + {interval}::interval, {now}::timestamptz + {interval}::interval)
ON CONFLICT ("key") DO UPDATE
SET "marked_at" = GREATEST(t."marked_at", {now}::timestamptz) + {interval}::interval,
    "expires_at" = GREATEST(t."marked_at", {now}::timestamptz) + {interval}::interval
WHERE GREATEST(t."marked_at", {now}::timestamptz) - {now}::timestamptz <= {tolerance}::interval
RETURNING "marked_at"
"""  # noqa: S608 - placeholders only


def hit_arguments(counting: CounterHit) -> list[Any]:
    """The key, now, the interval between admitted attempts and the tolerance (a full budget)."""
    interval = counting.rate.window / counting.rate.limit
    return [counting.key, counting.now, interval, counting.rate.window - interval]


_HIT = hit_statement()
_STATE = 'SELECT "count", "marked_at", "expires_at" FROM "throttles" WHERE "key" = $1'


def _db_time(moment: datetime | None) -> Any:
    """``moment`` as Tortoise writes a datetime to this table (UTC; text on SQLite)."""
    return ThrottleRow._meta.fields_map["marked_at"].to_db_value(moment, ThrottleRow)


class TortoiseThrottleRepository:
    def __init__(self, db: BaseDBAsyncClient, *, in_transaction: bool = True) -> None:
        self._db = db
        self._in_transaction = in_transaction

    async def hit(self, key: str, rate: Rate, now: datetime) -> timedelta | None:
        # ``now`` is read before the statement waits for the row, as far behind as the
        # hit before it took (milliseconds): the attempt is judged a little strictly then,
        # never leniently, and the time it moves to is still after the one before.
        if self._db.capabilities.dialect != "postgres":
            if self._in_transaction:
                return await self.update(key, lambda state: hit(state, rate, now))
            async with in_transaction() as connection:  # SQLite: the select and the update as one
                return await TortoiseThrottleRepository(connection).hit(key, rate, now)
        counting = CounterHit(key, rate, now)
        admitted = await self._db.execute_query_dict(_HIT, hit_arguments(counting))
        return None if admitted else await self.refused_wait(counting)

    async def refused_wait(self, counting: CounterHit) -> timedelta:
        """How long until a refused hit would be admitted, from the row as it is now
        (refusals are the rare case: they cost this second statement)."""
        _, rows = await self._db.execute_query(_STATE, [counting.key])
        state = (
            ThrottleState(rows[0]["count"], rows[0]["marked_at"], rows[0]["expires_at"]) if rows else ThrottleState()
        )
        _, wait = hit(state, counting.rate, counting.now)
        return wait if wait is not None else counting.rate.window / counting.rate.limit

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
