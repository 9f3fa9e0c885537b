"""The entry points: the ASGI ``app`` and ``python server.py COMMAND``.

``uvicorn server:app`` serves the gateway; ``python server.py`` does the same with
the configured HOST and PORT. ``python server.py --help`` lists the other commands
(``cli``): check, migrate, purge, unlock-account, reset-second-factors, generate-key. The app is built by
``web.app``, its services by ``wiring``, from ``settings``.
"""

from __future__ import annotations

import functools
import gc
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


# Young objects the collector lets pile up before it looks at them (Python's default: 700).
# A request makes a few thousand short-lived objects, almost none in reference cycles.
GC_YOUNG_THRESHOLD = 20_000


@functools.cache
def _default_app() -> Starlette:
    app = create_app(cli.configuration())
    settle_memory()
    return app


def settle_memory() -> None:
    """Once the app is built: what exists now (modules, the schema, the app) lives as long as
    the process, so the garbage collector stops scanning it on every full collection
    (``gc.freeze``), and it collects young objects less often. Measured by ``make bench``."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


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
    app = create_app(settings)
    settle_memory()
    uvicorn.run(
        app,
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
