"""What one operation cost PostgreSQL, from what ``make capacity`` saw: the statements a
client sent, and the WAL records of the operation's transactions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

HEAP_WRITES = re.compile(r"^(INSERT|UPDATE|HOT_UPDATE|DELETE|MULTI_INSERT)")


@dataclass
class Statement:
    sql: str
    in_transaction: bool  # sent inside BEGIN … COMMIT (BEGIN itself is not)
    prepared: bool  # asyncpg prepared it first: one more round trip


def transactions(statements: list[Statement]) -> int:
    """The transactions ``statements`` make: each statement sent outside a transaction is a
    ``BEGIN`` or a transaction of its own (``COMMIT`` is sent inside)."""
    return sum(1 for statement in statements if not statement.in_transaction)


def wal_summary(records: list[dict[str, Any]]) -> dict[str, int]:
    """WAL records of one operation (resource manager, record type, bytes, full-page image bytes)
    summed: bytes, and the rows written, locked and indexed."""
    heap = [r for r in records if r["resource_manager"] in ("Heap", "Heap2")]
    return {
        "wal_bytes": sum(r["record_length"] for r in records),
        "fpi_bytes": sum(r["fpi_length"] for r in records),
        "rows_written": sum(1 for r in heap if HEAP_WRITES.match(r["record_type"])),
        "row_locks": sum(1 for r in heap if r["record_type"].startswith("LOCK")),
        "index_entries": sum(
            1 for r in records if r["resource_manager"] == "Btree" and r["record_type"].startswith("INSERT")
        ),
        "commits": sum(1 for r in records if r["resource_manager"] == "Transaction" and "COMMIT" in r["record_type"]),
    }
