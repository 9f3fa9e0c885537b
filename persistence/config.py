from __future__ import annotations

from typing import Any

from asyncpg.connection import Connection
from tortoise.backends.base.config_generator import expand_db_url

APP_LABEL = "models"


class StatelessConnection(Connection):  # type: ignore[misc]
    """A PostgreSQL connection that goes back to the pool without a reset statement.

    asyncpg's pool sends ``RESET ALL``, ``UNLISTEN *``, ``CLOSE ALL`` and
    ``pg_advisory_unlock_all()`` each time a connection is released: a round trip on
    every request. The gateway leaves no such state on a connection (no ``SET``, no
    ``LISTEN``, no cursors or advisory locks that outlive a transaction: a lock it needs
    is a transaction-level ``pg_advisory_xact_lock``), so there is nothing to reset.
    An open transaction is still rolled back on release, as asyncpg always does.
    """

    def get_reset_query(self) -> str:
        return ""


def connection_name(database_url: str) -> str:
    """Named after the engine: Tortoise caches SQL per connection name, so a process
    that opens an SQLite and then a PostgreSQL database (the test suite does) must
    not reuse one's SQL on the other."""
    return "sqlite" if database_url.startswith("sqlite:") else "postgres"


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise configuration for ``database_url`` (``sqlite://…`` or ``postgres://…``)."""
    name = connection_name(database_url)
    connection: str | dict[str, Any] = database_url
    if name == "postgres":
        connection = expand_db_url(database_url)
        connection["credentials"]["connection_class"] = StatelessConnection
    return {
        "connections": {name: connection},
        "apps": {
            APP_LABEL: {
                "models": ["persistence.models"],
                "default_connection": name,
                "migrations": "persistence.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }
