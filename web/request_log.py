"""One log line per request, and the process's log format: JSON lines in production, text in development.

A request's line holds its id (the X-Request-ID the client sent, or the one the
gateway made up and echoed), method, path, status, duration, the client's
address and, for GraphQL, the operation's name, the root fields that ran and
each one's outcome. Never a header, a query string, a variable or a body: so
never a password, a code or a token.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from schema.operations import start_record
from web.client_address import client_ip

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from schema.operations import OperationRecord
    from web.metrics import GatewayMetrics

logger = logging.getLogger("gateway.request")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_PATH = 200  # a path is whatever the client asked for: keep a line a line


class RequestLog:
    """Times each HTTP request, then writes its line and counts it in ``metrics``.

    Sits inside ``RequestIdMiddleware`` (it reads the id from ``scope["state"]``)
    and outside everything that may refuse a request, so refusals are logged too.
    """

    def __init__(self, app: ASGIApp, *, metrics: GatewayMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        record = start_record(scope)
        status = 500  # what the client gets if the app raises before answering

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            seconds = time.perf_counter() - started
            self._log(scope, status, seconds, record)
            if self.metrics is not None:
                self.metrics.observe_request(
                    path=scope["path"], method=scope["method"], status=status, seconds=seconds, operation=record
                )

    @staticmethod
    def _log(scope: Scope, status: int, seconds: float, record: OperationRecord) -> None:
        client = scope.get("client")
        fields: dict[str, Any] = {
            "request_id": scope.get("state", {}).get("request_id"),
            "method": scope["method"],
            "path": scope["path"][:MAX_PATH],
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "client_ip": client_ip(client[0] if client else None),
            "operation_name": record.operation_name,
            "operation": record.operation,
            "outcome": record.outcome,
        }
        logger.info(_summary(fields), extra={"fields": fields})


def _summary(fields: dict[str, Any]) -> str:
    """The line for people: ``POST /graphql 200 12.3 ms Login: login -> AuthPayload [request 5f…]``."""
    line = f"{fields['method']} {fields['path']} {fields['status']} {fields['duration_ms']} ms"
    if fields["operation"] or fields["outcome"]:
        name = f"{fields['operation_name']}: " if fields["operation_name"] else ""
        line += f" {name}{fields['operation'] or '-'} -> {fields['outcome'] or '-'}"
    return f"{line} [request {fields['request_id']}]"


class JsonFormatter(logging.Formatter):
    """Each record as one JSON object: time, level, logger, message, and the record's own fields.

    A request line's fields come from ``extra={"fields": {...}}``; a message that
    already is a JSON object (the audit trail's) is merged rather than quoted; a
    traceback is one string under ``exception``.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        message = record.getMessage()
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry["message"] = message
            entry.update(fields)
        elif (parsed := _json_object(message)) is not None:
            entry.update(parsed)
        else:
            entry["message"] = message
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=True, default=str)


def _json_object(message: str) -> dict[str, Any] | None:
    if not message.startswith("{"):
        return None
    try:
        parsed = json.loads(message)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def configure_logging(*, json_lines: bool, level: int = logging.INFO) -> None:
    """Every logger of the process to stderr: JSON lines (production) or text (development)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    # Neither format shows where a line was logged from, nor the thread or process: the
    # logging module need not look them up for every line (its documented optimisations;
    # a quarter of what a request's line cost).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging.basicConfig(level=level, handlers=[handler], force=True)
