"""SIGTERM (``docker stop``, systemd, Kubernetes) on a real ``python server.py`` process.

The gateway stops accepting connections, closes idle ones, lets the requests in flight
finish (for at most SHUTDOWN_GRACE_SECONDS), sends the mail it queued, and exits 0.

The request "in flight" is one whose body the test holds back: it cannot finish before the
test lets it, however fast the machine, so no timing decides the outcome.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from tests.support.client import LOGIN, PASSWORD, Gateway, served_gateway
from tests.support.mail import HeldSmtpSink, SmtpSink
from tests.support.processes import RunningProcess
from tests.support.settings import JWT_SECRET, SIGNING_KEY

ADDRESS = "leaving@example.com"
GRACE_SECONDS = 10


def image_env(tmp_path: Path, smtp_port: int, **overrides: str) -> dict[str, str]:
    """The container image's settings (production, bcrypt at its real cost), on SQLite, mailing the test's server."""
    return {
        "APP_ENV": "production",
        "DATABASE_URL": f"sqlite://{tmp_path / 'gateway.sqlite3'}",
        "MIGRATE_ON_START": "true",
        "DATA_DIR": str(tmp_path / "data"),
        "JWT_SECRET": JWT_SECRET,
        "JWT_SIGNING_KEY": json.dumps(SIGNING_KEY.private_jwk()),
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
        **overrides,
    }


@asynccontextmanager
async def production_gateway(
    tmp_path: Path, mailbox: SmtpSink, **overrides: str
) -> AsyncIterator[tuple[RunningProcess, Gateway]]:
    """``python server.py`` with the image's settings, and a client of it (each request on a new connection)."""
    async with served_gateway(image_env(tmp_path, mailbox.port, **overrides), mailbox, keepalive=False) as gateway:
        assert gateway.process is not None
        yield gateway.process, gateway


class RawConnection:
    """One HTTP/1.1 connection written by hand: to hold a request half sent, and to see the server close it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    @asynccontextmanager
    async def open(cls, port: int) -> AsyncIterator[RawConnection]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            yield cls(reader, writer)
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self) -> tuple[int, dict[str, str], Any]:
        """Status, headers (lower-cased names) and JSON body of the next response."""
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout=10)
        status_line, *header_lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, value in (h.split(":", 1) for h in header_lines)}
        body = await asyncio.wait_for(self.reader.readexactly(int(headers["content-length"])), timeout=10)
        return int(status_line.split()[1]), headers, json.loads(body)

    async def rest(self) -> bytes:
        """All the server sends until it closes the connection, which must be within 5 seconds."""
        return await asyncio.wait_for(self.reader.read(), timeout=5)


def graphql_post(query: str, variables: dict[str, Any]) -> tuple[bytes, bytes]:
    """The head and body of a GraphQL POST, to be sent apart."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    head = (
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head, body


async def until_refused(port: int) -> None:
    """Return once the port refuses connections: the gateway has stopped listening."""
    async with asyncio.timeout(5):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except ConnectionRefusedError:
                return
            writer.close()
            await writer.wait_closed()
            await asyncio.sleep(0.02)


async def sigterm(server: RunningProcess) -> float:
    """Send SIGTERM; the time by which the process must have exited (the loop's clock)."""
    server.send_signal(signal.SIGTERM)
    return asyncio.get_running_loop().time() + GRACE_SECONDS


def assert_clean_exit(server: RunningProcess) -> None:
    assert "Traceback" not in server.output, server.output
    assert "Application shutdown complete" in server.output, server.output
    assert "Finished server process" in server.output, server.output


class TestSigterm:
    async def test_a_request_in_flight_is_answered_idle_connections_close_and_new_ones_are_refused(
        self, smtp_server: SmtpSink, tmp_path: Path
    ) -> None:
        async with production_gateway(tmp_path, smtp_server) as (server, gateway):
            await gateway.signed_up(ADDRESS)
            async with RawConnection.open(server.port) as idle, RawConnection.open(server.port) as in_flight:
                await idle.send(b"".join(graphql_post("{ __typename }", {})))
                assert (await idle.response())[0] == 200  # kept alive, now idle
                head, body = graphql_post(LOGIN, {"input": {"email": ADDRESS, "password": PASSWORD}})
                await in_flight.send(head + body[:10])

                deadline = await sigterm(server)
                await until_refused(server.port)
                assert await idle.rest() == b""  # closed by the gateway, nothing sent
                assert server.process.returncode is None  # still waiting for the login

                await in_flight.send(body[10:])
                status, _, answer = await in_flight.response()
                assert status == 200
                assert answer["data"]["login"]["__typename"] == "AuthPayload", answer
                assert await in_flight.rest() == b""  # then closed
            async with asyncio.timeout_at(deadline):
                assert await server.exited(GRACE_SECONDS + 5) == 0
        assert_clean_exit(server)

    async def test_a_request_still_running_at_the_end_of_the_grace_is_cut_off_and_the_exit_is_still_0(
        self, smtp_server: SmtpSink, tmp_path: Path
    ) -> None:
        async with (
            production_gateway(tmp_path, smtp_server, SHUTDOWN_GRACE_SECONDS="1") as (server, _),
            RawConnection.open(server.port) as stuck,
        ):
            head, body = graphql_post("{ __typename }", {})
            await stuck.send(head + body[:5])  # and never the rest

            deadline = await sigterm(server)
            async with asyncio.timeout_at(deadline):
                assert await server.exited(GRACE_SECONDS + 5) == 0
            # uvicorn cancels it, answers 500 and logs the cancelled request's stack
            assert (await stuck.rest()).startswith(b"HTTP/1.1 500 ")
        assert "timeout graceful shutdown exceeded" in server.output, server.output
        assert "Application shutdown complete" in server.output, server.output


class TestQueuedMail:
    async def test_mail_queued_before_sigterm_is_sent_before_the_process_exits(
        self, held_smtp_server: HeldSmtpSink, tmp_path: Path
    ) -> None:
        mailbox = held_smtp_server
        async with production_gateway(tmp_path, mailbox) as (server, gateway):
            await gateway.signed_up(ADDRESS)
            mailbox.holding = True
            # requestPasswordReset answers first and mails afterwards (the mail queue)
            assert (await gateway.request_password_reset(ADDRESS))["__typename"] == "OtpSent"
            assert await asyncio.to_thread(mailbox.sending.wait, 10)

            deadline = await sigterm(server)
            await server.line("Waiting for application shutdown")  # no request left
            await asyncio.sleep(0.5)  # time enough for a gateway that did not wait for its mail to be gone
            assert server.process.returncode is None

            mailbox.release.set()
            async with asyncio.timeout_at(deadline):
                assert await server.exited(GRACE_SECONDS + 5) == 0
        assert len(mailbox.bodies_to(ADDRESS)) == 2  # the sign-up code, then the reset code
        assert "reset" in str(mailbox.messages[-1]["Subject"]).lower()
        assert_clean_exit(server)
