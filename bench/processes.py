"""What the bench runs beside wrk: a throwaway PostgreSQL database, an SMTP sink, the servers."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import asyncpg
import httpx
from aiosmtpd.controller import Controller

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def throwaway_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database on the server of ``admin_url``, dropped on leaving; yields its URL."""
    name = f"gateway_bench_{os.getpid()}_{int(time.time())}"

    async def execute(statement: str) -> None:
        connection = await asyncpg.connect(admin_url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield re.sub(r"/[^/]*$", f"/{name}", admin_url)
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class SmtpSink:
    """An aiosmtpd server on localhost that keeps the plain-text body of each message, by recipient."""

    port: int = field(default_factory=free_port)
    bodies: dict[str, list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        message = message_from_bytes(envelope.content)
        text = ""
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    text = payload.decode(part.get_content_charset() or "utf-8")
        with self._lock:
            for recipient in envelope.rcpt_tos:
                self.bodies.setdefault(recipient, []).append(text)
        return "250 Message accepted for delivery"

    def code_to(self, address: str, timeout: float = 10.0) -> str:
        """The six-digit code of the latest message to ``address``, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                bodies = list(self.bodies.get(address, []))
            match = re.search(r"\b(\d{6})\b", bodies[-1]) if bodies else None
            if match:
                return match.group(1)
            time.sleep(0.05)
        raise RuntimeError(f"no code mailed to {address} within {timeout} s")


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class Server:
    """A server process of the bench, and where it listens."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the process itself, or uvicorn's worker children."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(pid) for pid in children.read_text().split()] if children.exists() else []
        return pids or [self.process.pid]

    def rss_mb(self) -> float:
        """The resident set size of the (single) worker, from /proc, in MiB."""
        [pid] = self.worker_pids()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for process {pid}")

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextmanager
def serving(name: str, command: list[str], env: dict[str, str], logs: Path, ready_path: str) -> Iterator[Server]:
    """Start ``command`` (cwd: the repository) with ``env`` and a free PORT; wait until ``ready_path``
    answers 200; stop it (SIGTERM, then SIGKILL) on leaving. Its output goes to ``logs/<name>.log``."""
    port = free_port()
    log = logs / f"{name}.log"
    handle: IO[bytes] = log.open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [part.replace("{port}", str(port)) for part in command],
        cwd=ROOT,
        env={**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    server = Server(name, process, port, log)
    try:
        _until_ready(server, ready_path)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        handle.close()


def wait_for_workers(server: Server, count: int, timeout: float = 60.0) -> None:
    """Wait until ``server`` (uvicorn --workers) has ``count`` workers that each answered once."""
    deadline = time.monotonic() + timeout
    while len(server.worker_pids()) < count or server.worker_pids() == [server.process.pid]:
        if time.monotonic() > deadline:
            sys.exit(f"bench: {server.name} did not start {count} workers:\n{server.tail()}")
        time.sleep(0.1)
    for _ in range(20 * count):  # the kernel spreads connections: give every worker its first requests
        httpx.get(server.url + "/readyz", timeout=5)


def _until_ready(server: Server, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            sys.exit(f"bench: {server.name} exited with {server.process.returncode}:\n{server.tail()}")
        try:
            if httpx.get(server.url + path, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    sys.exit(f"bench: {server.name} did not get ready within {timeout:.0f} s:\n{server.tail()}")
