"""``make capacity``: what each operation costs PostgreSQL, and what two gateway processes and
one PostgreSQL did on this machine; writes bench/results/capacity.json (docs/capacity.md).

Per operation (``register``, the delivery of its mail, ``verifyOtp``, ``login``, ``me``,
``refreshToken``, ``logout``), on a throwaway database, the app in this process (the
tests' way: lifespan and all, requests through httpx's ASGI transport):

- statements and round trips, counted on the client: every call into an asyncpg connection
  (``execute``, ``fetch``, ``fetchrow``, ``fetchval``, ``executemany``: one round trip each),
  plus one more round trip for each statement asyncpg had to prepare (its statement cache
  missed); ``BEGIN`` and ``COMMIT`` are statements too. A statement outside ``BEGIN`` is a
  transaction of its own;
- WAL: the records between ``pg_current_wal_lsn()`` before and after that touch this
  database's relations or belong to their transactions (``pg_walinspect``, in a second
  throwaway database: the server is shared, and its other databases write WAL too), their
  bytes, full-page images among them, and the rows they write (heap inserts, updates,
  deletes), lock (``FOR UPDATE``) and index;
- a cross-check from the server's own counters: ``pg_stat_database``'s ``xact_commit`` and
  ``tup_inserted``/``tup_updated``/``tup_deleted`` for the database, before and after each
  phase.

The dispatcher's loop is stopped, so that a mail goes out only when the measurement says
(``settle``, what the loop does when a commit wakes it).

Then two gateway processes (``uvicorn --workers 2``) on a fresh database, driven by wrk as
``make bench`` does (``me`` at 16 connections, ``refreshToken`` in 8 rotation chains):
requests/s, and the CPU time of the PostgreSQL backends serving them (``/proc``), per request.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from asgi_lifespan import LifespanManager
from asyncpg.connection import Connection

from bench import capacity_model
from bench import run as bench_run
from bench import wrk as wrk_runner
from bench.accounting import Statement, transactions, wal_summary
from tests.support.client import Gateway
from tests.support.databases import admin_connect, throwaway_database
from tests.support.mail import SmtpSink, held_smtp_sink
from tests.support.processes import ROOT
from tests.support.settings import make_settings
from web.app import create_app

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import asyncpg

    from bench.wrk import WrkResult
    from tests.support.processes import RunningProcess

OUTPUT = bench_run.RESULTS / "capacity.json"
REPEATS = 15  # measured repetitions of each operation; medians are reported
WARMUP = 2  # first repetitions, not measured: connections open, statements prepared
PASSWORD = bench_run.PASSWORD
LOAD_SECONDS = 5.0
STATS_SETTLE_SECONDS = 11.0  # PostgreSQL 15: an idle backend reports its counters after 10 s
CALLS = ("execute", "executemany", "fetch", "fetchrow", "fetchval")

# the operation being measured, in the task that runs it (and the tasks it starts)
OPERATION: contextvars.ContextVar[str | None] = contextvars.ContextVar("operation", default=None)


@dataclass
class StatementCounter:
    """Wraps asyncpg's connection methods to note each statement of the current ``OPERATION``."""

    seen: list[Statement] = field(default_factory=list)

    def install(self) -> None:
        for name in CALLS:
            setattr(Connection, name, self._counted(getattr(Connection, name)))
        original = Connection._get_statement

        @wraps(original)
        async def get_statement(connection: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            record_class = kwargs.get("record_class") or connection._protocol.get_record_class()
            key = (query, record_class, kwargs.get("ignore_custom_codec", False))
            if OPERATION.get() is not None and connection._stmt_cache.get(key) is None and self.seen:
                self.seen[-1].prepared = True
            return await original(connection, query, *args, **kwargs)

        Connection._get_statement = get_statement

    def _counted(self, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @wraps(method)
        async def counted(connection: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            if OPERATION.get() is not None:
                self.seen.append(Statement(" ".join(query.split()), connection.is_in_transaction(), False))
            return await method(connection, query, *args, **kwargs)

        return counted

    def take(self) -> list[Statement]:
        taken, self.seen = self.seen, []
        return taken


WAL_OF_DATABASE = """
WITH records AS (SELECT * FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)),
ours AS (SELECT DISTINCT xid FROM records WHERE block_ref ~ $3 AND xid <> '0')
SELECT resource_manager, record_type, record_length, fpi_length FROM records
WHERE block_ref ~ $3 OR (xid <> '0' AND xid IN (SELECT xid FROM ours))
"""
DATABASE_COUNTERS = """
SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = $1
"""


class Observer:
    """A connection to a second throwaway database (with pg_walinspect) that reads the WAL and
    the counters of the measured one."""

    def __init__(self, connection: asyncpg.Connection, database: str, database_oid: int) -> None:
        self._connection = connection
        self._database = database
        self._block_of_database = rf" rel \d+/{database_oid}/"

    async def lsn(self) -> int:
        """Where the WAL is written to now (asyncpg reads a ``pg_lsn`` as an int)."""
        return int(await self._connection.fetchval("SELECT pg_current_wal_lsn()"))

    async def wal(self, start: int, end: int) -> list[dict[str, Any]]:
        """This database's records from ``start`` to ``end`` (once flushed: pg_walinspect reads no further)."""
        if end <= start:
            return []
        for _ in range(100):
            if int(await self._connection.fetchval("SELECT pg_current_wal_flush_lsn()")) >= end:
                break
            await asyncio.sleep(0.01)
        rows = await self._connection.fetch(WAL_OF_DATABASE, start, end, self._block_of_database)
        return [dict(row) for row in rows]

    async def counters(self) -> dict[str, int]:
        """The database's counters once every backend has reported: a busy backend reports at
        most once a second, and one gone idle within ``STATS_SETTLE_SECONDS``."""
        await asyncio.sleep(STATS_SETTLE_SECONDS)
        await self._connection.execute("SELECT pg_stat_clear_snapshot()")
        return dict(await self._connection.fetchrow(DATABASE_COUNTERS, self._database))


@dataclass
class Measured:
    statements: list[list[Statement]] = field(default_factory=list)
    wal: list[dict[str, int]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        def median(values: list[int]) -> float:
            return float(statistics.median(values))

        kept = self.statements[WARMUP:]
        wal = self.wal[WARMUP:]
        return {
            "repetitions": len(kept),
            "statements": median([len(s) for s in kept]),
            "round_trips": median([len(s) + sum(x.prepared for x in s) for s in kept]),
            "transactions": median([transactions(s) for s in kept]),
            **{key: median([w[key] for w in wal]) for key in wal[0]},
            "wal_bytes_min": min(w["wal_bytes"] for w in wal),
            "wal_bytes_max": max(w["wal_bytes"] for w in wal),
            "sql": [s.sql[:200] for s in kept[-1]],
        }


class Measurement:
    def __init__(self, counter: StatementCounter, observer: Observer) -> None:
        self.counter = counter
        self.observer = observer
        self.operations: dict[str, Measured] = {}

    async def __call__(self, operation: str, action: Awaitable[Any]) -> Any:
        start = await self.observer.lsn()
        self.counter.take()
        token = OPERATION.set(operation)
        try:
            result = await action
        finally:
            OPERATION.reset(token)
        statements = self.counter.take()
        end = await self.observer.lsn()
        measured = self.operations.setdefault(operation, Measured())
        measured.statements.append(statements)
        measured.wal.append(wal_summary(await self.observer.wal(start, end)))
        return result


async def measure_operations(database_url: str, observer: Observer, mailbox: SmtpSink) -> dict[str, Any]:
    """Each operation ``WARMUP + REPEATS`` times, in phases; the server's counters around each phase."""
    counter = StatementCounter()
    counter.install()
    measure = Measurement(counter, observer)
    phases: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as data:
        settings = make_settings(
            database_url,
            mailbox.port,
            Path(data),
            bcrypt_cost=4,  # the statements do not depend on it
            # as in make bench: passkeys offered, so a right password also looks for the account's passkeys
            webauthn_rp_id="localhost",
            webauthn_origins=["http://localhost:8080"],
        )
        app = create_app(settings)
        async with (
            LifespanManager(app) as manager,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway.test") as http,
        ):
            dispatcher = app.state.services.mail_dispatcher
            await dispatcher.stop()  # mail goes out when the measurement says
            gateway = Gateway(http, mailbox, app, settle_mail_after_requests=False)
            count = WARMUP + REPEATS
            emails = [f"capacity-{number}@example.com" for number in range(count)]
            payloads: list[dict[str, Any]] = []

            counters = [await observer.counters()]

            async def phase(name: str, run: Callable[[], Awaitable[None]]) -> None:
                await run()
                counters.append(await observer.counters())
                before, after = counters[-2:]
                phases[name] = {key: after[key] - before[key] for key in after}

            async def sign_ups() -> None:
                for email in emails:
                    answer = await measure("register", gateway.register(email, PASSWORD, firstName="C", lastName="M"))
                    assert answer["__typename"] == "OtpSent", answer
                    await measure("deliver its mail", dispatcher.settle())
                    code = await gateway.last_code(email)
                    payload = await measure("verifyOtp", gateway.verify(email, code, password=PASSWORD))
                    assert payload["__typename"] == "AuthPayload", payload
                    payloads.append(payload)

            async def mes() -> None:
                for payload in payloads:
                    answer = await measure("me", gateway.me(payload["accessToken"]))
                    assert answer["data"]["me"]["email"], answer

            async def refreshes() -> None:
                for payload in payloads:
                    rotated = await measure("refreshToken", gateway.refresh(payload["refreshToken"]))
                    assert rotated["__typename"] == "AuthPayload", rotated
                    payload.update(rotated)

            async def first_refreshes() -> None:
                # An account's first refresh makes its refresh counter's row (two statements
                # more); later ones, what the steady state is made of, find it.
                for payload in payloads:
                    rotated = await measure("first refreshToken", gateway.refresh(payload["refreshToken"]))
                    assert rotated["__typename"] == "AuthPayload", rotated
                    payload.update(rotated)

            async def logins() -> None:
                for email in emails:
                    answer = await measure("login", gateway.login(email, PASSWORD))
                    assert answer["__typename"] == "AuthPayload", answer

            async def logouts() -> None:
                for payload in payloads:
                    answer = await measure("logout", gateway.logout(payload["accessToken"]))
                    assert answer["endedSessions"] == 1, answer

            await phase("register + deliver its mail + verifyOtp", sign_ups)
            await phase("me", mes)
            await phase("first refreshToken", first_refreshes)
            await phase("refreshToken", refreshes)
            await phase("login", logins)
            await phase("logout", logouts)
    operations = {name: measured.summary() for name, measured in measure.operations.items()}
    cross_check = {}
    for name, delta in phases.items():
        names = name.split(" + ")
        cross_check[name] = {
            "per_repetition": {key: round(value / count, 2) for key, value in delta.items()},
            "client_transactions": sum(operations[n]["transactions"] for n in names),
            "wal_rows_written": sum(operations[n]["rows_written"] for n in names),
        }
    return {"operations": operations, "pg_stat_database": cross_check, "storage": await storage(database_url)}


TUPLE_OVERHEAD = 28  # bytes: a heap tuple's header (23, aligned to 24) and its line pointer (4)


async def storage(database_url: str) -> dict[str, dict[str, float]]:
    """Per table with rows after the measurements: its rows, the average heap bytes of one
    (``pg_column_size`` of the row plus ``TUPLE_OVERHEAD``; before fill factor and dead
    versions) and its indexes. The whole relation's size of a table this small is mostly
    empty pages, so it is not used."""
    connection = await admin_connect(database_url)
    try:
        tables = await connection.fetch(
            "SELECT c.relname, (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid) AS indexes "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname"
        )
        sizes = {}
        for table in tables:
            name = table["relname"]
            # the name is one of the catalogue's own tables of this database, quoted
            query = f'SELECT count(*) AS rows, avg(pg_column_size(t.*)) AS width FROM "{name}" t'  # noqa: S608
            row = await connection.fetchrow(query)
            if row["rows"]:
                sizes[name] = {
                    "rows": row["rows"],
                    "heap_bytes_per_row": round(float(row["width"]) + TUPLE_OVERHEAD),
                    "indexes": table["indexes"],
                }
    finally:
        await connection.close()
    return sizes


async def backend_pids(admin_url: str, database: str) -> list[int]:
    connection = await admin_connect(admin_url)
    try:
        rows = await connection.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


def loaded(two: RunningProcess, database: str, run: Callable[[], WrkResult]) -> dict[str, float]:
    """``run`` (a wrk run against ``two``), with the CPU its PostgreSQL backends and the gateway's workers spent."""
    admin = bench_run.ADMIN_URL
    backends = asyncio.run(backend_pids(admin, database))
    workers = two.worker_pids()
    pg_before, gateway_before = bench_run.cpu_seconds(backends), bench_run.cpu_seconds(workers)
    result = run()
    pg_cpu, gateway_cpu = bench_run.cpu_seconds(backends) - pg_before, bench_run.cpu_seconds(workers) - gateway_before
    return {
        "per_s": round(result.ok_per_s, 1),
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "postgres_backends": len(backends),
        "postgres_cpu_ms_per_request": round(pg_cpu * 1000 / max(result.ok, 1), 3),
        "gateway_cpu_ms_per_request": round(gateway_cpu * 1000 / max(result.ok, 1), 3),
        "postgres_cores_busy": round(pg_cpu / LOAD_SECONDS, 2),
        "bad": result.bad + result.socket_errors,
    }


def measure_two_processes(mailbox: SmtpSink) -> dict[str, Any]:
    """``me`` and ``refreshToken`` against ``uvicorn --workers 2``, as make bench drives them."""
    wrk = wrk_runner.ensure_wrk()
    logs = bench_run.RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    signing_key = subprocess.run(
        [sys.executable, "server.py", "generate-key"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    with throwaway_database("gateway_capacity_load", bench_run.ADMIN_URL) as database_url:
        database = database_url.rsplit("/", 1)[1]
        env = bench_run.gateway_env(database_url, mailbox.port, signing_key)
        with bench_run.serving("capacity-gateway", [sys.executable, "server.py"], env, logs, "/readyz") as one:
            token, body = bench_run.sign_up(one, mailbox)
            chains = bench_run.chain_users(one, mailbox)
        workers_env = {**env, "MIGRATE_ON_START": "false"}
        two_workers = bench_run.TWO_WORKERS_COMMAND
        with bench_run.serving("capacity-2-workers", two_workers, workers_env, logs, "/readyz") as two:
            bench_run.wait_for_workers(two, 2)
            me_env = {
                "BENCH_ACCESS_TOKEN": token,
                "BENCH_ME_BODY": body,
                "BENCH_ME_REQUEST": json.dumps({"query": bench_run.ME_QUERY}),
            }
            wrk_runner.run(wrk, two.url, "me.lua", seconds=2, connections=bench_run.ME_CONNECTIONS, env=me_env)
            bench_run.say(f"2 workers: me, {bench_run.ME_CONNECTIONS} connections, {LOAD_SECONDS:.0f} s")
            me = loaded(
                two,
                database,
                lambda: wrk_runner.run(
                    wrk, two.url, "me.lua", seconds=LOAD_SECONDS, connections=bench_run.ME_CONNECTIONS, env=me_env
                ),
            )
            bench_run.say(f"  {me}")
            tokens_file = logs / "capacity-refresh-tokens.txt"
            tokens_file.write_text("\n".join(bench_run.mint_refresh_tokens(two, chains)) + "\n")
            bench_run.say(f"2 workers: refreshToken, {bench_run.REFRESH_CHAINS} chains, {LOAD_SECONDS:.0f} s")
            refresh = loaded(
                two,
                database,
                lambda: wrk_runner.run(
                    wrk,
                    two.url,
                    "refresh.lua",
                    seconds=LOAD_SECONDS,
                    connections=bench_run.REFRESH_CHAINS,
                    threads=bench_run.REFRESH_CHAINS,
                    env={"BENCH_REFRESH_TOKENS": str(tokens_file)},
                ),
            )
            bench_run.say(f"  {refresh}")
    return {"me": me, "refreshToken": refresh, "seconds_per_run": LOAD_SECONDS, "gateway_workers": 2}


async def open_observer(admin_url: str, observer_url: str, database: str) -> Observer:
    connection = await admin_connect(observer_url)
    await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
    admin = await admin_connect(admin_url)
    try:
        oid = await admin.fetchval("SELECT oid FROM pg_database WHERE datname = $1", database)
    finally:
        await admin.close()
    return Observer(connection, database, int(oid))


async def per_operation(database_url: str, observer_url: str, mailbox: SmtpSink) -> dict[str, Any]:
    database = database_url.rsplit("/", 1)[1]
    observer = await open_observer(bench_run.ADMIN_URL, observer_url, database)
    try:
        return await measure_operations(database_url, observer, mailbox)
    finally:
        await observer._connection.close()


def server_settings() -> dict[str, str]:
    async def read() -> dict[str, str]:
        connection = await admin_connect(bench_run.ADMIN_URL)
        try:
            names = ("server_version", "max_connections", "shared_buffers", "synchronous_commit", "fsync")
            return {name: str(await connection.fetchval(f"SHOW {name}")) for name in names}
        finally:
            await connection.close()

    return asyncio.run(read())


def main() -> None:
    started = time.monotonic()
    bench_run.say(f"machine: {bench_run.machine()}")
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": bench_run.machine(),
        "postgres": server_settings(),
    }
    with held_smtp_sink() as mailbox:
        with (
            throwaway_database("gateway_capacity", bench_run.ADMIN_URL) as database_url,
            throwaway_database("gateway_capacity_observer", bench_run.ADMIN_URL) as observer_url,
        ):
            bench_run.say(f"per operation: {WARMUP} + {REPEATS} repetitions each, the app in this process")
            results.update(asyncio.run(per_operation(database_url, observer_url, mailbox)))
        for name, row in results["operations"].items():
            bench_run.say(
                f"  {name}: {row['statements']:g} statements, {row['round_trips']:g} round trips, "
                f"{row['transactions']:g} transactions, {row['rows_written']:g} rows written, "
                f"{row['wal_bytes']:g} WAL bytes"
            )
        results["two_gateway_processes"] = measure_two_processes(mailbox)
    results["total_seconds"] = round(time.monotonic() - started, 1)
    OUTPUT.write_text(json.dumps(results, indent=2) + "\n")
    bench_run.say(f"done in {results['total_seconds']:.0f} s: {OUTPUT.relative_to(ROOT)}")
    latest = bench_run.RESULTS / "latest.json"
    if latest.exists():  # the worked table of docs/capacity.md, with make bench's last figures
        print()
        print(
            capacity_model.table(
                capacity_model.WORKED_USERS,
                capacity_model.Usage(0),
                capacity_model.Costs.from_results(json.loads(latest.read_text()), results),
            )
        )


if __name__ == "__main__":
    main()
