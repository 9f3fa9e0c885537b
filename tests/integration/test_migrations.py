from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from tortoise.context import TortoiseContext
from tortoise.exceptions import IntegrityError
from tortoise.migrations.api import migrate as tortoise_migrate

from domain.entities import OtpPurpose
from persistence.config import tortoise_config
from persistence.migrate import apply_migrations
from persistence.models import OtpChallengeRow, UserRow
from persistence.unit_of_work import TortoiseUnitOfWork
from tests.support.databases import DEFAULT_SERVER_URL, with_database

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

# Added by 0003_session_clients_and_email_change: (table, column) -> VARCHAR length; each may be NULL.
LIFECYCLE_COLUMNS = {
    ("sessions", "client_ip"): 45,
    ("sessions", "user_agent"): 512,
    ("otp_challenges", "new_email"): 254,
}


async def test_migrations_create_every_table_and_apply_idempotently(database_url: str) -> None:
    await apply_migrations(database_url)  # second run: nothing pending, nothing fails
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        for table in ("users", "otp_challenges", "sessions", "refresh_tokens"):
            _, rows = await context.db().execute_query(f"SELECT COUNT(*) AS n FROM {table}")  # noqa: S608 - fixed names
            assert rows[0]["n"] == 0


async def columns(context: TortoiseContext, table: str) -> dict[str, tuple[str, bool]]:
    """Each column of ``table`` as the database describes it: its type, lower case, and whether it may be NULL."""
    db = context.db()
    if db.capabilities.dialect == "sqlite":
        _, rows = await db.execute_query(f"PRAGMA table_info({table})")
        return {row["name"]: (row["type"].lower(), not row["notnull"]) for row in rows}
    _, rows = await db.execute_query(
        "SELECT column_name, data_type, character_maximum_length, is_nullable FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1",
        [table],
    )
    return {
        row["column_name"]: (
            f"varchar({row['character_maximum_length']})"
            if row["data_type"] == "character varying"
            else row["data_type"],
            row["is_nullable"] == "YES",
        )
        for row in rows
    }


@pytest.fixture
async def migrated(database_url: str) -> AsyncIterator[TortoiseContext]:
    """Tortoise initialised on the migrated database, its models registered."""
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        yield context


async def test_the_lifecycle_columns_are_nullable_varchars_of_the_models_length(
    migrated: TortoiseContext,
) -> None:
    for (table, column), length in LIFECYCLE_COLUMNS.items():
        assert (await columns(migrated, table)).get(column) == (f"varchar({length})", True), (table, column)


async def test_every_column_of_every_model_exists(migrated: TortoiseContext) -> None:
    # A field added to a model without its migration fails here, not in production.
    assert migrated.apps is not None
    models = list(migrated.apps.get_models_iterable())
    assert {model._meta.db_table for model in models} >= {"users", "sessions", "otp_challenges", "audit_events"}
    for model in models:
        table = model._meta.db_table
        in_database = await columns(migrated, table)
        for field_name, column in model._meta.fields_db_projection.items():
            assert column in in_database, f"{table}.{column} ({model.__name__}.{field_name}) has no migration"
            declared = model._meta.fields_map[field_name]
            assert in_database[column][1] == declared.null, f"{table}.{column}: NULL allowed differs from the model"
            max_length = getattr(declared, "max_length", None)
            if max_length is not None:
                assert in_database[column][0] == f"varchar({max_length})", (table, column)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_before_0004(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A new database migrated up to 0003, as a gateway of the previous release left it."""
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path / 'before.sqlite3'}"
    else:
        server_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_SERVER_URL)
        request.getfixturevalue("postgres_database_url")  # skips (or fails under CI) without PostgreSQL
        name = f"gateway_migration_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(server_url.replace("postgres://", "postgresql://", 1))
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = with_database(server_url, name)
    async with TortoiseContext():
        await tortoise_migrate(config=tortoise_config(url), target="models.0003_session_clients_and_email_change")
    yield url
    if request.param == "postgres":
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_0004_gives_every_mailbox_its_own_key_and_keeps_one_code_per_purpose(database_before_0004: str) -> None:
    url = database_before_0004
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(url))
        db = context.db()
        postgres = db.capabilities.dialect == "postgres"

        def insert(table: str, columns: str, count: int) -> str:
            marks = ", ".join(f"${n}" if postgres else "?" for n in range(1, count + 1))
            return f'INSERT INTO "{table}" ({columns}) VALUES ({marks})'  # noqa: S608 - fixed names

        people = {"Straße@Example.com": uuid.uuid4(), "MIXED.Case@example.com": uuid.uuid4()}
        user_columns = (
            '"id", "email", "email_key", "password_hash", "first_name", "last_name", "email_verified", "created_at"'
        )
        for email, user_id in people.items():  # keyed as the previous release did: casefolded
            row = [str(user_id), email, email.casefold(), "$2b$04$" + "x" * 53, None, None, True, NOW]
            await db.execute_query(insert("users", user_columns, 8), row)
        code_columns = '"id", "user_id", "purpose", "code_hmac", "expires_at", "attempts", "created_at"'
        code = [str(uuid.uuid4()), str(people["Straße@Example.com"]), "reset_password", "a" * 64, NOW, 2, NOW]
        await db.execute_query(insert("otp_challenges", code_columns, 7), code)

    await apply_migrations(url)

    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(url))
        keys = {row.email: row.email_key for row in await UserRow.all()}
        assert keys == {"Straße@Example.com": "straße@example.com", "MIXED.Case@example.com": "mixed.case@example.com"}
        async with TortoiseUnitOfWork() as uow:
            strasse = await uow.users.get_by_email("straße@example.com")
            assert strasse is not None
            assert await uow.users.get_by_email("strasse@example.com") is None  # another mailbox
            assert await uow.otps.get_for_update(strasse.id, OtpPurpose.RESET_PASSWORD) is not None
        with pytest.raises(IntegrityError):  # still one code per account and purpose
            await OtpChallengeRow.create(
                id=uuid.uuid4(),
                user_id=strasse.id,
                purpose="reset_password",
                code_hmac="b" * 64,
                expires_at=NOW,
                created_at=NOW,
            )
