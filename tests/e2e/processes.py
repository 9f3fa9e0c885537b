"""The gateway as a real server process (``python server.py``), for tests that need several."""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from tests.conftest import free_port
from tests.e2e.conftest import JWT_SECRET, Gateway

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.conftest import SmtpSink

ROOT = Path(__file__).resolve().parents[2]


def gateway_env(smtp_port: int, directory: Path, **overrides: str) -> dict[str, str]:
    """Settings for ``running_gateway``: development, SQLite under ``directory``, mail to SMTP; ``overrides`` win."""
    return {
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite://{directory / 'gateway.sqlite3'}",
        "DATA_DIR": str(directory / "data"),
        "JWT_SECRET": JWT_SECRET,
        "BCRYPT_COST": "4",
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        **overrides,
    }


@asynccontextmanager
async def running_gateway(env: dict[str, str], mailbox: SmtpSink) -> AsyncIterator[Gateway]:
    """Start ``python server.py`` with ``env`` on a free port; stop it on leaving."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "server.py"],
        cwd=ROOT,
        env={**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            await _until_ready(http, process)
            yield Gateway(http, mailbox)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _until_ready(http: httpx.AsyncClient, process: asyncio.subprocess.Process) -> None:
    for _ in range(200):
        if process.returncode is not None:
            output = await process.stdout.read() if process.stdout else b""
            raise AssertionError(f"the gateway exited with {process.returncode}:\n{output.decode(errors='replace')}")
        try:
            # X-Requested-With: a gateway in refresh-cookie mode refuses POSTs without it
            response = await http.post(
                "/graphql", json={"query": "{ __typename }"}, headers={"X-Requested-With": "tests"}
            )
            if response.status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("the gateway did not start within 10 seconds")
