"""``python server.py`` as a real process whose log (stdout and stderr) the test reads."""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from tests.conftest import free_port
from tests.e2e.conftest import JWT_SECRET
from tests.e2e.processes import ROOT

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from tests.conftest import SmtpSink


def production_env(database_url: str, mailbox: SmtpSink, data_dir: Path) -> dict[str, str]:
    """What ``python server.py`` needs to start with APP_ENV=production, mailing to ``mailbox``."""
    return {
        "APP_ENV": "production",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "JWT_SECRET": JWT_SECRET,
        "JWT_ALGORITHM": "HS256",  # sign with JWT_SECRET: no key file to make
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mailbox.port),
        "BCRYPT_COST": "4",
    }


@dataclass
class Served:
    """The running gateway's HTTP client and every line it has logged so far."""

    http: httpx.AsyncClient
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    async def stop(self) -> list[str]:
        """Stop the process (SIGTERM, as a supervisor would) and return all it logged."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), timeout=10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            await self._reader
        return self.lines


@asynccontextmanager
async def served(env: dict[str, str]) -> AsyncIterator[Served]:
    """Start the gateway with ``env`` on a free port, once ``/healthz`` answers; stop it on leaving.

    The output is read as it comes, so a chatty process never blocks on a full pipe.
    """
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "server.py"],
        cwd=ROOT,
        env={**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        gateway = Served(http, process)

        async def read() -> None:
            assert process.stdout is not None
            async for line in process.stdout:
                gateway.lines.append(line.decode(errors="replace").rstrip("\n"))

        gateway._reader = asyncio.create_task(read())
        try:
            await _until_healthy(gateway)
            yield gateway
        finally:
            await gateway.stop()


async def _until_healthy(gateway: Served) -> None:
    for _ in range(200):
        if gateway.process.returncode is not None:
            await gateway.stop()
            output = "\n".join(gateway.lines)
            raise AssertionError(f"the gateway exited with {gateway.process.returncode}:\n{output}")
        try:
            if (await gateway.http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("the gateway did not start within 10 seconds")
