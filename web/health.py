"""``/healthz`` (the process answers) and ``/readyz`` (it can serve: its database answers and is migrated)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request

    ReadinessCheck = Callable[[], Awaitable[str | None]]

logger = logging.getLogger("gateway.readiness")

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"


class Readiness:
    """Runs ``check`` (``None`` when ready, else why not) within ``timeout_seconds``.

    A hung database must not hang the probe: past the timeout the answer is "not
    ready". Only changes are logged, one line each without a stack trace, so a
    database that stays down for an hour does not write a line per probe.
    """

    def __init__(self, check: ReadinessCheck, *, timeout_seconds: float) -> None:
        self._check = check
        self._timeout_seconds = timeout_seconds
        self._last_problem: str | None = None

    async def problem(self) -> str | None:
        try:
            async with asyncio.timeout(self._timeout_seconds):
                problem = await self._check()
        except TimeoutError:
            problem = f"database did not answer within {self._timeout_seconds:g} s"
        if problem != self._last_problem:
            if problem is None:
                logger.info("ready again")
            else:
                logger.warning("not ready: %s", problem)
            self._last_problem = problem
        return problem


def health_routes(readiness: Readiness) -> list[Route]:
    """``GET /healthz`` touches nothing but the event loop; ``GET /readyz`` asks ``readiness``."""

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> JSONResponse:
        problem = await readiness.problem()
        if problem is None:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready", "reason": problem}, status_code=503)

    return [Route(HEALTH_PATH, healthz, methods=["GET"]), Route(READY_PATH, readyz, methods=["GET"])]
