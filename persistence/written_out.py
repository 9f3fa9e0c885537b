"""INSERTs and UPDATEs of the hottest writes, written out instead of built by the query builder.

Every refresh writes the session, its next token and an audit event. Built by Tortoise's
query builder (model instances, query copies, field conversions), each took longer in
Python than the database took to run it. The statements here are made once per table,
columns and engine; the values still go through each field's own conversion
(``to_db_value``), so what is written is exactly what Tortoise would write.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tortoise.backends.base.client import BaseDBAsyncClient
    from tortoise.models import Model


def _placeholders(dialect: str, count: int, start: int = 1) -> list[str]:
    return [f"${number}" for number in range(start, start + count)] if dialect == "postgres" else ["?"] * count


def _column(model: type[Model], name: str) -> str:
    """The quoted column of ``model`` that ``name`` (a field, or a foreign key's ``x_id``) is
    stored in; only names the model declares, so no text from elsewhere reaches the SQL."""
    meta = model._meta
    if name in meta.fields_db_projection:
        return f'"{meta.fields_db_projection[name]}"'
    if name.removesuffix("_id") in meta.fk_fields:
        return f'"{name}"'
    raise KeyError(f"{meta.db_table} has no column {name}")


@functools.cache
def _insert(model: type[Model], columns: tuple[str, ...], dialect: str, start: int = 1) -> str:
    names = ",".join(_column(model, c) for c in columns)
    values = ",".join(_placeholders(dialect, len(columns), start))
    return f'INSERT INTO "{model._meta.db_table}" ({names}) VALUES ({values})'  # noqa: S608 - declared names only


@functools.cache
def _update(model: type[Model], columns: tuple[str, ...], dialect: str) -> str:
    placeholders = _placeholders(dialect, len(columns) + 1)
    targets = ",".join(f"{_column(model, c)}={p}" for c, p in zip(columns, placeholders, strict=False))
    key = _column(model, model._meta.pk_attr)
    return f'UPDATE "{model._meta.db_table}" SET {targets} WHERE {key}={placeholders[-1]}'  # noqa: S608 - the same


def _db_values(model: type[Model], values: Mapping[str, Any]) -> list[Any]:
    """Each value as its field writes it; a foreign key (``x_id``) as the key of the row it points to."""
    converted = []
    for column, value in values.items():
        field = model._meta.fields_map.get(column)
        if field is None:  # a foreign key's column: the related model's primary key converts it
            related = model._meta.fields_map[column.removesuffix("_id")].related_model  # type: ignore[attr-defined]
            field = related._meta.pk
            converted.append(field.to_db_value(value, related))
        else:
            converted.append(field.to_db_value(value, model))
    return converted


async def update_and_insert(
    db: BaseDBAsyncClient,
    updated: type[Model],
    pk: Any,
    changes: Mapping[str, Any],
    inserted: type[Model],
    values: Mapping[str, Any],
) -> None:
    """``update`` then ``insert``; on PostgreSQL as one statement (the UPDATE in a WITH), one round trip."""
    if db.capabilities.dialect != "postgres":
        await update(db, updated, pk, changes)
        await insert(db, inserted, values)
        return
    first = _update(updated, tuple(changes), "postgres")
    second = _insert(inserted, tuple(values), "postgres", start=len(changes) + 2)
    arguments = [
        *_db_values(updated, changes),
        updated._meta.pk.to_db_value(pk, updated),
        *_db_values(inserted, values),
    ]
    await db.execute_query(f"WITH changed AS ({first}) {second}", arguments)


async def insert(db: BaseDBAsyncClient, model: type[Model], values: Mapping[str, Any]) -> None:
    """INSERT one row of ``model`` with ``values`` (field or foreign-key column names)."""
    sql = _insert(model, tuple(values), db.capabilities.dialect)
    await db.execute_query(sql, _db_values(model, values))


async def update(db: BaseDBAsyncClient, model: type[Model], pk: Any, values: Mapping[str, Any]) -> None:
    """UPDATE the row of ``model`` whose primary key is ``pk`` with ``values``."""
    sql = _update(model, tuple(values), db.capabilities.dialect)
    pk_field = model._meta.pk
    await db.execute_query(sql, [*_db_values(model, values), pk_field.to_db_value(pk, model)])
