"""What /graphql accepts over HTTP, and the headers every answer carries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.types import Message

from persistence.models import UserRow
from tests.support.client import PASSWORD, Gateway, GatewayFactory
from tests.support.databases_used import sqlite_only
from tests.support.settings import make_settings
from web.app import create_app

REGISTER_EVE = f'mutation {{ register(input: {{email: "eve@example.com", password: "{PASSWORD}"}}) {{ __typename }} }}'
API_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


def http_error(response: httpx.Response, status: int, code: str) -> str:
    """The message of a request refused before GraphQL: JSON, shaped like a GraphQL response."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": code}
    message: str = error["message"]
    return message


async def assert_nothing_ran(gateway: Gateway) -> None:
    assert gateway.mailbox.messages == []
    assert await UserRow.all().count() == 0


@sqlite_only
class TestOnlyJsonIsAccepted:
    @pytest.mark.parametrize(
        ("content_type", "request_body"),
        [
            ("application/x-www-form-urlencoded", {"data": {"query": REGISTER_EVE}}),
            ("multipart/form-data", {"files": {"operations": (None, json.dumps({"query": REGISTER_EVE}))}}),
            ("text/plain", {"content": json.dumps({"query": REGISTER_EVE}), "headers": {"content-type": "text/plain"}}),
        ],
    )
    async def test_what_an_html_form_can_send_is_refused(
        self, gateway: Gateway, content_type: str, request_body: dict[str, Any]
    ) -> None:
        response = await gateway.http.post("/graphql", **request_body)
        assert http_error(response, 415, "UNSUPPORTED_MEDIA_TYPE") == (
            f"Send the request as application/json, not {content_type}."
        )
        await assert_nothing_ran(gateway)

    async def test_a_multipart_upload_in_the_graphql_multipart_spec_is_refused(self, gateway: Gateway) -> None:
        operations = {"query": "mutation($file: Upload!) { upload(file: $file) }", "variables": {"file": None}}
        response = await gateway.http.post(
            "/graphql",
            data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
            files={"0": ("a.txt", b"hello", "text/plain")},
        )
        http_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")

    async def test_json_with_a_charset_is_accepted(self, gateway: Gateway) -> None:
        response = await gateway.http.post(
            "/graphql",
            content=json.dumps({"query": "{ __typename }"}),
            headers={"content-type": "application/json; charset=utf-8"},
        )
        assert response.json() == {"data": {"__typename": "Query"}}


def chunks(count: int, size: int, pulled: list[int]) -> AsyncIterator[bytes]:
    """A body streamed in ``count`` chunks, counting in ``pulled`` how many the server read."""

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(count):
            pulled.append(size)
            yield b" " * size

    return stream()


@sqlite_only
class TestBodySize:
    async def test_a_content_length_over_the_cap_is_refused_without_reading(self, gateway: Gateway) -> None:
        pulled: list[int] = []
        response = await gateway.http.post(
            "/graphql",
            content=chunks(100, 1024, pulled),
            headers={"content-type": "application/json", "content-length": str(100 * 1024)},
        )
        assert http_error(response, 413, "PAYLOAD_TOO_LARGE") == "The request body is larger than 65536 bytes."
        assert pulled == []

    async def test_a_chunked_body_is_cut_off_once_past_the_cap(self, gateway: Gateway) -> None:
        pulled: list[int] = []
        response = await gateway.http.post(
            "/graphql", content=chunks(1024, 1024, pulled), headers={"content-type": "application/json"}
        )
        assert "transfer-encoding" in response.request.headers
        assert http_error(response, 413, "PAYLOAD_TOO_LARGE") == "The request body is larger than 65536 bytes."
        assert sum(pulled) == 65 * 1024  # one chunk past the cap, not the whole megabyte

    async def test_a_large_but_allowed_body_is_served(self, gateway: Gateway) -> None:
        padding = " " * (60 * 1024)
        response = await gateway.http.post("/graphql", json={"query": "{ __typename }" + padding})
        assert response.json() == {"data": {"__typename": "Query"}}

    async def test_the_cap_is_a_setting(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(max_request_body_bytes=1024)
        response = await gateway.http.post("/graphql", json={"query": "{ __typename }" + " " * 1024})
        assert http_error(response, 413, "PAYLOAD_TOO_LARGE") == "The request body is larger than 1024 bytes."


@sqlite_only
class TestMalformedRequests:
    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b"{not json", "Unable to parse request body as JSON"),
            (b'{"query": "\xff"}', "Unable to parse request body as JSON"),
            (b"[" * 10_000 + b"]" * 10_000, "Unable to parse request body as JSON"),
            (b'"{ __typename }"', "Expected a JSON object"),
            (b"null", "Expected a JSON object"),
            (b"42", "Expected a JSON object"),
            (b"{}", "No GraphQL query found in the request"),
            (b'{"query": ""}', "No GraphQL query found in the request"),
            (b'{"query": 42}', "The GraphQL operation's `query` must be a string or null, if provided."),
            (b'{"query": "{ me { id } }", "variables": []}', None),
            (b'{"query": "{ me { id } }", "variables": "x"}', None),
            (b'{"query": "{ me { id } }", "extensions": 1}', None),
            (b'{"query": "query A { me { id } }", "operationName": "B"}', 'Unknown operation named "B".'),
            (b'{"query": "query A { me { id } }", "operationName": 7}', 'Unknown operation named "7".'),
        ],
    )
    async def test_answer_400_with_a_json_error(self, gateway: Gateway, body: bytes, message: str | None) -> None:
        response = await gateway.http.post("/graphql", content=body, headers={"content-type": "application/json"})
        said = http_error(response, 400, "BAD_REQUEST")
        if message is not None:
            assert said == message
        assert "Traceback" not in said

    async def test_variables_of_the_wrong_type_are_a_graphql_error(self, gateway: Gateway) -> None:
        body = await gateway.post("mutation($input: LoginInput!) { login(input: $input) { __typename } }", {"input": 5})
        assert body["data"] is None
        [error] = body["errors"]
        assert "Expected value of type 'LoginInput' to be an object" in error["message"]

    async def test_a_batch_is_refused_and_none_of_it_runs(self, gateway: Gateway) -> None:
        batch = [{"query": REGISTER_EVE}, {"query": REGISTER_EVE.replace("eve@", "eva@")}]
        response = await gateway.http.post("/graphql", json=batch)
        assert http_error(response, 400, "BAD_REQUEST") == "Batching is not enabled"
        await assert_nothing_ran(gateway)


