from __future__ import annotations

import logging

import pytest
from tortoise import connections

from tests.support.client import Gateway, GatewayFactory
from tests.support.databases_used import sqlite_only


class TestUnexpectedErrors:
    async def test_are_masked_for_the_client_and_logged_in_full(
        self, gateway: Gateway, caplog: pytest.LogCaptureFixture
    ) -> None:
        # break the database under the running app: the next query fails with SQL in its message
        db = connections.get(next(iter(connections.db_config)))
        await db.execute_script("ALTER TABLE otp_challenges RENAME TO otp_challenges_away")
        try:
            response = await gateway.http.post(
                "/graphql",
                json={
                    "query": 'mutation { register(input: {email: "a@example.com", password: "long enough 1"}) '
                    "{ __typename } }"
                },
                headers={"X-Request-ID": "req-123"},
            )
        finally:
            await db.execute_script("ALTER TABLE otp_challenges_away RENAME TO otp_challenges")
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "req-123"
        [error] = response.json()["errors"]
        assert error["message"] == "Unexpected error (request id req-123)"
        assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-123"}
        assert "otp_challenges" not in response.text
        logged = [r for r in caplog.records if r.name == "gateway.graphql"]
        assert logged
        assert "req-123" in logged[0].getMessage()
        assert logged[0].exc_info is not None

    @sqlite_only
    async def test_query_mistakes_keep_their_message(self, gateway: Gateway) -> None:
        body = await gateway.post("{ me { password } }")
        assert "password" in body["errors"][0]["message"]

    @sqlite_only
    async def test_every_response_carries_a_request_id(self, gateway: Gateway) -> None:
        response = await gateway.http.post("/graphql", json={"query": "{ me { id } }"})
        assert len(response.headers["x-request-id"]) == 32


@sqlite_only
class TestGraphiQL:
    async def test_served_in_development(self, gateway: Gateway) -> None:
        response = await gateway.http.get("/graphql", headers={"Accept": "text/html"})
        assert response.status_code == 200
        assert "graphiql" in response.text.lower()

    async def test_off_in_production(self, gateway_factory: GatewayFactory, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.WARNING)
        gateway: Gateway = await gateway_factory(app_env="production")
        response = await gateway.http.get("/graphql", headers={"Accept": "text/html"})
        assert "graphiql" not in response.text.lower()
        assert response.status_code in (400, 404, 405)
