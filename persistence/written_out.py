"""INSERTs and UPDATEs of the hottest writes, written out instead of built by the query builder.

Every refresh writes the session, its next token and an audit event (on PostgreSQL in one
statement: ``update_if_then_insert``). Built by Tortoise's
query builder (model instances, query copies, field conversions), each took longer in
Python than the database took to run it. The statements here are made once per table,
columns and engine; the values still go through each field's own conversion
(``to_db_value``), so what is written is exactly what Tortoise would write.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

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
def _update(model: type[Model], columns: tuple[str, ...], dialect: str, expected: tuple[str, ...] = ()) -> str:
    """UPDATE the row whose key is the parameter after ``columns``' values and whose ``expected``
    columns hold the parameters after it, in order (a NULL expected is a parameter too:
    ``IS NOT DISTINCT FROM`` matches it)."""
    placeholders = _placeholders(dialect, len(columns) + 1 + len(expected))
    targets = ",".join(f"{_column(model, c)}={p}" for c, p in zip(columns, placeholders, strict=False))
    key = _column(model, model._meta.pk_attr)
    where = " AND ".join(
        [
            f"{key}={placeholders[len(columns)]}",
            *(
                f"{_column(model, c)} IS NOT DISTINCT FROM {p}"
                if dialect == "postgres"
                else f"{_column(model, c)} IS {p}"  # SQLite's IS compares NULL as a value
                for c, p in zip(expected, placeholders[len(columns) + 1 :], strict=True)
            ),
        ]
    )
    return f'UPDATE "{model._meta.db_table}" SET {targets} WHERE {where}'  # noqa: S608 - the same


class Gate(NamedTuple):
    """A statement that must return a row for a write to go ahead, made in the same statement
    as the write (PostgreSQL): ``statement(first)`` is its SQL with parameters numbered from
    ``first``, ``arguments`` their values."""

    statement: Callable[[int], str]
    arguments: list[Any]


@functools.cache
def _update_if_then_insert(
    updated: type[Model],
    columns: tuple[str, ...],
    expected: tuple[str, ...],
    inserted: tuple[tuple[type[Model], tuple[str, ...]], ...],
    gate: Callable[[int], str] | None = None,
) -> str:
    """PostgreSQL: the conditional UPDATE in a WITH; each INSERT takes its values only FROM the
    updated row, so it writes nothing when the update matched none; the counts of updated
    rows and of the gate's rows (1 without a gate). The gate's parameters come last."""
    where = _update(updated, columns, "postgres", expected)
    start = len(columns) + 1 + len(expected) + 1
    gated = " AND EXISTS (SELECT 1 FROM gate)" if gate else ""
    parts = [f"changed AS ({where}{gated} RETURNING 1)"]
    for number, (model, names) in enumerate(inserted):
        values = ",".join(_placeholders("postgres", len(names), start))
        into = ",".join(_column(model, name) for name in names)
        table = model._meta.db_table
        parts.append(f'inserted_{number} AS (INSERT INTO "{table}" ({into}) SELECT {values} FROM changed)')  # noqa: S608
        start += len(names)
    opened = "(SELECT count(*) FROM gate)" if gate else "1"
    if gate:
        parts.insert(0, f"gate AS ({gate(start)})")
    return f"WITH {', '.join(parts)} SELECT (SELECT count(*) FROM changed) AS updated, {opened} AS opened"  # noqa: S608


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


async def update_if_then_insert(
    db: BaseDBAsyncClient,
    updated: type[Model],
    pk: Any,
    expected: Mapping[str, Any],
    changes: Mapping[str, Any],
    inserts: Sequence[tuple[type[Model], Mapping[str, Any]]],
    gate: Gate | None = None,
) -> bool | None:
    """Compare and set: ``update`` the row of ``updated`` whose key is ``pk`` with ``changes`` if
    its columns still hold ``expected``, and only then INSERT each of ``inserts`` (model, values);
    all of it or nothing. Whether the row matched. On PostgreSQL one statement, whose UPDATE
    waits for the row's lock and judges the row as the writer before it left it; elsewhere
    (SQLite, one writer at a time) the statements in one transaction. ``gate`` (PostgreSQL
    only) runs first in the same statement: ``None`` when it returned no row, and nothing
    else was written.
    """
    key = updated._meta.pk.to_db_value(pk, updated)
    if db.capabilities.dialect != "postgres":
        if gate is not None:
            raise ValueError("a gate is one statement with the write: PostgreSQL only")
        async with db._in_transaction() as connection:  # nested in the caller's transaction, if any
            matched, _ = await connection.execute_query(
                _update(updated, tuple(changes), "sqlite", tuple(expected)),
                [*_db_values(updated, changes), key, *_db_values(updated, expected)],
            )
            if matched != 1:
                return False
            for model, values in inserts:
                await insert(connection, model, values)
        return True
    sql = _update_if_then_insert(
        updated,
        tuple(changes),
        tuple(expected),
        tuple((model, tuple(values)) for model, values in inserts),
        gate.statement if gate else None,
    )
    arguments = [*_db_values(updated, changes), key, *_db_values(updated, expected)]
    for model, values in inserts:
        arguments.extend(_db_values(model, values))
    if gate is not None:
        arguments.extend(gate.arguments)
    _, rows = await db.execute_query(sql, arguments)
    if not rows[0]["opened"]:
        return None
    return bool(rows[0]["updated"])


async def insert(db: BaseDBAsyncClient, model: type[Model], values: Mapping[str, Any]) -> None:
    """INSERT one row of ``model`` with ``values`` (field or foreign-key column names)."""
    sql = _insert(model, tuple(values), db.capabilities.dialect)
    await db.execute_query(sql, _db_values(model, values))


async def update(db: BaseDBAsyncClient, model: type[Model], pk: Any, values: Mapping[str, Any]) -> None:
    """UPDATE the row of ``model`` whose primary key is ``pk`` with ``values``."""
    sql = _update(model, tuple(values), db.capabilities.dialect)
    pk_field = model._meta.pk
    await db.execute_query(sql, [*_db_values(model, values), pk_field.to_db_value(pk, model)])
