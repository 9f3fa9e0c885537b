from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tortoise.context import TortoiseContext

from persistence.config import tortoise_config
from server import apply_migrations

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
