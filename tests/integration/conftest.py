from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tortoise.context import TortoiseContext

from persistence.config import tortoise_config


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[TortoiseContext]:
    """Tortoise initialised on a migrated database (SQLite and PostgreSQL)."""
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        yield context
