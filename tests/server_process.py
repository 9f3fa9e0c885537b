"""A gateway as a real process, for the tests of how it starts and stops: its log is read as
it comes, and a test may signal it and watch it exit."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping, Sequence
    from pathlib import Path


@dataclass
class ServerProcess:
    process: asyncio.subprocess.Process
    port: int
    lines: list[str] = field(default_factory=list)
    _line_added: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.lines.append(line.decode(errors="replace").rstrip("\n"))
            self._line_added.set()

    async def wait_for_line(self, text: str) -> str:
        """The first line that contains ``text``, waiting up to 10 seconds for it."""
        async with asyncio.timeout(10):
            while True:
                self._line_added.clear()
                for line in self.lines:
                    if text in line:
                        return line
                await self._line_added.wait()

    async def exited(self) -> int:
        """The exit status, once the process has ended and its output is read; give it a time limit."""
        status = await self.process.wait()
        if self._reader is not None:
            await self._reader
        return status


@asynccontextmanager
async def started_server(
    command: Sequence[str], env: Mapping[str, str], cwd: Path, port: int
) -> AsyncIterator[ServerProcess]:
    """Run ``command`` (a gateway listening on ``port``) until ``POST /graphql`` answers; kill it on leaving."""
    process = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, env=dict(env), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    server = ServerProcess(process, port)
    server._reader = asyncio.create_task(server._read())
    try:
        await _until_answering(server)
        yield server
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        with suppress(Exception):
            await server._reader


async def _until_answering(server: ServerProcess) -> None:
    body = json.dumps({"query": "{ __typename }"})
    headers = {"Content-Type": "application/json", "X-Requested-With": "tests"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=5) as http:
        for _ in range(300):
            if server.process.returncode is not None:
                if server._reader is not None:
                    await server._reader
                raise AssertionError(f"the gateway exited with {server.process.returncode}:\n{server.output}")
            with suppress(httpx.TransportError):
                if (await http.post("/graphql", content=body, headers=headers)).status_code == 200:
                    return
            await asyncio.sleep(0.05)
    raise AssertionError(f"the gateway did not answer within 15 seconds:\n{server.output}")
