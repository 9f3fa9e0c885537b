"""Applying the migrations of ``persistence/migrations`` to a database."""

from __future__ import annotations

from pathlib import Path

from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as tortoise_migrate

from persistence.config import tortoise_config


def ensure_sqlite_directory(database_url: str) -> None:
    """Make the directory of an SQLite file (``sqlite://data/…``): SQLite makes the file, not its folder."""
    prefix = "sqlite://"
    if database_url.startswith(prefix) and ":memory:" not in database_url:
        Path(database_url[len(prefix) :].split("?", 1)[0]).parent.mkdir(parents=True, exist_ok=True)


async def apply_migrations(database_url: str) -> None:
    """Apply every pending migration; nothing happens when there is none."""
    ensure_sqlite_directory(database_url)
    async with TortoiseContext():
        await tortoise_migrate(config=tortoise_config(database_url))


async def prepare_database(database_url: str, *, migrate: bool) -> None:
    """Before serving: apply pending migrations (``migrate``), or at least reach the database once.

    Raises:
        OSError, BaseORMException: the database cannot be reached (or migrated).
    """
    if migrate:
        await apply_migrations(database_url)
        return
    ensure_sqlite_directory(database_url)
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        await context.db().execute_query("SELECT 1")
