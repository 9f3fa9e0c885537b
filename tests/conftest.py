"""Fixtures shared by the integration and end-to-end tests: databases and SMTP servers."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from persistence.migrate import apply_migrations
from persistence.models import AuditEventRow, ThrottleRow, UserRow

DEFAULT_TEST_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def _run_in_own_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """Session fixtures may be first requested from inside a test's running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


async def _admin_connect(server_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(server_url.replace("postgres://", "postgresql://", 1), timeout=5)


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A throwaway database, migrated, on the server of TEST_POSTGRES_URL; dropped afterwards."""
    server_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)
    name = f"gateway_test_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        admin = await _admin_connect(server_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()

    try:
        _run_in_own_loop(create())
    except (OSError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL at {server_url} is unreachable ({exc!r}); PostgreSQL tests NOT RUN"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " — under CI=true this is a failure")
        pytest.skip("!!! " + reason + " !!!")

    url = _with_database(server_url, name)
    _run_in_own_loop(apply_migrations(url))
    yield url

    async def drop() -> None:
        admin = await _admin_connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    _run_in_own_loop(drop())


async def emptied(url: str) -> str:
    """``url``'s PostgreSQL database with every table of the gateway emptied."""
    conn = await _admin_connect(url)
    try:
        tables = ", ".join(model._meta.db_table for model in (UserRow, ThrottleRow, AuditEventRow))
        await conn.execute(f"TRUNCATE {tables} CASCADE")
    finally:
        await conn.close()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that asks for it runs twice: on a fresh SQLite file and on an emptied PostgreSQL."""
    if request.param == "sqlite":
        sqlite_url = f"sqlite://{tmp_path / 'gateway.sqlite3'}"
        await apply_migrations(sqlite_url)
        return sqlite_url
    postgres_url: str = request.getfixturevalue("postgres_database_url")
    return await emptied(postgres_url)


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) on localhost that keeps what it receives."""

    port: int
    reply: str = "250 Message accepted for delivery"
    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        if self.reply.startswith("250"):
            self.messages.append(message_from_bytes(envelope.content))
            self.recipients.append(list(envelope.rcpt_tos))
        return self.reply

    def bodies_to(self, address: str) -> list[str]:
        """The plain-text body of each message to ``address``, decoded, oldest first."""
        return self._parts_to(address, "text/plain")

    def html_bodies_to(self, address: str) -> list[str]:
        """The HTML body of each message to ``address``, decoded, oldest first."""
        return self._parts_to(address, "text/html")

    def _parts_to(self, address: str, content_type: str) -> list[str]:
        return [
            _decoded_part(message, content_type)
            for message, rcpts in zip(self.messages, self.recipients, strict=True)
            if address in rcpts
        ]


def _decoded_part(message: Message, content_type: str) -> str:
    """The one part of ``message`` (multipart or not) of ``content_type``; fails if there is not exactly one."""
    [part] = [part for part in message.walk() if part.get_content_type() == content_type]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes), f"{content_type} part has no payload"
    return payload.decode(part.get_content_charset() or "utf-8")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    # SMTPUTF8, as most mail servers offer: internationalised addresses (straße@…) travel as typed
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port, enable_SMTPUTF8=True)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def refusing_smtp_server(smtp_server: SmtpSink) -> SmtpSink:
    """Answers every message with a permanent failure."""
    smtp_server.reply = "554 5.7.1 Message rejected"
    return smtp_server


@pytest.fixture
def closed_smtp_port() -> int:
    """A local port where nothing listens."""
    return free_port()
