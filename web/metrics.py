"""Prometheus metrics: requests, GraphQL outcomes, security events, the database pool, the mail
outbox; and ``/metrics``.

Each app has its own ``CollectorRegistry``, so several apps in one process (the
tests) count apart. Every label value comes from a closed set: route paths of
the app, field and type names of the schema, names of the rate limits. Nothing
a client sends becomes a label, so no client can grow the series without bound.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import GaugeMetricFamily
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.responses import Response
from starlette.routing import Route

from domain.entities import AuditEventType
from schema.operations import INVALID
from web.http import error_response

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator

    from prometheus_client.metrics_core import Metric
    from starlette.requests import Request

    from domain.entities import AuditEvent, MailKind, OutboxBacklog, WebhookEventType
    from schema.operations import OperationRecord

METRICS_PATH = "/metrics"
OTHER = "other"  # a path that is no route of the app, a method no route takes
MULTIPLE = "multiple"  # a GraphQL request that ran several root fields
_METHODS = frozenset({"GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"})


class PoolUsage(Protocol):
    @property
    def size(self) -> int: ...

    @property
    def in_use(self) -> int: ...

    @property
    def max_size(self) -> int: ...


class GatewayMetrics:
    """The gateway's metrics; also the domain's ``AuditObserver``, for security events, and the
    mail dispatcher's ``OutboxObserver``.

    Args:
        pool_usage: how busy the database connection pool is, ``None`` while there is none.
    """

    def __init__(self, pool_usage: Callable[[], PoolUsage | None] | None = None) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self._paths: frozenset[str] = frozenset()
        registry = self.registry
        self.http_requests = Counter(
            "gateway_http_requests",
            "HTTP requests answered, by route path, method and status code",
            ["path", "method", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "gateway_http_request_duration_seconds",
            "Time to answer an HTTP request, by route path",
            ["path"],
            registry=registry,
        )
        self.graphql_requests = Counter(
            "gateway_graphql_requests",
            "GraphQL requests, by operation: the root field that ran, 'multiple', or 'invalid' for a refused document",
            ["operation"],
            registry=registry,
        )
        self.graphql_duration = Histogram(
            "gateway_graphql_request_duration_seconds",
            "Time to answer a GraphQL request, by operation (as gateway_graphql_requests_total)",
            ["operation"],
            registry=registry,
        )
        self.graphql_results = Counter(
            "gateway_graphql_results",
            "Outcomes of root fields: the result's GraphQL type (AuthPayload, InvalidCredentials, RateLimited, ...), "
            "'null', 'list', 'value', 'UNAUTHENTICATED' or 'error'",
            ["field", "result"],
            registry=registry,
        )
        self.rate_limit_hits = Counter(
            "gateway_rate_limit_hits",
            "Attempts refused by a rate limit or the sign-in lockout, by limit",
            ["limit"],
            registry=registry,
        )
        self.refresh_token_reuse = Counter(
            "gateway_refresh_token_reuse_detections",
            "Spent refresh tokens presented again outside the grace window; each revoked its session",
            registry=registry,
        )
        if pool_usage is not None:
            registry.register(_PoolCollector(pool_usage))
        self.outbox_sent = Counter(
            "gateway_outbox_sent",
            "Mails and webhook events this process delivered from the outbox, by kind",
            ["kind"],
            registry=registry,
        )
        self.outbox_retried = Counter(
            "gateway_outbox_retried",
            "Failed delivery attempts this process scheduled again, by kind",
            ["kind"],
            registry=registry,
        )
        self.outbox_dead = Counter(
            "gateway_outbox_dead",
            "Mails and webhook events this process gave up on after the last attempt (see outbox list-dead), by kind",
            ["kind"],
            registry=registry,
        )

    def watch_outbox(self, backlog: Callable[[], OutboxBacklog]) -> None:
        """Report what the outbox holds, as the dispatcher last saw it (every OUTBOX_POLL_SECONDS)."""
        self.registry.register(_OutboxCollector(backlog))

    def delivered(self, kind: MailKind | WebhookEventType) -> None:
        self.outbox_sent.labels(kind.value).inc()

    def retried(self, kind: MailKind | WebhookEventType) -> None:
        self.outbox_retried.labels(kind.value).inc()

    def died(self, kind: MailKind | WebhookEventType) -> None:
        self.outbox_dead.labels(kind.value).inc()

    def know_paths(self, paths: Collection[str]) -> None:
        """The app's route paths: the only values of the ``path`` label besides ``other``."""
        self._paths = frozenset(paths)

    def observe_request(
        self, *, path: str, method: str, status: int, seconds: float, operation: OperationRecord | None
    ) -> None:
        """Count one answered HTTP request; ``operation`` is what GraphQL recorded, if it ran."""
        path_label = path if path in self._paths else OTHER
        self.http_requests.labels(path_label, method if method in _METHODS else OTHER, str(status)).inc()
        self.http_duration.labels(path_label).observe(seconds)
        if operation is None or not (operation.fields or operation.refused):
            return
        names = {name for name, _ in operation.fields}
        label = INVALID if not names else names.pop() if len(names) == 1 else MULTIPLE
        self.graphql_requests.labels(label).inc()
        self.graphql_duration.labels(label).observe(seconds)
        for name, outcome in operation.fields:
            self.graphql_results.labels(name, outcome).inc()

    def observe(self, event: AuditEvent) -> None:
        """``AuditObserver``: count the security events that have a metric of their own."""
        if event.type is AuditEventType.RATE_LIMITED:
            self.rate_limit_hits.labels(event.detail or OTHER).inc()
        elif event.type is AuditEventType.REFRESH_TOKEN_REUSED:
            self.refresh_token_reuse.inc()

    def route(self, *, token: str | None) -> Route:
        """``GET /metrics`` in Prometheus' text format (OpenMetrics if asked), behind ``Bearer token`` if given."""

        async def metrics(request: Request) -> Response:
            if token is not None and not _bearer_matches(request.headers.get("authorization"), token):
                return error_response(
                    401,
                    "Send the metrics token as Authorization: Bearer <token>.",
                    {"www-authenticate": 'Bearer realm="metrics"'},
                    code="UNAUTHENTICATED",
                )
            encode, content_type = choose_encoder(request.headers.get("accept", ""))
            return Response(encode(self.registry), headers={"content-type": content_type})

        return Route(METRICS_PATH, metrics, methods=["GET"])


