from __future__ import annotations

from typing import Any

APP_LABEL = "models"


def connection_name(database_url: str) -> str:
    """Named after the engine: Tortoise caches SQL per connection name, so a process
    that opens an SQLite and then a PostgreSQL database (the test suite does) must
    not reuse one's SQL on the other."""
    return "sqlite" if database_url.startswith("sqlite:") else "postgres"


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise configuration for ``database_url`` (``sqlite://…`` or ``postgres://…``)."""
    name = connection_name(database_url)
    return {
        "connections": {name: database_url},
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
