"""PostgreSQL connections go back to the pool without a reset round trip, and without an open transaction."""

from __future__ import annotations

import asyncio
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


async def test_a_unit_of_single_statements_holds_one_connection_and_gives_it_back(
    postgres_database_url: str,
) -> None:
    from persistence.unit_of_work import TortoiseReadOnlyUnitOfWork

    one_connection = f"{postgres_database_url}?minsize=1&maxsize=1"
    backends: list[int] = []

    async def unit_that_fails() -> None:
        async with TortoiseReadOnlyUnitOfWork() as statements:
            _, rows = await statements.sessions._db.execute_query("SELECT pg_backend_pid() AS pid")
            _, again = await statements.users._db.execute_query("SELECT pg_backend_pid() AS pid")
            assert again == rows  # both statements on the one held connection
            backends.append(rows[0]["pid"])
            raise RuntimeError

    async def three_units_then_one() -> None:
        for _ in range(3):
            with pytest.raises(RuntimeError):  # given back however the unit of work ends
                await unit_that_fails()
        async with TortoiseReadOnlyUnitOfWork() as statements:
            await statements.users._db.execute_query("SELECT 1")
            assert not statements.users._db._connection.is_in_transaction()  # each statement commits alone

    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(one_connection))
        # a connection not given back would leave the pool of one empty: the next unit would wait
        await asyncio.wait_for(three_units_then_one(), timeout=10)
    assert len(set(backends)) == 1
