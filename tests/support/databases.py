"""Throwaway PostgreSQL databases on the server of ``TEST_POSTGRES_URL`` (the bench's too)."""

from __future__ import annotations

import asyncio
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from graphlib import TopologicalSorter
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise.models import Model

from persistence import models as gateway_models

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
    """``url``'s database with every table of the gateway emptied.

    ``DELETE``, not ``TRUNCATE``: a test leaves a few rows, and truncating 19 tables gives
    each new files on disk (about 0.1 s a test, against under a millisecond here). One
    statement string is one transaction; referencing tables go first, whatever a foreign
    key does on delete.
    """
    statements = [f'DELETE FROM "{table}"' for table in _referencing_tables_first()]  # noqa: S608 - the models' names
    await _execute(url, "; ".join(statements))
    return url


def _referencing_tables_first() -> list[str]:
    """The gateway's tables, each after every table whose rows point at its rows."""
    models = {model.__name__: model for model in _gateway_models()}
    referenced_by: dict[str, set[str]] = {model._meta.db_table: set() for model in models.values()}
    for model in models.values():
        for name in model._meta.fk_fields | model._meta.o2o_fields:
            # "models.UserRow": named, not resolved, until Tortoise is initialised
            parent = models[model._meta.fields_map[name].model_name.rpartition(".")[2]]  # type: ignore[attr-defined]
            referenced_by[parent._meta.db_table].add(model._meta.db_table)
    return list(TopologicalSorter(referenced_by).static_order())


def _gateway_models() -> list[type[Model]]:
    """Every table's model of the gateway (persistence.models)."""
    return [
        value
        for value in vars(gateway_models).values()
        if isinstance(value, type) and issubclass(value, Model) and value.__module__ == gateway_models.__name__
    ]
