"""One log line per request: JSON in production, text in development; never a password, a code or a token."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SmtpSink
from tests.e2e.conftest import LOGIN, PASSWORD, Gateway, GatewayFactory
from tests.e2e.served import production_env, served
from web.request_log import JsonFormatter

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


class TestProductionProcess:
    async def test_every_line_is_json_and_none_holds_a_secret(self, smtp_server: SmtpSink, tmp_path: Path) -> None:
        email = "logged@example.com"
        env = production_env(f"sqlite://{tmp_path / 'gateway.sqlite3'}", smtp_server, tmp_path / "data")
        async with served(env) as process:
            gateway = Gateway(process.http, smtp_server)
            headers = {"X-Request-ID": REQUEST_ID}
            await gateway.register(email, headers=headers)
            code = gateway.last_code(email)
            verified = await gateway.verify(email, code, headers=headers)
            signed_in = await gateway.login(email, headers=headers)
            refreshed = await gateway.refresh(signed_in["refreshToken"], headers=headers)
            assert (await gateway.me(refreshed["accessToken"]))["data"]["me"]["email"] == email
            lines = await process.stop()

        entries = [json.loads(line) for line in lines if line.strip()]  # every line: JSON
        graphql = [e for e in entries if e["logger"] == "gateway.request" and e["path"] == "/graphql"]
        assert [(e["operation"], e["outcome"]) for e in graphql] == [
            ("register", "OtpSent"),
            ("verifyOtp", "AuthPayload"),
            ("login", "AuthPayload"),
            ("refreshToken", "AuthPayload"),
            ("me", "User"),
        ]
        assert [e["request_id"] for e in graphql[:4]] == [REQUEST_ID] * 4
        assert all(e["status"] == 200 and e["duration_ms"] > 0 for e in graphql)

        log = "\n".join(lines)
        secrets = {
            "password": PASSWORD,
            **{
                f"{kind} of {step}": payload[kind]
                for kind in ("accessToken", "refreshToken")
                for step, payload in (("verify", verified), ("login", signed_in), ("refresh", refreshed))
            },
        }
        for what, secret in secrets.items():
            assert secret not in log, f"the {what} is in the log"
        assert not re.search(rf"(?<![0-9a-f]){code}(?![0-9a-f])", log), "the code is in the log"


class TestLogFormat:
    @pytest.mark.parametrize(
        ("env", "json_lines"),
        [({}, False), ({"LOG_FORMAT": "json"}, True)],
        ids=["development-text", "development-json"],
    )
    async def test_development_is_text_unless_json_is_asked_for(
        self, smtp_server: SmtpSink, tmp_path: Path, env: dict[str, str], json_lines: bool
    ) -> None:
        settings = {
            "APP_ENV": "development",
            "DATABASE_URL": f"sqlite://{tmp_path / 'gateway.sqlite3'}",
            "DATA_DIR": str(tmp_path / "data"),
            "EMAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_server.port),
            "BCRYPT_COST": "4",
            **env,
        }
        async with served(settings) as process:
            variables = {"input": {"email": "nobody@example.com", "password": PASSWORD}}
            body = {"query": LOGIN, "variables": variables}
            await process.http.post("/graphql", json=body, headers={"X-Request-ID": REQUEST_ID})
            lines = await process.stop()

        [line] = [line for line in lines if REQUEST_ID in line and "gateway.request" in line]
        if json_lines:
            assert json.loads(line)["outcome"] == "InvalidCredentials"
        else:
            pattern = (
                r"INFO gateway\.request: POST /graphql 200 [0-9.]+ ms "
                rf"Login: login -> InvalidCredentials \[request {re.escape(REQUEST_ID)}\]$"
            )
            assert re.search(pattern, line), line
