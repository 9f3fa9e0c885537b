"""A real gateway process on a PostgreSQL cluster of the test's own, stopped and started
again: readiness follows the database, liveness does not, and nothing hangs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.client import served_gateway
from tests.support.mail import SmtpSink
from tests.support.postgres_cluster import PrivateCluster, private_cluster
from tests.support.settings import production_env

PROBES_WHILE_DOWN = 10


async def _status_within(http: httpx.AsyncClient, path: str, expected: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while True:
        status = (await http.get(path)).status_code
        if status == expected or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.1)


@pytest.fixture
def private_postgres() -> Iterator[PrivateCluster]:
    with private_cluster() as cluster:
        yield cluster


class TestPostgresGoesAwayAndComesBack:
    """A real gateway process on a PostgreSQL cluster of the test's own, stopped and started again."""

    async def test_readiness_follows_the_database(
        self, private_postgres: PrivateCluster, smtp_server: SmtpSink, tmp_path: Path
    ) -> None:
        # The retention job's run at start would meet the stop when it runs late, and log its
        # own failure: right for an outage, but not what this test watches.
        env = production_env(private_postgres.url, smtp_server.port, tmp_path) | {"RETENTION_INTERVAL_SECONDS": "0"}
        async with served_gateway(env, smtp_server) as gateway:
            assert (await gateway.http.get("/readyz")).status_code == 200

            private_postgres.stop()
            started_at = time.monotonic()
            down = await gateway.http.get("/readyz")
            assert time.monotonic() - started_at < 5  # READINESS_TIMEOUT_SECONDS is 2: never a hang
            assert down.status_code == 503, down.text
            assert down.json()["reason"].startswith("database unreachable")
            for _ in range(PROBES_WHILE_DOWN):  # probes keep coming while it is down
                assert (await gateway.http.get("/readyz")).status_code == 503
            assert (await gateway.http.get("/healthz")).status_code == 200  # alive: do not restart it

            private_postgres.start()
            assert await _status_within(gateway.http, "/readyz", 200, seconds=15) == 200
            lines = await gateway.stop_process()

        readiness = [json.loads(line) for line in lines if '"gateway.readiness"' in line]
        assert [(entry["level"], entry["message"].split(":")[0]) for entry in readiness] == [
            ("WARNING", "not ready"),
            ("INFO", "ready again"),
        ]
        # No stack trace per probe. asyncpg's pool logs one of its own each time it fails to
        # reconnect in the background, backing off from 1 s to 60 s: not per probe.
        tracebacks = [json.loads(line)["logger"] for line in lines if "Traceback" in line]
        assert set(tracebacks) <= {"asyncpg.pool"}, "\n".join(lines)
        assert len(tracebacks) < PROBES_WHILE_DOWN, "\n".join(lines)
