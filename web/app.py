"""The ASGI app: routes, middleware in their order, and the lifespan that opens the database
and runs the retention job in the background."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from schema.limits import GraphQLLimits
from schema.root import build_schema
from schema.trusted import TrustedDocuments
from web.forward_auth import forward_auth_route
from web.graphql_view import GatewayGraphQL
from web.health import Readiness, health_routes
from web.http import RequestGuard, SecurityHeaders, http_exception_handler, server_error_handler
from web.metrics import GatewayMetrics
from web.provider_callback import BrowserBindingCookie, provider_callback_route
from web.request_id import RequestIdMiddleware
from web.request_log import RequestLog
from web.transport import CSRF_HEADER, RefreshTokenTransport
from web.wellknown import well_known_routes
from wiring import build_retention_job, build_services, database_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from domain.ports import Clock, Mailer
    from schema.masking import GatewaySchema
    from settings import Settings

GRAPHQL_PATH = "/graphql"


def graphql_limits(settings: Settings) -> GraphQLLimits:
    return GraphQLLimits(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
        max_directives=settings.graphql_max_directives,
    )


def trusted_documents(settings: Settings, schema: GatewaySchema | None = None) -> TrustedDocuments | None:
    """The manifest of TRUSTED_DOCUMENTS, every entry checked against the schema the app serves.

    Raises:
        ValueError: the manifest cannot be read, or one of its entries is wrong or refused.
    """
    if settings.trusted_documents is None:
        return None
    if schema is None:
        development = not settings.production
        schema = build_schema(graphql_limits(settings), introspection=development, suggestions=development)
    trusted = TrustedDocuments.load(settings.trusted_documents, only=settings.trusted_documents_only)
    trusted.check(schema)
    return trusted


def create_app(settings: Settings, *, mailer: Mailer | None = None, clock: Clock | None = None) -> Starlette:
    """The ASGI app; tests may hand in their own mailer or clock, everything else is real."""
    database = database_of(settings)
    metrics_token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    metrics = GatewayMetrics(database.probe.pool_usage) if settings.serves_metrics else None
    services = build_services(settings, mailer, clock, audit_observer=metrics, outbox_observer=metrics)
    development = not settings.production
    schema = build_schema(graphql_limits(settings), introspection=development, suggestions=development)
    trusted = trusted_documents(settings, schema)
    transport = RefreshTokenTransport(
        mode=settings.refresh_token_transport,
        secure=settings.refresh_cookie_secure,
        same_site=settings.refresh_cookie_samesite,
        path=GRAPHQL_PATH,
    )
    binding = BrowserBindingCookie(secure=settings.refresh_cookie_secure)
    graphql = GatewayGraphQL(
        schema, services, graphiql=development, transport=transport, binding=binding, trusted=trusted
    )
    retention = build_retention_job(settings, clock)
    retention_interval = timedelta(seconds=settings.retention_interval_seconds)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await database.open()
        services.mail_dispatcher.start()
        # now and every interval; it logs its own failures and never ends by itself
        purging = asyncio.create_task(retention.run_every(retention_interval)) if retention_interval else None
        try:
            yield
        finally:
            if purging is not None:
                purging.cancel()  # a batch cut short is rolled back; the next start goes on
                await asyncio.wait([purging])
            # Deliveries under way finish; whatever is still queued waits in the outbox table
            # for the next start (or another process).
            await services.mail_dispatcher.stop()
            await database.close()

    app = Starlette(
        routes=[
            Route(GRAPHQL_PATH, graphql, methods=["GET", "POST"] if development else ["POST"]),
            forward_auth_route(services.identity),  # for reverse proxies: nginx auth_request and the like
            *([provider_callback_route(services.provider_sign_in, binding)] if settings.oidc_providers else []),
            *well_known_routes(services.identity.public_keys(), settings.jwt_issuer, settings.public_url),  # JWKS
            *graphql.ide_routes,  # GraphiQL's scripts and styles, served only with the page (development)
            *health_routes(Readiness(database.probe.problem, timeout_seconds=settings.readiness_timeout_seconds)),
            *([metrics.route(token=metrics_token)] if metrics else []),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: http_exception_handler},
    )
    if metrics:
        metrics.watch_outbox(lambda: services.mail_dispatcher.backlog)
        metrics.know_paths([route.path for route in app.routes if isinstance(route, Route)])
    app.state.services = services  # for operators' tooling and the tests, e.g. to settle the outbox
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
