"""A throwaway PostgreSQL cluster of the test's own, which the test may stop and start.

The shared server (TEST_POSTGRES_URL) serves every other test: never stop that one.
Built with Debian's server binaries (``/usr/lib/postgresql/<version>/bin``, or
``TEST_POSTGRES_BIN``); PostgreSQL refuses to run as root, so under root the
commands run as the ``postgres`` user, in a directory it owns.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.processes import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator


def _server_binaries() -> Path | None:
    configured = os.environ.get("TEST_POSTGRES_BIN")
    candidates = [Path(configured)] if configured else sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


@dataclass
class PrivateCluster:
    bin: Path
    directory: Path
    port: int
    as_postgres: list[str]

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_postgres, *command], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "server.log")
        self._run(str(self.bin / "pg_ctl"), "start", "-w", "-D", str(self.directory / "data"), "-l", log, "-o", options)

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.directory / "data"))

    def running(self) -> bool:
        status = subprocess.run(
            [*self.as_postgres, str(self.bin / "pg_ctl"), "status", "-D", str(self.directory / "data")],
            capture_output=True,
            check=False,
        )
        return status.returncode == 0


def _unavailable(reason: str) -> None:
    reason = f"{reason}; the private-PostgreSQL tests NOT RUN"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " — under CI=true this is a failure")
    pytest.skip("!!! " + reason + " !!!")


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A fresh cluster on a free port, started; stopped and deleted afterwards.

    Skips the test when the server binaries are missing, except under CI=true (fails).
    """
    binaries = _server_binaries()
    if binaries is None:
        _unavailable("no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql or TEST_POSTGRES_BIN")
    assert binaries is not None
    as_postgres: list[str] = []
    # Not under tmp_path: pytest's directory is closed to other users, and the server runs as postgres.
    directory = Path(tempfile.mkdtemp(prefix="gateway-private-pg-"))
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            _unavailable("running as root without runuser, and PostgreSQL refuses to run as root")
        shutil.chown(directory, user="postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    cluster = PrivateCluster(binaries, directory, free_port(), as_postgres)
    try:
        cluster._run(
            str(binaries / "initdb"), "-D", str(directory / "data"), "-U", "postgres", "-A", "trust", "--no-sync"
        )
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)
