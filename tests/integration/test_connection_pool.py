"""PostgreSQL connections go back to the pool without a reset round trip, and without an open transaction."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise import connections
from tortoise.context import TortoiseContext

from persistence.config import tortoise_config

pytestmark = pytest.mark.postgres


async def test_a_released_connection_is_not_reset_but_its_transaction_is_rolled_back(
    postgres_database_url: str,
) -> None:
    one_connection = f"{postgres_database_url}?minsize=1&maxsize=1"
    sent: list[str] = []

    def log(record: Any) -> None:
        sent.append(record.query)

    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(one_connection))
        client: Any = connections.get("postgres")
        async with client.acquire_connection() as connection:
            connection.add_query_logger(log)
            await connection.execute("BEGIN")
            await connection.execute("SELECT 1")
        assert sent == ["BEGIN", "SELECT 1", "ROLLBACK"]  # no RESET ALL, UNLISTEN, CLOSE ALL
        async with client.acquire_connection() as connection:  # the same one: the pool holds one
            assert not connection.is_in_transaction()
            assert await connection.fetchval("SELECT 2") == 2
        assert sent[3:] == ["SELECT 2"]
