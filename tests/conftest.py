"""Fixtures for the API, integration, process and browser tests: databases, SMTP servers and
in-process gateways. The unit suite uses none of them: each fixture imports what it needs
(the ORM, the web stack, aiosmtpd) when it runs, so ``pytest tests/unit`` loads none of it."""

from __future__ import annotations

import os
import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from domain.ports import Clock
    from tests.support.client import Gateway
    from tests.support.mail import HeldSmtpSink, SmtpSink


def _postgres_unreachable(exc: BaseException) -> NoReturn:
    from tests.support.databases import server_url

    reason = f"PostgreSQL at {server_url()} is unreachable ({exc!r}); PostgreSQL tests NOT RUN"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " — under CI=true this is a failure")
    pytest.skip("!!! " + reason + " !!!")


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A throwaway database, migrated, on the server of TEST_POSTGRES_URL; dropped afterwards."""
    import asyncpg

    from persistence.migrate import apply_migrations
    from tests.support.databases import run_in_own_loop, throwaway_database

    with ExitStack() as stack:
        try:
            url = stack.enter_context(throwaway_database("gateway_test"))
        except (OSError, asyncpg.PostgresError) as exc:
            _postgres_unreachable(exc)
        run_in_own_loop(apply_migrations(url))
        yield url


@pytest.fixture
def empty_postgres_url(postgres_database_url: str) -> Iterator[str]:
    """A database without a table yet, dropped afterwards: for tests of migrations."""
    from tests.support.databases import throwaway_database

    with throwaway_database("gateway_empty") as url:
        yield url


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database with every migration applied, made once: tests start from copies of it
    (a copy takes a millisecond, migrating a new file a tenth of a second)."""
    from persistence.migrate import apply_migrations
    from tests.support.databases import run_in_own_loop

    path = tmp_path_factory.mktemp("migrated") / "gateway.sqlite3"
    run_in_own_loop(apply_migrations(f"sqlite://{path}"))
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that asks for it runs twice: on a fresh SQLite file and on an emptied PostgreSQL."""
    if request.param == "sqlite":
        migrated: Path = request.getfixturevalue("migrated_sqlite_file")
        copy = tmp_path / "gateway.sqlite3"
        shutil.copyfile(migrated, copy)
        return f"sqlite://{copy}"
    from tests.support.databases import emptied

    postgres_url: str = request.getfixturevalue("postgres_database_url")
    return await emptied(postgres_url)


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    from tests.support.mail import smtp_sink

    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def held_smtp_server() -> Iterator[HeldSmtpSink]:
    """While ``holding``, keeps each sender waiting at MAIL FROM until ``release`` is set."""
    from tests.support.mail import held_smtp_sink

    with held_smtp_sink() as sink:
        yield sink


@pytest.fixture
def refusing_smtp_server(smtp_server: SmtpSink) -> SmtpSink:
    """Answers every message with a permanent failure."""
    smtp_server.reply = "554 5.7.1 Message rejected"
    return smtp_server


@pytest.fixture
def closed_smtp_port() -> int:
    """A local port where nothing listens."""
    from tests.support.processes import free_port

    return free_port()


@pytest.fixture
async def gateway_factory(
    database_url: str, smtp_server: SmtpSink, tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    """Starts the app in this process (lifespan and all; requests through httpx's ASGI transport);
    keyword arguments other than ``clock``, ``base_url`` and ``headers`` override settings.

    One gateway runs at a time (Tortoise serves one app per process): starting
    another stops the previous one.
    """
    import httpx
    from asgi_lifespan import LifespanManager

    from tests.support.client import Gateway
    from tests.support.settings import make_settings
    from web.app import create_app

    running: list[tuple[LifespanManager, httpx.AsyncClient]] = []

    async def stop() -> None:
        while running:
            manager, client = running.pop()
            await client.aclose()
            await manager.__aexit__(None, None, None)

    async def start(
        clock: Clock | None = None,
        *,
        base_url: str = "http://gateway.test",
        headers: dict[str, str] | None = None,
        **overrides: Any,
    ) -> Gateway:
        """``base_url`` https:// lets the client's cookie jar send Secure cookies back;
        ``headers`` go with every request (e.g. the CSRF header of cookie transport)."""
        await stop()
        settings = make_settings(database_url, smtp_server.port, tmp_path / "data", **overrides)
        app = create_app(settings, clock=clock)
        manager = LifespanManager(app)
        await manager.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url=base_url, headers=headers)
        running.append((manager, client))
        return Gateway(client, smtp_server, app)

    yield start
    await stop()


@pytest.fixture
async def gateway(gateway_factory: Callable[..., Any]) -> Gateway:
    started: Gateway = await gateway_factory()
    return started