@sqlite_only
class TestSubscriptions:
    async def test_a_subscription_operation_is_refused(self, gateway: Gateway) -> None:
        body = await gateway.post("subscription { me { id } }")
        assert body["data"] is None
        assert body["errors"][0]["message"] == "The subscription operation is not supported by the schema."

    async def test_an_event_stream_request_gets_plain_json(self, gateway: Gateway) -> None:
        response = await gateway.http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"accept": "text/event-stream"}
        )
        assert response.headers["content-type"] == "application/json"


async def test_websockets_are_closed_at_the_door(tmp_path: Path) -> None:
    app = create_app(make_settings(f"sqlite://{tmp_path / 'unused.sqlite3'}", 25, tmp_path))
    sent: list[Message] = []
    incoming = iter([{"type": "websocket.connect"}])

    async def receive() -> Message:
        return next(incoming, {"type": "websocket.disconnect", "code": 1000})

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "headers": [(b"sec-websocket-protocol", b"graphql-transport-ws")],
        "scheme": "ws",
        "server": ("gateway.test", 80),
        "client": ("127.0.0.1", 5000),
        "root_path": "",
        "subprotocols": ["graphql-transport-ws", "graphql-ws"],
        "app": app,
    }
    await app(scope, receive, send)
    assert [message["type"] for message in sent] == ["websocket.close"]


@sqlite_only
class TestSecurityHeaders:
    @pytest.mark.parametrize(
        ("method", "path", "kwargs", "status"),
        [
            ("POST", "/graphql", {"json": {"query": "{ __typename }"}}, 200),
            ("POST", "/graphql", {"json": {"query": "{ nope }"}}, 200),
            ("GET", "/nowhere", {}, 404),
            ("DELETE", "/graphql", {}, 405),
            ("POST", "/graphql", {"content": "{}", "headers": {"content-type": "text/plain"}}, 415),
            ("POST", "/graphql", {"content": "x" * 70_000, "headers": {"content-type": "application/json"}}, 413),
            ("POST", "/graphql", {"content": "[", "headers": {"content-type": "application/json"}}, 400),
        ],
    )
    async def test_on_every_response(
        self, gateway: Gateway, method: str, path: str, kwargs: dict[str, Any], status: int
    ) -> None:
        response = await gateway.http.request(method, path, **kwargs)
        assert response.status_code == status
        assert {name: response.headers.get(name) for name in API_HEADERS} == API_HEADERS
        assert "strict-transport-security" not in response.headers  # development is plain HTTP
        assert response.headers["content-type"] == "application/json"

    async def test_not_found_and_wrong_method_are_json_too(self, gateway: Gateway) -> None:
        assert http_error(await gateway.http.get("/nowhere"), 404, "NOT_FOUND") == "Not Found"
        response = await gateway.http.put("/graphql")
        assert http_error(response, 405, "METHOD_NOT_ALLOWED") == "Method Not Allowed"
        assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}


