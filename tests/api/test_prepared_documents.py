"""A document sent again takes the short way (schema.prepared) and is answered exactly as the first time."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
from tortoise import connections

from tests.support.client import LOGIN, PASSWORD, Gateway, GatewayFactory
from tests.support.databases_used import sqlite_only
from web.request_log import JsonFormatter

if TYPE_CHECKING:
    from schema.masking import GatewaySchema

ME = "query Me { me { id email } }"
TWO_OPERATIONS = "query Me { me { id } } query Typename { __typename }"


def schema_of(gateway: Gateway) -> GatewaySchema:
    """The schema of the in-process app's GraphQL route."""
    route = next(r for r in gateway.app.routes if getattr(r, "path", None) == "/graphql")
    schema: GatewaySchema = route.endpoint.schema
    return schema


def prepared_count(gateway: Gateway) -> int:
    prepared = schema_of(gateway).prepared
    assert prepared is not None
    return len(prepared)


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == "gateway.request"]


@sqlite_only
async def test_a_document_sent_again_is_answered_as_the_first_time(gateway: Gateway) -> None:
    tokens = await gateway.signed_up("again@example.com")
    before = prepared_count(gateway)
    first = await gateway.post(ME, token=tokens["accessToken"])
    assert prepared_count(gateway) == before + 1
    second = await gateway.post(ME, token=tokens["accessToken"])
    assert second == first
    assert second["data"]["me"]["email"] == "again@example.com"
    assert prepared_count(gateway) == before + 1  # the same entry, not another


@sqlite_only
async def test_each_request_brings_its_own_variables(gateway: Gateway) -> None:
    await gateway.signed_up("variables@example.com")
    right = {"input": {"email": "variables@example.com", "password": PASSWORD}}
    wrong = {"input": {"email": "variables@example.com", "password": PASSWORD + "x"}}
    answers = [(await gateway.post(LOGIN, v))["data"]["login"]["__typename"] for v in (wrong, right, wrong, right)]
    assert answers == ["InvalidCredentials", "AuthPayload", "InvalidCredentials", "AuthPayload"]


@sqlite_only
async def test_the_operation_asked_for_is_the_one_that_runs(gateway: Gateway) -> None:
    for _ in range(2):
        typename = await gateway.http.post("/graphql", json={"query": TWO_OPERATIONS, "operationName": "Typename"})
        me = await gateway.http.post("/graphql", json={"query": TWO_OPERATIONS, "operationName": "Me"})
        assert typename.json() == {"data": {"__typename": "Query"}}
        assert me.json() == {"data": {"me": None}}


@sqlite_only
async def test_a_refused_document_is_refused_again_and_never_kept(gateway: Gateway) -> None:
    before = prepared_count(gateway)
    answers = [await gateway.post("{ me { password } }") for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    assert "password" in answers[0]["errors"][0]["message"]
    assert prepared_count(gateway) == before


@sqlite_only
async def test_a_mutation_prepared_by_a_post_is_still_refused_over_get(gateway: Gateway) -> None:
    query = "mutation { logout { __typename } }"
    await gateway.post(query)  # prepared now
    await gateway.post(query)
    response = await gateway.http.get("/graphql", params={"query": query})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["message"] == "mutations are not allowed when using GET"


@sqlite_only
async def test_the_log_line_names_the_operation_and_outcome_every_time(
    gateway_factory: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await gateway_factory(app_env="production")
    caplog.set_level(logging.INFO, logger="gateway.request")
    variables = {"input": {"email": "nobody@example.com", "password": PASSWORD}}
    caplog.clear()
    for _ in range(3):
        await gateway.post(LOGIN, variables)
    lines = request_lines(caplog)
    assert [(line["operation_name"], line["operation"], line["outcome"]) for line in lines] == [
        ("Login", "login", "InvalidCredentials")
    ] * 3


async def test_an_unexpected_error_the_second_time_is_masked_and_logged(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = await gateway.signed_up("outage@example.com")
    await gateway.post(ME, token=tokens["accessToken"])  # prepared now
    db = connections.get(next(iter(connections.db_config)))
    await db.execute_script("ALTER TABLE sessions RENAME TO sessions_away")
    try:
        response = await gateway.http.post(
            "/graphql",
            json={"query": ME},
            headers={"Authorization": f"Bearer {tokens['accessToken']}", "X-Request-ID": "req-again"},
        )
    finally:
        await db.execute_script("ALTER TABLE sessions_away RENAME TO sessions")
    [error] = response.json()["errors"]
    assert error["message"] == "Unexpected error (request id req-again)"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-again"}
    assert "sessions" not in response.text
    logged = [r for r in caplog.records if r.name == "gateway.graphql"]
    assert logged
    assert "req-again" in logged[-1].getMessage()
    assert logged[-1].exc_info is not None


@sqlite_only
async def test_a_mutation_beside_a_prepared_query_is_still_refused_over_get(gateway: Gateway) -> None:
    document = "query Q { __typename } mutation M { logout { __typename } }"
    for _ in range(2):  # the query is prepared now
        response = await gateway.http.post("/graphql", json={"query": document, "operationName": "Q"})
        assert response.json() == {"data": {"__typename": "Query"}}
    response = await gateway.http.get("/graphql", params={"query": document, "operationName": "M"})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["message"] == "mutations are not allowed when using GET"


@sqlite_only
async def test_each_app_keeps_its_own_documents(gateway_factory: GatewayFactory) -> None:
    """The schema's types are converted once per process; the documents kept are each app's."""
    first = await gateway_factory()
    await first.post(ME)
    assert prepared_count(first) == 1
    second = await gateway_factory()
    assert prepared_count(second) == 0
    await second.post(ME)
    assert prepared_count(second) == 1
