"""/healthz and /readyz: on SQLite and PostgreSQL, with a migration missing, with PostgreSQL stopped and started."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from persistence.migrate import apply_migrations
from tests.support.client import Gateway, GatewayFactory
from tests.support.mail import SmtpSink
from tests.support.processes import ROOT
from tests.support.settings import make_settings
from web.app import create_app
from web.health import Readiness

LAST_MIGRATION = sorted(path.stem for path in (ROOT / "persistence" / "migrations").glob("0*.py"))[-1]
PROBES_WHILE_DOWN = 10


async def started(database_url: str, mailbox: SmtpSink, data_dir: Path, **overrides: Any) -> tuple[Any, Any]:
    settings = make_settings(database_url, mailbox.port, data_dir, **overrides)
    manager = LifespanManager(create_app(settings))
    await manager.__aenter__()
    return manager, httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway.test")


class TestHealthz:
    async def test_answers_ok(self, gateway: Gateway) -> None:
        response = await gateway.http.get("/healthz")
        assert (response.status_code, response.json()) == (200, {"status": "ok"})

    async def test_answers_get_and_head_in_production(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(app_env="production")
        for path in ("/healthz", "/readyz"):
            assert (await gateway.http.get(path)).status_code == 200
            assert (await gateway.http.head(path)).status_code == 200

    async def test_is_never_rate_limited(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_login_per_ip="1/1h", rate_limit_refresh_per_ip="1/1h")
        statuses = {(await gateway.http.get(path)).status_code for path in ("/healthz", "/readyz") * 20}
        assert statuses == {200}


class TestReadyz:
    async def test_ready_on_a_migrated_database(self, gateway: Gateway) -> None:
        response = await gateway.http.get("/readyz")
        assert (response.status_code, response.json()) == (200, {"status": "ready"})

    async def test_not_ready_on_a_database_never_migrated(self, smtp_server: SmtpSink, tmp_path: Path) -> None:
        url = f"sqlite://{tmp_path / 'empty.sqlite3'}"
        manager, http = await started(url, smtp_server, tmp_path / "data", migrate_on_start=False)
        try:
            response = await http.get("/readyz")
        finally:
            await http.aclose()
            await manager.__aexit__(None, None, None)
        assert response.status_code == 503
        assert response.json()["status"] == "not ready"
        assert "0001_initial" in response.json()["reason"]

    async def test_not_ready_while_the_last_migration_is_missing(self, smtp_server: SmtpSink, tmp_path: Path) -> None:
        """The release shipped a migration that nobody ran yet (MIGRATE_ON_START=false)."""
        path = tmp_path / "behind.sqlite3"
        await apply_migrations(f"sqlite://{path}")
        with sqlite3.connect(path) as db:
            db.execute("DELETE FROM tortoise_migrations WHERE name = ?", (LAST_MIGRATION,))
        manager, http = await started(f"sqlite://{path}", smtp_server, tmp_path / "data", migrate_on_start=False)
        try:
            response = await http.get("/readyz")
            healthz = await http.get("/healthz")
        finally:
            await http.aclose()
            await manager.__aexit__(None, None, None)
        assert response.status_code == 503
        assert response.json() == {"status": "not ready", "reason": f"migrations not applied: {LAST_MIGRATION}"}
        assert healthz.status_code == 200  # alive, just not ready


class TestReadinessTimeout:
    async def test_a_hung_database_answers_not_ready_within_the_timeout(self) -> None:
        never = asyncio.Event()

        async def hangs() -> str | None:
            await never.wait()
            return None

        readiness = Readiness(hangs, timeout_seconds=0.2)
        started_at = time.monotonic()
        problem = await asyncio.wait_for(readiness.problem(), timeout=10)  # a regression fails, not hangs
        assert problem == "database did not answer within 0.2 s"
        assert time.monotonic() - started_at < 5  # generous: the property is "bounded", not "fast"

    async def test_logs_each_change_once_without_a_traceback(self, caplog: pytest.LogCaptureFixture) -> None:
        answers = iter(["database unreachable (ConnectionRefusedError)"] * 3 + [None] * 2)

        async def check() -> str | None:
            return next(answers)

        readiness = Readiness(check, timeout_seconds=1)
        with caplog.at_level(logging.INFO, logger="gateway.readiness"):
            for _ in range(5):
                await readiness.problem()
        logged = [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records if r.name == "gateway.readiness"]
        assert logged == [
            ("WARNING", "not ready: database unreachable (ConnectionRefusedError)", None),
            ("INFO", "ready again", None),
        ]