def _bearer_matches(header: str | None, token: str) -> bool:
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class _PoolCollector:
    """Reads the pool's numbers at each scrape, rather than tracking every checkout."""

    def __init__(self, pool_usage: Callable[[], PoolUsage | None]) -> None:
        self._pool_usage = pool_usage

    def describe(self) -> Iterator[Metric]:
        return self._families(None)

    def collect(self) -> Iterator[Metric]:
        return self._families(self._pool_usage())

    def _families(self, usage: PoolUsage | None) -> Iterator[Metric]:
        values = (usage.size, usage.in_use, usage.max_size) if usage is not None else (None, None, None)
        for (name, documentation), value in zip(_POOL_GAUGES, values, strict=True):
            family = GaugeMetricFamily(name, documentation)
            if usage is not None and value is not None:
                family.add_metric([], value)
            yield family


class _OutboxCollector:
    """The outbox's backlog as the dispatcher last counted it: no query at scrape time."""

    def __init__(self, backlog: Callable[[], OutboxBacklog]) -> None:
        self._backlog = backlog

    def describe(self) -> Iterator[Metric]:
        return self.collect()

    def collect(self) -> Iterator[Metric]:
        backlog = self._backlog()
        queued = GaugeMetricFamily(
            "gateway_outbox_queued",
            "Mails and webhook events waiting in the outbox (all processes), dead and delivered ones not",
        )
        queued.add_metric([], backlog.queued)
        yield queued
        dead = GaugeMetricFamily(
            "gateway_outbox_dead_items", "Dead mails and webhook events in the outbox, waiting for outbox retry"
        )
        dead.add_metric([], backlog.dead)
        yield dead
        age = GaugeMetricFamily(
            "gateway_outbox_oldest_queued_age_seconds",
            "Age of the oldest mail or webhook event waiting in the outbox (0: none)",
        )
        oldest = backlog.oldest_queued_at
        age.add_metric([], max(0.0, (datetime.now(UTC) - oldest).total_seconds()) if oldest else 0.0)
        yield age


_POOL_GAUGES = (
    ("gateway_db_pool_connections", "Open database connections (SQLite: its one connection, 0 or 1)"),
    ("gateway_db_pool_connections_in_use", "Database connections lent to a query or transaction"),
    ("gateway_db_pool_max_connections", "The most database connections the pool may open (SQLite: 1)"),
)
