from __future__ import annotations

from tortoise.context import TortoiseContext

from persistence.config import tortoise_config
from server import apply_migrations


async def test_migrations_create_every_table_and_apply_idempotently(database_url: str) -> None:
    await apply_migrations(database_url)  # second run: nothing pending, nothing fails
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        for table in ("users", "otp_challenges", "sessions", "refresh_tokens"):
            _, rows = await context.db().execute_query(f"SELECT COUNT(*) AS n FROM {table}")  # noqa: S608 - fixed names
            assert rows[0]["n"] == 0
