"""The bench's peer: fastapi-users' documented app (bench/peers/), the design a team would pick
instead of the gateway, measured in the same run on the same PostgreSQL.

It lives in its own virtualenv, bench/.peer-venv (gitignored), installed from
bench/peers/requirements.txt (exact versions, hashes checked) the first time the bench
needs it, and again when that file changes; the gateway's lock files and image never see
it. Anything that keeps the peer from running (no network for the install, a start that
fails, a registration that does not answer as documented) raises ``PeerUnavailable``: the
bench then prints why and skips the peer's rows, and measures the gateway all the same.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from tests.support import processes
from tests.support.databases import throwaway_database
from tests.support.processes import ROOT

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.support.processes import RunningProcess

PEERS = ROOT / "bench" / "peers"
REQUIREMENTS = PEERS / "requirements.txt"
APP = PEERS / "fastapi_users_app.py"
VENV = ROOT / "bench" / ".peer-venv"
STAMP = VENV / ".installed-requirements-sha256"  # which requirements.txt the virtualenv holds
INSTALL_TIMEOUT = 600  # seconds: a slow mirror, but never a bench that hangs
SHOWN = ("fastapi-users", "fastapi", "sqlalchemy", "asyncpg", "pwdlib", "pyjwt", "uvicorn")


class PeerUnavailable(Exception):
    """The peer cannot be measured in this run; the message says why."""


@dataclass(frozen=True)
class Peer:
    """The peer, answering, with its registered user's token and what wrk sends and expects."""

    server: RunningProcess
    me_env: dict[str, str]
    login_env: dict[str, str]


def versions() -> str:
    """The pinned versions of what the peer is made of, e.g. ``fastapi-users 15.0.5, fastapi 0.165.0, …``."""
    pinned: dict[str, str] = {}
    for line in REQUIREMENTS.read_text().splitlines():
        name, separator, version = line.partition("==")
        if separator and not line.startswith((" ", "#")):
            pinned[name.strip().lower()] = version.split()[0]
    return ", ".join(f"{name} {pinned[name]}" for name in SHOWN if name in pinned)


def _tail(text: str | bytes | None, lines: int = 8) -> str:
    """The last ``lines`` lines of a command's output on one line, without pip's warnings."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    kept = [line for line in (text or "").strip().splitlines() if not line.startswith("WARNING:")]
    return " | ".join(kept[-lines:])[-600:]


def installed_python(say: Callable[[str], None]) -> Path:
    """The peer virtualenv's Python, installing the virtualenv first when it is missing or stale."""
    python = VENV / "bin" / "python"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return python
    say(f"peer: installing {versions()} into {VENV.relative_to(ROOT)} (from {REQUIREMENTS.relative_to(ROOT)})")
    shutil.rmtree(VENV, ignore_errors=True)
    steps = [
        [sys.executable, "-m", "venv", str(VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "--require-hashes", "-r", str(REQUIREMENTS)],
    ]
    for step in steps:
        try:
            subprocess.run(step, cwd=ROOT, check=True, capture_output=True, timeout=INSTALL_TIMEOUT)  # noqa: S603
        except subprocess.CalledProcessError as problem:
            raise PeerUnavailable(f"`{' '.join(step[1:4])} …` failed: {_tail(problem.stderr)}") from problem
        except (subprocess.TimeoutExpired, OSError) as problem:
            raise PeerUnavailable(f"`{' '.join(step[1:4])} …`: {problem}") from problem
    STAMP.write_text(wanted + "\n")
    return python


def _asyncpg_url(url: str) -> str:
    """``postgres://…`` as SQLAlchemy names an asyncpg connection."""
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql+asyncpg"))


@contextmanager
def serving(
    python: Path, *, admin_url: str, logs: Path, email: str, password: str, bcrypt_cost: int, secret: str
) -> Iterator[Peer]:
    """The peer on its own throwaway database, its user registered (``POST /auth/register``) and
    signed in once (``POST /auth/jwt/login``); stopped and the database dropped on leaving."""
    with throwaway_database("fastapi_users_bench", admin_url) as database_url, (logs / "peer.log").open("wb") as log:
        env = {
            "PEER_DATABASE_URL": _asyncpg_url(database_url),
            "PEER_JWT_SECRET": secret,
            "BCRYPT_COST": str(bcrypt_cost),
        }
        server = processes.launch([str(python), str(APP)], env, name="fastapi-users", log=log)
        try:
            try:
                server.wait_until_answering("/docs", timeout=60)  # its OpenAPI page: answered once started
            except AssertionError as problem:
                raise PeerUnavailable(f"it did not start: {_tail(str(problem))}") from problem
            yield Peer(server, *_sign_up(server.url, email, password))
        finally:
            server.stop(timeout=30)


def _sign_up(url: str, email: str, password: str) -> tuple[dict[str, str], dict[str, str]]:
    """Register ``email`` and sign in as the page documents; wrk's environments for ``/users/me`` and login."""
    form = urlencode({"username": email, "password": password})
    with httpx.Client(base_url=url, timeout=30) as http:
        registered = http.post("/auth/register", json={"email": email, "password": password})
        if registered.status_code != 201:
            raise PeerUnavailable(f"POST /auth/register answered {registered.status_code} {registered.text[:200]}")
        login = http.post(
            "/auth/jwt/login", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        token = login.json().get("access_token") if login.status_code == 200 else None
        if not isinstance(token, str):
            raise PeerUnavailable(f"POST /auth/jwt/login answered {login.status_code} {login.text[:200]}")
        me = http.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        if me.status_code != 200 or me.json().get("email") != email:
            raise PeerUnavailable(f"GET /users/me answered {me.status_code} {me.text[:200]}")
    return (
        {"BENCH_PEER_ACCESS_TOKEN": token, "BENCH_PEER_ME_BODY": me.text},
        {"BENCH_PEER_LOGIN_FORM": form},
    )