HSTS = "max-age=31536000; includeSubDomains"


@sqlite_only
class TestAnswersFromOutsideTheApp:
    """Answers that Starlette's outermost layer or uvicorn itself write carry the headers too."""

    @pytest.mark.parametrize("app_env", ["development", "production"])
    async def test_a_crash_outside_graphql_is_a_masked_json_500(
        self, gateway_factory: GatewayFactory, monkeypatch: pytest.MonkeyPatch, app_env: str
    ) -> None:
        gateway: Gateway = await gateway_factory(app_env=app_env)

        async def outage(*_args: object) -> None:
            raise ConnectionError("could not connect to db.internal:5432 as gateway_rw")

        # forward auth has no handler of its own for an outage: Starlette's last-resort 500 answers
        monkeypatch.setattr(gateway.app.state.services.identity, "authenticate", outage)
        payload = await gateway.signed_up("ann@example.com")
        transport = httpx.ASGITransport(app=gateway.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            response = await http.get(
                "/auth/forward",
                headers={"Authorization": f"Bearer {payload['accessToken']}", "X-Request-ID": "outage-1"},
            )
        assert response.status_code == 500
        assert {name: response.headers.get(name) for name in API_HEADERS} == API_HEADERS
        assert response.headers.get("strict-transport-security") == (HSTS if app_env == "production" else None)
        assert response.headers["x-request-id"] == "outage-1"
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {
            "errors": [
                {
                    "message": "Unexpected error (request id outage-1)",
                    "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "outage-1"},
                }
            ]
        }


@sqlite_only
class TestNoRedirects:
    """Starlette's trailing-slash redirects would name whatever Host the request carried."""

    @pytest.mark.parametrize("app_env", ["development", "production"])
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/graphql/"),
            ("POST", "/graphql/"),
            ("GET", "/healthz/"),
            ("GET", "/.well-known/jwks.json/"),
            ("GET", "/auth/forward/"),
            ("GET", "/graphiql"),
        ],
    )
    async def test_a_path_with_a_slash_too_many_or_too_few_is_not_found(
        self, gateway_factory: GatewayFactory, app_env: str, method: str, path: str
    ) -> None:
        gateway: Gateway = await gateway_factory(app_env=app_env)  # no PUBLIC_URL
        response = await gateway.http.request(method, path, headers={"Host": "evil.example"}, json={})
        assert "evil.example" not in response.headers.get("location", "")
        assert http_error(response, 404, "NOT_FOUND") == "Not Found"


async def raw_exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as bytes on a new connection; the status, headers and body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)  # uvicorn closes the connection after a 400
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        assert name.lower() not in headers, f"{name} twice in {head!r}"
        headers[name.lower()] = value.strip()
    return int(status_line.split(" ")[1]), headers, body


class _Page(HTMLParser):
    """What the GraphiQL page loads and runs (parsed here, apart from the code under test)."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.images: list[str] = []
        self.inline_scripts: list[str] = []
        self._inline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "script" and attributes.get("src"):
            self.scripts.append(attributes["src"])
        elif tag == "script":
            self._inline = True
            self.inline_scripts.append("")
        elif tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes["href"])
        elif tag == "link" and attributes.get("rel") == "icon":
            self.images.append(attributes["href"])
        elif tag in {"iframe", "object", "embed", "img", "form"}:
            raise AssertionError(f"the policy does not cover <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        self._inline = self._inline and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._inline:
            self.inline_scripts[-1] += data


def allows(sources: list[str], url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "data":
        return "data:" in sources
    if not parts.scheme and not parts.netloc:  # a path: the gateway itself
        return "'self'" in sources
    return f"{parts.scheme}://{parts.netloc}" in sources


@sqlite_only
class TestGraphiQLPolicy:
    async def test_lets_the_page_load_exactly_what_it_uses(self, gateway: Gateway) -> None:
        response = await gateway.http.get("/graphql", headers={"accept": "text/html"})
        assert response.status_code == 200
        policy = {
            name: sources
            for name, *sources in (part.split() for part in response.headers["content-security-policy"].split(";"))
        }
        page = _Page()
        page.feed(response.text)
        assert page.scripts
        assert page.stylesheets
        assert page.inline_scripts == []  # its bootstrap is a file: no hash in the policy

        assert policy["default-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["connect-src"] == ["'self'"]  # queries go to this origin only
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "https:"} & set(policy["script-src"])
        for src in page.scripts:
            assert allows(policy["script-src"], src), src
        for href in page.stylesheets:
            assert allows(policy["style-src"], href), href
        for href in page.images:
            assert allows(policy["img-src"], href), href
        # nothing but the gateway itself (tests/api/test_graphiql_offline.py: no other host at all)
        assert policy["script-src"] == ["'self'"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
