"""The HTTP face of /graphql: what a request may be, the headers every answer carries, errors as JSON.

Both middlewares are plain ASGI, so they see the body as it streams in and the
headers of every response, the router's 404s and 405s included.
"""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from collections.abc import Mapping

    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

ERROR_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}

# An API answers with JSON only: nothing in it may run, load or be framed.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"


def error_response(status_code: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """A request refused before any GraphQL ran, shaped like a GraphQL response."""
    code = ERROR_CODES.get(status_code, "BAD_REQUEST")
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

    A POST must be ``application/json``: HTML forms can only send form encodings and
    ``text/plain``, so no other site can make a browser post to us (CSRF). A body over
    ``max_body_bytes`` is refused with 413: at once when its Content-Length says so,
    otherwise as soon as the bytes streamed in pass the cap.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

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
        if scope["method"] == "POST":
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


class SecurityHeaders:
    """Adds the headers every response should carry, unless the response set its own.

    ``no-store`` because responses carry tokens; the strict Content-Security-Policy
    suits JSON, and the GraphiQL page sends one of its own (``ide_content_security_policy``).
    """

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.defaults = {
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "x-frame-options": "DENY",
            "content-security-policy": API_CONTENT_SECURITY_POLICY,
        }
        if hsts:
            self.defaults["strict-transport-security"] = "max-age=31536000; includeSubDomains"

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


class _PageAssets(HTMLParser):
    """The origins a page loads scripts and styles from, and its inline scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.script_origins: set[str] = set()
        self.style_origins: set[str] = set()
        self.inline_scripts: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            source = attributes.get("src")
            if source:
                self.script_origins.add(_origin(source))
            else:
                self._in_inline_script = True
                self.inline_scripts.append("")
        elif tag == "link" and attributes.get("rel") == "stylesheet" and attributes.get("href"):
            self.style_origins.add(_origin(attributes["href"] or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data: str) -> None:
        if self._in_inline_script:
            self.inline_scripts[-1] += data


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "'self'"


def ide_content_security_policy(html: str) -> str:
    """A policy for the GraphiQL page that lets exactly that page work.

    Scripts: the CDN origins the page names and the sha256 of each inline script,
    computed from the HTML served, so no other inline script can run. Styles may be
    inline: GraphiQL and CodeMirror style elements as they draw, and a stray style
    cannot run code. Fonts and images come from the stylesheets' CDN or data: URIs
    (the favicon is one); queries go to this origin only.
    """
    page = _PageAssets()
    page.feed(html)
    page.close()
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in page.inline_scripts
    ]
    styles = sorted(page.style_origins)
    directives = {
        "default-src": ["'none'"],
        "script-src": [*sorted(page.script_origins), *hashes],
        "style-src": [*styles, "'unsafe-inline'"],
        "font-src": [*styles, "data:"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())
