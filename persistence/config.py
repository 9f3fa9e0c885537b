from __future__ import annotations

from typing import Any

APP_LABEL = "models"


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise configuration for ``database_url`` (``sqlite://…`` or ``postgres://…``)."""
    return {
        "connections": {"default": database_url},
        "apps": {
            APP_LABEL: {
                "models": ["persistence.models"],
                "default_connection": "default",
                "migrations": "persistence.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }
