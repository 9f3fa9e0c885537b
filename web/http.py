"""The HTTP face of /graphql: what a request may be, the headers every answer carries, errors as JSON.

Both middlewares are plain ASGI, so they see the body as it streams in and the
headers of every response, the router's 404s and 405s included.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("gateway.http")

ERROR_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}

# An API answers with JSON only: nothing in it may run, load or be framed.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"


def error_response(
    status_code: int, message: str, headers: Mapping[str, str] | None = None, *, code: str | None = None
) -> JSONResponse:
    """A request refused before any GraphQL ran, shaped like a GraphQL response."""
    code = code or ERROR_CODES.get(status_code, "BAD_REQUEST")
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code, headers)


async def http_exception_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own 404 and 405, as JSON like every other error."""
    status_code: int = getattr(exc, "status_code", 400)
    detail: str = getattr(exc, "detail", "Bad request")
    headers: Mapping[str, str] | None = getattr(exc, "headers", None)
    return error_response(status_code, detail, headers)


class _BodyTooLarge(Exception):
    pass


class RequestGuard:
    """Refuses what the GraphQL view should never read.

    A POST to the GraphQL endpoint must be ``application/json``: HTML forms can only send form encodings and
    ``text/plain``, so no other site can make a browser post to us (CSRF). When a
    cookie carries credentials (``csrf_header`` is set), a POST must also carry that
    header, which no form can send and no other origin's script can send without a
    CORS preflight that only allowed origins pass. A body over ``max_body_bytes`` is
    refused with 413: at once when its Content-Length says so, otherwise as soon as
    the bytes streamed in pass the cap.
    """

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, csrf_header: str | None = None, graphql_path: str = "/graphql"
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.csrf_header = csrf_header
        self.graphql_path = graphql_path  # the POST rules are the GraphQL endpoint's; forward auth reads no body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _BodyTooLarge:
            if response_started:  # pragma: no cover - the view reads the whole body before answering
                raise
            await self._too_large()(scope, receive, send)

    def _refusal(self, scope: Scope) -> JSONResponse | None:
        headers = Headers(scope=scope)
        if scope["method"] == "POST" and scope["path"] == self.graphql_path:
            if self.csrf_header and not headers.get(self.csrf_header, "").strip():
                return error_response(
                    403,
                    f"Send the {self.csrf_header} header with every POST: "
                    "the refresh cookie is only accepted from scripts of allowed origins.",
                    code="CSRF_HEADER_MISSING",
                )
            media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media_type != "application/json":
                return error_response(415, f"Send the request as application/json, not {media_type or 'nothing'}.")
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return error_response(400, "The Content-Length header is not a number.")
            if int(length) > self.max_body_bytes:
                return self._too_large()
        return None

    def _too_large(self) -> JSONResponse:
        return error_response(413, f"The request body is larger than {self.max_body_bytes} bytes.")


def security_headers(*, hsts: bool) -> dict[str, str]:
    """The headers of every answer: ``no-store`` because answers carry tokens, a
    Content-Security-Policy for JSON, and with ``hsts`` (production) Strict-Transport-Security."""
    headers = {
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "content-security-policy": API_CONTENT_SECURITY_POLICY,
    }
    if hsts:
        headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
    return headers


def server_error_handler(*, hsts: bool) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    """Starlette's last resort (``exception_handlers={Exception: …}``), for what no layer handled.

    Starlette answers it from ``ServerErrorMiddleware``, outside every middleware of
    the app, so this answer brings the security headers and the request id along
    itself. Like a GraphQL error, it is masked; Starlette then re-raises the
    exception, and uvicorn logs its traceback.
    """
    headers = security_headers(hsts=hsts)

    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        request_id: str | None = getattr(request.state, "request_id", None)
        logger.error(
            "unexpected %s in %s %s (request id %s)",
            type(exc).__name__,
            request.method,
            request.url.path[:200],
            request_id,
        )
        extensions = {"code": "INTERNAL_SERVER_ERROR"}
        response_headers = dict(headers)
        if request_id:
            extensions["requestId"] = request_id
            response_headers["x-request-id"] = request_id
        message = f"Unexpected error (request id {request_id})" if request_id else "Unexpected error"
        return JSONResponse({"errors": [{"message": message, "extensions": extensions}]}, 500, response_headers)

    return server_error


class SecurityHeaders:
    """Adds ``security_headers`` to every response, unless the response set its own.

    The GraphiQL page sends a Content-Security-Policy of its own (``IDE_CONTENT_SECURITY_POLICY``).
    Answers written outside the app carry them too: Starlette's last-resort 500
    (``server_error_handler``) and uvicorn's 400 for a request it cannot parse
    (``web.uvicorn_protocol``).
    """

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.defaults = security_headers(hsts=hsts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.defaults.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


# The GraphiQL page (web/graphiql/) loads nothing from another host: its scripts and
# stylesheets are files the gateway serves under /graphiql/ (no inline script, so no
# hashes), the fonts and images of graphiql.min.css are data: URIs, and queries go to
# this origin only.
IDE_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self' data:",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
