"""One log line per request: JSON in production, text in development; never a password, a code or a token."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.support.client import LOGIN, PASSWORD, Gateway, GatewayFactory
from tests.support.databases_used import sqlite_only
from web.request_log import JsonFormatter

# The request log is written above the database.
pytestmark = sqlite_only

REQUEST_ID = "trace-4b1d.7:e2e"


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The request log's records, as the production formatter writes them."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == "gateway.request"]


@pytest.fixture
async def production(gateway_factory: GatewayFactory, caplog: pytest.LogCaptureFixture) -> Gateway:
    caplog.set_level(logging.INFO, logger="gateway.request")
    gateway: Gateway = await gateway_factory(app_env="production")
    caplog.clear()
    return gateway


class TestRequestLine:
    async def test_names_the_request_its_operation_outcome_status_and_duration(
        self, production: Gateway, caplog: pytest.LogCaptureFixture
    ) -> None:
        variables = {"input": {"email": "nobody@example.com", "password": PASSWORD}}
        await production.post(LOGIN, variables, headers={"X-Request-ID": REQUEST_ID})
        [line] = request_lines(caplog)
        assert line["logger"] == "gateway.request"
        assert line["level"] == "INFO"
        assert line["request_id"] == REQUEST_ID
        assert (line["method"], line["path"], line["status"]) == ("POST", "/graphql", 200)
        assert (line["operation_name"], line["operation"], line["outcome"]) == ("Login", "login", "InvalidCredentials")
        assert isinstance(line["duration_ms"], float)
        assert line["duration_ms"] >= 0
        assert line["client_ip"] == "127.0.0.1"

    async def test_the_id_made_up_for_a_request_is_the_one_echoed(
        self, production: Gateway, caplog: pytest.LogCaptureFixture
    ) -> None:
        await production.post("query Me { me { id } }")
        [line] = request_lines(caplog)
        assert production.last_response is not None
        assert line["request_id"] == production.last_response.headers["x-request-id"]
        assert (line["operation"], line["outcome"]) == ("me", "null")

    async def test_refused_requests_are_logged_too(self, production: Gateway, caplog: pytest.LogCaptureFixture) -> None:
        await production.http.post("/graphql", content="query=x", headers={"Content-Type": "text/plain"})
        await production.post("{ noSuchField }")
        refused, invalid = request_lines(caplog)
        assert (refused["status"], refused["operation"], refused["outcome"]) == (415, None, None)
        assert (invalid["status"], invalid["operation"], invalid["outcome"]) == (200, None, "invalid")

    async def test_the_query_string_is_not_logged(self, production: Gateway, caplog: pytest.LogCaptureFixture) -> None:
        await production.http.get("/healthz?token=secret-in-a-query-string")
        [line] = request_lines(caplog)
        assert line["path"] == "/healthz"
        assert "secret-in-a-query-string" not in json.dumps(line)
