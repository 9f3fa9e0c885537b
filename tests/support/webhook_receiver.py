"""A webhook receiver on loopback, served by uvicorn in the test's event loop: it records what
it is sent and answers as the test says (2xx, an error, a redirect, or not at all)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import uvicorn
from starlette.applications import Starlette
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival


@dataclass
class WebhookReceiver:
    url: str = ""
    answer: str = "ok"  # "ok", "fail" (500), "hang" (no answer), "redirect" (307 to /followed)
    received: list[Received] = field(default_factory=list)
    followed: int = 0  # requests to where the redirect points
    released: asyncio.Event = field(default_factory=asyncio.Event)  # set on leaving: "hang" answers then

    async def _hook(self, request: Request) -> Response:
        self.received.append(Received(dict(request.headers), await request.body(), time.monotonic()))
        if self.answer == "fail":
            return Response("no", status_code=500)
        if self.answer == "hang":
            await self.released.wait()  # no answer for as long as the test runs
        if self.answer == "redirect":
            return RedirectResponse("/followed", status_code=307)
        return Response(status_code=204)

    async def _followed(self, _request: Request) -> Response:
        self.followed += 1
        return Response(status_code=200)

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/hook", self._hook, methods=["POST"]), Route("/followed", self._followed, methods=["POST"])]
        )

    async def until(self, count: int, within: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + within
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} webhooks within {within} s"
            await asyncio.sleep(0.02)
        return self.received


@contextlib.asynccontextmanager
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    receiver.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    server = uvicorn.Server(uvicorn.Config(receiver.app(), log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    try:
        yield receiver
    finally:
        receiver.released.set()
        server.should_exit = True
        server.force_exit = True  # a hanging request is not waited for
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(serving, 5)
        sock.close()
