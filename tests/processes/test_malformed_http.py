"""Requests uvicorn refuses before the app sees them, in a real server process: each gets a
400 with the gateway's headers and a GraphQL-shaped body."""

from __future__ import annotations

import json
from pathlib import Path

from tests.api.test_http_hardening import API_HEADERS, HSTS, raw_exchange
from tests.support.client import served_gateway
from tests.support.mail import SmtpSink
from tests.support.settings import production_env

MALFORMED = [
    b"GET /graphql HTTP/1.1\r\nHost: gateway\r\nthis is not a header\r\n\r\n",
    b"NOT AN HTTP REQUEST LINE\r\n\r\n",
    b"GET /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Length: twelve\r\n\r\n",
]


async def test_malformed_requests_get_a_400_with_the_headers(smtp_server: SmtpSink, tmp_path: Path) -> None:
    env = production_env(f"sqlite://{tmp_path / 'gateway.sqlite3'}", smtp_server.port, tmp_path / "data")
    async with served_gateway(env, smtp_server) as gateway:
        assert gateway.process is not None
        answers = [await raw_exchange(gateway.process.port, request) for request in MALFORMED]
    for request, (status, headers, body) in zip(MALFORMED, answers, strict=True):
        assert status == 400, request
        assert {name: headers.get(name) for name in API_HEADERS} == API_HEADERS
        assert headers["strict-transport-security"] == HSTS
        assert headers["content-type"] == "application/json"
        assert json.loads(body) == {
            "errors": [{"message": "Invalid HTTP request received.", "extensions": {"code": "BAD_REQUEST"}}]
        }
