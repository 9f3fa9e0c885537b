"""The log of a real gateway process: JSON lines in production with no password, code or
token in them; text in development unless JSON is asked for."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.client import LOGIN, PASSWORD, served_gateway
from tests.support.mail import SmtpSink
from tests.support.settings import production_env

REQUEST_ID = "trace-4b1d.7:e2e"


class TestProductionProcess:
    async def test_every_line_is_json_and_none_holds_a_secret(self, smtp_server: SmtpSink, tmp_path: Path) -> None:
        email = "logged@example.com"
        env = production_env(f"sqlite://{tmp_path / 'gateway.sqlite3'}", smtp_server.port, tmp_path / "data")
        async with served_gateway(env, smtp_server) as gateway:
            headers = {"X-Request-ID": REQUEST_ID}
            await gateway.register(email, headers=headers)
            code = await gateway.last_code(email)
            verified = await gateway.verify(email, code, headers=headers)
            signed_in = await gateway.login(email, headers=headers)
            refreshed = await gateway.refresh(signed_in["refreshToken"], headers=headers)
            assert (await gateway.me(refreshed["accessToken"]))["data"]["me"]["email"] == email
            lines = await gateway.stop_process()

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
        async with served_gateway(settings, smtp_server) as gateway:
            variables = {"input": {"email": "nobody@example.com", "password": PASSWORD}}
            body = {"query": LOGIN, "variables": variables}
            await gateway.http.post("/graphql", json=body, headers={"X-Request-ID": REQUEST_ID})
            lines = await gateway.stop_process()

        [line] = [line for line in lines if REQUEST_ID in line and "gateway.request" in line]
        if json_lines:
            assert json.loads(line)["outcome"] == "InvalidCredentials"
        else:
            pattern = (
                r"INFO gateway\.request: POST /graphql 200 [0-9.]+ ms "
                rf"Login: login -> InvalidCredentials \[request {re.escape(REQUEST_ID)}\]$"
            )
            assert re.search(pattern, line), line
