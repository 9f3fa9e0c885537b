"""Which databases a test runs on: ``database_url`` runs each test on SQLite and on PostgreSQL.

A test of what happens above the database (HTTP, CSRF and CORS, GraphQL validation and
limits, logging, GraphiQL) asks the database nothing that the same requests in the other
tests do not ask on both, so ``sqlite_only`` runs it once. Whatever depends on SQL (rows
read or written in a way a test is about, locks, concurrency, migrations, outages of the
database) runs on both.
"""

from __future__ import annotations

import pytest

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
