"""What readiness probes and metrics ask of the database: does it answer, is it migrated, how busy is it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from tortoise.connection import get_connection
from tortoise.exceptions import ConfigurationError
from tortoise.migrations.loader import MigrationLoader
from tortoise.migrations.recorder import MigrationRecorder

from persistence.config import connection_name, tortoise_config


@dataclass(frozen=True)
class PoolUsage:
    """Connections of the pool: open, lent out to a query or transaction, and the most there may be."""

    size: int
    in_use: int
    max_size: int


class DatabaseProbe:
    """Asks the database of the running app (the one Tortoise was initialised with)."""

    def __init__(self, database_url: str) -> None:
        self._connection_name = connection_name(database_url)
        self._apps: dict[str, dict[str, Any]] = tortoise_config(database_url)["apps"]
        self._shipped: tuple[list[tuple[str, str]], str] | None = None

    async def problem(self) -> str | None:
        """``None`` if the database answers and has every shipped migration applied, else why not.

        The answer names an exception's type but never its text, and nothing is
        logged here: a probe that fails every few seconds must not flood the log.
        The caller bounds the time (a hung database never answers).
        """
        try:
            connection = get_connection(self._connection_name)
        except ConfigurationError:
            return "database not connected"
        try:
            await connection.execute_query("SELECT 1")
        except Exception as exc:  # any failure means "not ready"
            return f"database unreachable ({type(exc).__name__})"
        shipped, table = self._shipped_migrations()
        try:
            _, rows = await connection.execute_query(f'SELECT "app", "name" FROM "{table}"')  # noqa: S608 - Tortoise's table name
        except Exception:  # no such table: the database answered a moment ago, so nothing was ever migrated
            rows = []
        applied = {(row["app"], row["name"]) for row in rows}
        pending = [name for app, name in shipped if (app, name) not in applied]
        if pending:
            return "migrations not applied: " + ", ".join(pending)
        return None

    def pool_usage(self) -> PoolUsage | None:
        """How many connections are open and lent out; ``None`` before start-up or after shutdown.

        Tortoise has no public API for this: the asyncpg client keeps an asyncpg
        pool in ``_pool``; the SQLite client has one connection, behind ``_lock``.
        """
        try:
            connection = get_connection(self._connection_name)
        except ConfigurationError:
            return None
        pool = getattr(connection, "_pool", None)
        if pool is not None:
            size = int(pool.get_size())
            return PoolUsage(size=size, in_use=size - int(pool.get_idle_size()), max_size=int(pool.get_max_size()))
        lock = getattr(connection, "_lock", None)
        if isinstance(lock, asyncio.Lock):
            opened = getattr(connection, "_connection", None) is not None
            return PoolUsage(size=int(opened), in_use=int(lock.locked()), max_size=1)
        return None

    def _shipped_migrations(self) -> tuple[list[tuple[str, str]], str]:
        """The migrations on disk, as Tortoise's migrator finds them, and the table it records them in."""
        if self._shipped is None:
            recorder = MigrationRecorder(None)
            loader = MigrationLoader(self._apps, recorder)
            loader.load_disk()
            self._shipped = (sorted((key.app_label, key.name) for key in loader.disk_migrations), recorder.table_name)
        return self._shipped
