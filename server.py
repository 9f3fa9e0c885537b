"""The entry points: the ASGI ``app`` and ``python server.py COMMAND``.

``uvicorn server:app`` serves the gateway; ``python server.py`` does the same with
the configured HOST and PORT. ``python server.py --help`` lists the other commands
(``cli``): check, migrate, unlock-account, generate-key. The settings are in
``settings``, the services with their adapters in ``wiring``.
"""

from __future__ import annotations

import functools
import re
import signal
import sys
import uuid
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route
from tortoise import Tortoise
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

import cli
from persistence.config import tortoise_config
from persistence.health import DatabaseProbe
from persistence.migrate import apply_migrations, ensure_sqlite_directory
from schema.forward_auth import forward_auth_route
from schema.health import Readiness, health_routes
from schema.http import RequestGuard, SecurityHeaders, http_exception_handler, server_error_handler
from schema.limits import GraphQLLimits
from schema.metrics import GatewayMetrics
from schema.request_log import RequestLog, configure_logging
from schema.root import build_schema
from schema.transport import CSRF_HEADER, RefreshTokenTransport
from schema.uvicorn_protocol import gateway_http_protocol
from schema.view import GatewayGraphQL
from schema.wellknown import well_known_routes
from settings import load_settings
from wiring import build_services

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from types import FrameType

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from domain.ports import Clock, Mailer
    from settings import Settings

GRAPHQL_PATH = "/graphql"

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Gives each request an id (the caller's X-Request-ID when sane) and echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode("latin-1")))
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(settings: Settings, *, mailer: Mailer | None = None, clock: Clock | None = None) -> Starlette:
    """The ASGI app; tests may hand in their own mailer or clock, everything else is real."""
    database = DatabaseProbe(settings.database_url)
    metrics_token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    metrics = GatewayMetrics(database.pool_usage) if settings.serves_metrics else None
    services = build_services(settings, mailer, clock, audit_observer=metrics)
    limits = GraphQLLimits(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
        max_directives=settings.graphql_max_directives,
    )
    development = not settings.production
    schema = build_schema(limits, introspection=development, suggestions=development)
    transport = RefreshTokenTransport(
        mode=settings.refresh_token_transport,
        secure=settings.refresh_cookie_secure,
        same_site=settings.refresh_cookie_samesite,
        path=GRAPHQL_PATH,
    )
    graphql = GatewayGraphQL(schema, services, graphiql=development, transport=transport)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await apply_migrations(settings.database_url)
        ensure_sqlite_directory(settings.database_url)
        # Requests run in other tasks than the lifespan: let them find this context.
        await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
        try:
            yield
        finally:
            await services.mail_queue.drain()  # notices of changes already made
            await Tortoise.close_connections()

    app = Starlette(
        routes=[
            Route(GRAPHQL_PATH, graphql, methods=["GET", "POST"] if development else ["POST"]),
            forward_auth_route(services.identity),  # for reverse proxies: nginx auth_request and the like
            *well_known_routes(services.identity.public_keys(), settings.jwt_issuer, settings.public_url),  # JWKS
            *graphql.ide_routes,  # GraphiQL's scripts and styles, served only with the page (development)
            *health_routes(Readiness(database.problem, timeout_seconds=settings.readiness_timeout_seconds)),
            *([metrics.route(token=metrics_token)] if metrics else []),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: http_exception_handler},
    )
    if metrics:
        metrics.know_paths([route.path for route in app.routes if isinstance(route, Route)])
    app.state.services = services  # for operators' tooling and the tests, e.g. to drain the mail queue
    app.add_middleware(
        RequestGuard,
        max_body_bytes=settings.max_request_body_bytes,
        csrf_header=CSRF_HEADER if transport.uses_cookie else None,
        graphql_path=GRAPHQL_PATH,
    )
    if settings.cors_origins:
        # Outside the guard, so a preflight (OPTIONS, no body) is answered before the router's 405.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,  # the refresh cookie; Starlette echoes the one allowed origin, never *
            allow_methods=["POST", "GET"] if development else ["POST"],
            allow_headers=["Authorization", "Content-Type", CSRF_HEADER, "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            max_age=settings.cors_max_age_seconds,
        )
    app.add_middleware(SecurityHeaders, hsts=settings.production)
    app.add_middleware(RequestLog, metrics=metrics)  # inside RequestIdMiddleware: it logs the request id
    app.add_middleware(RequestIdMiddleware)
    if settings.trusted_proxies:
        # X-Forwarded-For is believed only from these peers: anyone else could forge it.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    # What no layer handled: Starlette answers it outside every middleware, so the answer
    # brings the security headers itself.
    app.add_exception_handler(Exception, server_error_handler(hsts=settings.production))
    # No trailing-slash redirects: without PUBLIC_URL their Location would name whatever
    # Host the request carried. /graphql/ is simply not found.
    app.router.redirect_slashes = False
    return app


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
    """Serve the gateway on HOST:PORT until SIGTERM or SIGINT (a graceful stop: README, Deployment)."""
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
