"""Throwaway PostgreSQL databases on the server of ``TEST_POSTGRES_URL`` (the bench's too)."""

from __future__ import annotations

import asyncio
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from persistence.models import AuditEventRow, OutboxRow, PasskeyChallengeRow, ThrottleRow, UserRow

if TYPE_CHECKING:
    from collections.abc import Coroutine, Iterator

DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    """The PostgreSQL server the tests and the bench may create databases on."""
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_SERVER_URL)


def with_database(url: str, database: str) -> str:
    """``url`` naming ``database`` instead."""
    return urlunsplit(urlsplit(url)._replace(path="/" + database))


def run_in_own_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run ``coroutine`` to the end from sync code, even when called inside a running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


async def admin_connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=5)


async def _execute(url: str, statement: str) -> None:
    connection = await admin_connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def throwaway_database(prefix: str = "gateway_test", server: str | None = None) -> Iterator[str]:
    """A new, empty database (no table) on ``server``, dropped on leaving; yields its URL.

    Raises ``OSError`` or ``asyncpg.PostgresError`` when the server cannot be reached.
    """
    server = server or server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    run_in_own_loop(_execute(server, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(server, name)
    finally:
        run_in_own_loop(_execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def emptied(url: str) -> str:
    """``url``'s database with every table of the gateway emptied."""
    # every other table hangs off users (ON DELETE CASCADE) but these
    models = (UserRow, ThrottleRow, AuditEventRow, PasskeyChallengeRow, OutboxRow)
    tables = ", ".join(model._meta.db_table for model in models)
    await _execute(url, f"TRUNCATE {tables} CASCADE")
    return url
