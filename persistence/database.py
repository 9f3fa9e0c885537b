"""The gateway's database for the app's lifetime: migrated and opened at start, closed at stop."""

from __future__ import annotations

from tortoise import Tortoise

from persistence.config import tortoise_config
from persistence.migrate import apply_migrations, ensure_sqlite_directory
from persistence.probe import DatabaseProbe


class Database:
    """The gateway's database: migrated (``migrate_on_start``) and opened when the app starts,
    closed when it stops, and probed for readiness and the connection pool's use."""

    def __init__(self, database_url: str, *, migrate_on_start: bool) -> None:
        self._url = database_url
        self._migrate_on_start = migrate_on_start
        self.probe = DatabaseProbe(database_url)

    async def open(self) -> None:
        if self._migrate_on_start:
            await apply_migrations(self._url)
        ensure_sqlite_directory(self._url)
        # Requests run in other tasks than the lifespan: let them find this context.
        await Tortoise.init(config=tortoise_config(self._url), _enable_global_fallback=True)

    async def close(self) -> None:
        await Tortoise.close_connections()
