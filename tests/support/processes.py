"""A real process (the gateway, a baseline server, a CLI): started on a free port, its output
read as it comes (so a chatty child never blocks on a full pipe), kept in memory and
optionally in a log file, waited for until an HTTP path answers or a line appears, and
stopped with a signal.

The core is synchronous (a reader thread), so the bench uses it as it is; tests use the
``async`` context manager and methods, which run the waiting in a worker thread and leave
the test's event loop free.
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Mapping, Sequence

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = (sys.executable, "server.py")  # the gateway as ``python server.py`` runs it


# Ports the tests hand out: below Linux's ephemeral range (32768 to 60999 by default), so that no
# outgoing connection is given one between free_port() and the server's bind.
_PORTS = range(20_000, 32_000)
_handed_out: collections.deque[int] = collections.deque(maxlen=256)


def free_port() -> int:
    """A port nothing listens on now; whoever asked binds it a moment later.

    Under pytest-xdist each worker takes its ports from a share of its own, so that two
    workers never pick the same port in the moment between its check here and their
    server's bind; within a process, a port handed out lately is not handed out again.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # gw0, gw1, …
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    number = worker.removeprefix("gw")
    share = len(_PORTS) // workers
    start = _PORTS.start + (int(number) if number.isdigit() else 0) % workers * share
    for _ in range(1000):
        port = random.randrange(start, start + share)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:  # taken
                continue
        _handed_out.append(port)
        return port
    raise RuntimeError(f"no free port between {start} and {start + share}")


@dataclass
class RunningProcess:
    """A started process, what it has written so far (stdout and stderr, line by line), and where it listens."""

    process: subprocess.Popen[bytes]
    port: int
    name: str = "process"
    lines: list[str] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def tail(self, count: int = 40) -> str:
        with self._changed:
            return "\n".join(self.lines[-count:])

    def _read(self, log: IO[bytes] | None) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            if log is not None:
                log.write(raw)
                log.flush()
            with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_line(self, text: str, timeout: float = 10.0) -> str:
        """The first line that contains ``text``, waiting up to ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self._reader is not None and not self._reader.is_alive()):
                    output = "\n".join(self.lines)
                    raise AssertionError(f"{self.name} logged no line with {text!r}:\n{output}")
                self._changed.wait(min(remaining, 0.5))

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 10.0) -> int:
        """The exit status, once the process has ended (within ``timeout``) and its output is all read."""
        status = self.process.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout=timeout)
            if not self._reader.is_alive() and self.process.stdout is not None:
                self.process.stdout.close()  # read to its end
        return status

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Stop it as a supervisor would: ``signum``, then SIGKILL after ``timeout`` seconds."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.wait(timeout)

    def wait_until_answering(self, path: str, timeout: float = 20.0) -> None:
        """Return once ``GET path`` answers 200; fail with the output if the process exits or takes too long."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=2) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    self.wait()
                    raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.output}")
                with suppress(httpx.TransportError):
                    if http.get(path).status_code == 200:
                        return
                time.sleep(0.05)
        raise AssertionError(f"{self.name} did not answer {path} within {timeout:.0f} s:\n{self.output}")

    # The same, for tests: the waiting runs in a worker thread.

    async def line(self, text: str, seconds: float = 10.0) -> str:
        return await asyncio.to_thread(self.wait_for_line, text, seconds)

    async def exited(self, seconds: float = 10.0) -> int:
        return await asyncio.to_thread(self.wait, seconds)

    async def stopped(self, signum: int = signal.SIGTERM, seconds: float = 10.0) -> int:
        return await asyncio.to_thread(self.stop, signum, seconds)

    # What the bench measures.

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the process itself, or uvicorn's worker children."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        pids = [int(child) for child in children.read_text().split()] if children.exists() else []
        return pids or [pid]

    def rss_mb(self) -> float:
        """The resident set size of the (single) worker, from /proc, in MiB."""
        [pid] = self.worker_pids()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for process {pid}")


def launch(
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    cwd: Path = ROOT,
    name: str = "process",
    log: IO[bytes] | None = None,
    inherit_env: bool = True,
) -> RunningProcess:
    """Start ``command`` with ``env`` (on top of ``os.environ`` unless ``inherit_env`` is false) on
    a free port (``HOST``/``PORT`` in its environment, ``{port}`` in its arguments and in the
    values of ``env``, e.g. ``PUBLIC_URL``); its output is read from now on."""
    port = free_port()
    own = {name: value.replace("{port}", str(port)) for name, value in env.items()}
    process = subprocess.Popen(
        [part.replace("{port}", str(port)) for part in command],
        cwd=cwd,
        env={**(os.environ if inherit_env else {}), **own, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    running = RunningProcess(process, port, name)
    running._reader = threading.Thread(target=running._read, args=(log,), name=f"{name}-output", daemon=True)
    running._reader.start()
    return running


@contextmanager
def serving(
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    ready_path: str = "/readyz",
    cwd: Path = ROOT,
    name: str = "gateway",
    log: IO[bytes] | None = None,
    timeout: float = 20.0,
) -> Iterator[RunningProcess]:
    """``launch`` and wait until ``ready_path`` answers; stop it (SIGTERM, then SIGKILL) on leaving."""
    running = launch(command, env, cwd=cwd, name=name, log=log)
    try:
        running.wait_until_answering(ready_path, timeout)
        yield running
    finally:
        running.stop()


@asynccontextmanager
async def served(
    env: Mapping[str, str],
    command: Sequence[str] = GATEWAY,
    *,
    ready_path: str = "/readyz",
    cwd: Path = ROOT,
    name: str = "gateway",
    ready_within: float = 20.0,
    inherit_env: bool = True,
) -> AsyncIterator[RunningProcess]:
    """``serving`` for a test: the gateway (by default) with ``env``, answering, stopped on leaving."""
    running = await asyncio.to_thread(launch, command, env, cwd=cwd, name=name, inherit_env=inherit_env)
    try:
        await asyncio.to_thread(running.wait_until_answering, ready_path, ready_within)
        yield running
    finally:
        await running.stopped()


@dataclass(frozen=True)
class Finished:
    """A command that ran to its end."""

    status: int
    stdout: str
    stderr: str


def run_server_command(
    *arguments: str, env: Mapping[str, str] | None = None, cwd: Path = ROOT, only_env: bool = False
) -> Finished:
    """``python server.py ARGUMENTS`` to its end (60 seconds at most), from ``cwd``, with ``env``
    on top of ``os.environ``; ``only_env`` drops every upper-case variable of ``os.environ``
    (but PATH, HOME, LANG) first, so no setting leaks in from the machine."""
    base = dict(os.environ)
    if only_env:
        base = {k: v for k, v in base.items() if not k.isupper() or k in {"PATH", "HOME", "LANG"}}
        base["PYTHONPATH"] = str(ROOT)
    completed = subprocess.run(
        [*GATEWAY[:1], str(ROOT / GATEWAY[1]), *arguments],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Finished(completed.returncode, completed.stdout, completed.stderr)


async def server_command(
    *arguments: str, env: Mapping[str, str] | None = None, cwd: Path = ROOT, only_env: bool = False
) -> Finished:
    """``run_server_command`` for a test: in a worker thread, the event loop stays free."""
    return await asyncio.to_thread(run_server_command, *arguments, env=env, cwd=cwd, only_env=only_env)
