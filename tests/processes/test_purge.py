"""``python server.py purge``, one run of the retention job, as a real process on SQLite and
PostgreSQL: what it prints, its status, and what is left in the database afterwards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from tortoise.context import TortoiseContext

from persistence.config import tortoise_config
from persistence.retention import RETENTION_LOCK_KEY
from tests.support.aged_rows import DELETED, AgedRows
from tests.support.databases import admin_connect
from tests.support.processes import Finished, server_command
from tests.support.settings import JWT_SECRET

if TYPE_CHECKING:
    from pathlib import Path


async def purge(database_url: str, data_dir: Path, *arguments: str) -> Finished:
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET, "DATA_DIR": str(data_dir)}
    return await server_command("purge", *arguments, env=env)


async def seeded(database_url: str) -> AgedRows:
    rows = AgedRows(datetime.now(UTC))  # the command reads the system clock
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        await rows.seed()
    return rows


async def problems(database_url: str, rows: AgedRows) -> list[str]:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        return await rows.problems()


async def test_it_deletes_what_is_past_its_time_and_says_how_much(database_url: str, tmp_path: Path) -> None:
    rows = await seeded(database_url)
    ran = await purge(database_url, tmp_path)
    assert ran.status == 0, ran.stderr
    assert "Traceback" not in ran.stderr
    printed = [line.split() for line in ran.stdout.splitlines()]
    assert printed == [[table, str(count), "deleted"] for table, count in DELETED.items()]
    assert await problems(database_url, rows) == []

    again = await purge(database_url, tmp_path)
    assert again.status == 0
    assert [line.split()[1] for line in again.stdout.splitlines()] == ["0"] * len(DELETED)


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_it_skips_while_another_process_purges(database_url: str, tmp_path: Path) -> None:
    rows = await seeded(database_url)
    other = await admin_connect(database_url)
    try:
        await other.execute("SELECT pg_advisory_lock($1)", RETENTION_LOCK_KEY)
        ran = await purge(database_url, tmp_path)
    finally:
        await other.close()
    assert ran.status == 0, ran.stderr
    assert ran.stdout == "skipped: another gateway process is purging this database right now\n"
    assert len(await problems(database_url, rows)) == sum(len(keys) for keys in rows.gone.values())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_extra_arguments_are_a_usage_error(database_url: str, tmp_path: Path) -> None:
    ran = await purge(database_url, tmp_path, "--everything")
    assert ran.status == 2
    assert "usage: python server.py purge" in ran.stderr
    assert "Traceback" not in ran.stderr
