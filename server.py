"""The entry points: the ASGI ``app`` and ``python server.py COMMAND``.

``uvicorn server:app`` serves the gateway; ``python server.py`` does the same with
the configured HOST and PORT. ``python server.py --help`` lists the other commands
(``cli``): check, migrate, purge, unlock-account, reset-second-factors, generate-key. The app is built by
``web.app``, its services by ``wiring``, from ``settings``.
"""

from __future__ import annotations

import functools
import signal
import sys
from typing import TYPE_CHECKING

import cli
from persistence.config import tortoise_config
from settings import load_settings
from web.app import create_app
from web.request_log import configure_logging
from web.uvicorn_protocol import gateway_http_protocol

if TYPE_CHECKING:
    from types import FrameType

    from starlette.applications import Starlette

    from settings import Settings


@functools.cache
def _default_app() -> Starlette:
    return create_app(cli.configuration())


def __getattr__(name: str) -> object:
    # Built on first access, so importing this module (tests, tools) reads no settings.
    if name == "app":
        return _default_app()
    if name == "TORTOISE_ORM":  # for the `tortoise` CLI: makemigrations, migrate, history
        return tortoise_config(load_settings().database_url)
    raise AttributeError(name)


def _stopped(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM while uvicorn's own handler is not in place: before it serves, and after its
    graceful shutdown, when it raises the signal again to die of it. A stop that was asked
    for ends with status 0, as it does for PID 1 in a container (the kernel ignores it there)."""
    raise SystemExit(0)


def serve(settings: Settings) -> None:
    """Serve the gateway on HOST:PORT until SIGTERM or SIGINT (a graceful stop: docs/operations.md, "Stopping it")."""
    import uvicorn

    configure_logging(json_lines=settings.json_logs)
    signal.signal(signal.SIGTERM, _stopped)
    # Uvicorn's loggers go through ours (log_config=None), and RequestLog replaces its access log.
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        proxy_headers=False,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        http=gateway_http_protocol(hsts=settings.production),  # its own 400s carry our headers too
    )


if __name__ == "__main__":
    cli.main(sys.argv, serve)
