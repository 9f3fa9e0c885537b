"""APP_ENV=production shows no more of the schema than the operations need."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.client import LOGIN, PASSWORD, Gateway, GatewayFactory
from tests.support.databases_used import sqlite_only

# What production hides and refuses is decided above the database.
pytestmark = sqlite_only


@pytest.fixture
async def production(gateway_factory: GatewayFactory) -> Gateway:
    started: Gateway = await gateway_factory(app_env="production")
    return started


def refusal(body: dict[str, Any]) -> list[str]:
    assert body.get("data") is None, body
    return [error["message"] for error in body["errors"]]


class TestIntrospection:
    @pytest.mark.parametrize(
        ("query", "field"),
        [("{ __schema { types { name } } }", "__schema"), ('{ __type(name: "User") { fields { name } } }', "__type")],
    )
    async def test_is_refused(self, production: Gateway, query: str, field: str) -> None:
        messages = refusal(await production.post(query))
        # graphql-core names every introspection field of the query, the root one first
        assert messages[0] == (
            f"GraphQL introspection has been disabled, but the requested query contained the field '{field}'."
        )
        assert all(message.startswith("GraphQL introspection has been disabled") for message in messages)

    async def test_typename_still_answers_for_clients_branch_on_it(self, production: Gateway) -> None:
        assert await production.post("{ __typename }") == {"data": {"__typename": "Query"}}
        result = await production.mutate(
            "login", LOGIN, {"input": {"email": "nobody@example.com", "password": PASSWORD}}
        )
        assert result["__typename"] == "InvalidCredentials"

    async def test_is_on_in_development(self, gateway: Gateway) -> None:
        body = await gateway.post('{ __type(name: "User") { name } }')
        assert body == {"data": {"__type": {"name": "User"}}}


# Each one a near miss that graphql-core answers with a hint naming the real thing.
NEAR_MISSES: list[tuple[str, dict[str, Any]]] = [
    ("{ mee { id } }", {}),  # field
    ("{ me { emial } }", {}),  # field of a type
    ('mutation { login(inptu: {email: "a", password: "b"}) { __typename } }', {}),  # argument
    ('mutation { login(input: {emial: "a", password: "b"}) { __typename } }', {}),  # input field, inline
    ("mutation($i: LoginInptu!) { login(input: $i) { __typename } }", {}),  # type of a variable
    ("{ me { ... on Usr { id } } }", {}),  # type condition
    ("{ me { ...F } } fragment F on Usr { id }", {}),  # fragment type
    ("mutation { login { ... on AuthPayload { acessToken } } }", {}),  # field within a union member
    ("mutation($i: LoginInput!) { login(input: $i) { __typename } }", {"i": {"emial": "a", "password": "b"}}),
]


class TestSuggestions:
    @pytest.mark.parametrize(("query", "variables"), NEAR_MISSES)
    async def test_no_error_hints_at_a_name_in_production(
        self, production: Gateway, query: str, variables: dict[str, Any]
    ) -> None:
        messages = refusal(await production.post(query, variables))
        assert messages
        assert not [message for message in messages if "Did you mean" in message]

    @pytest.mark.parametrize(("query", "variables"), NEAR_MISSES)
    async def test_development_hints_for_each_of_them(
        self, gateway: Gateway, query: str, variables: dict[str, Any]
    ) -> None:
        # the cases above are ones that would leak: development, hints on, shows they do
        messages = refusal(await gateway.post(query, variables))
        assert [message for message in messages if "Did you mean" in message]

    async def test_the_rest_of_the_message_stays(self, production: Gateway) -> None:
        assert refusal(await production.post("{ mee { id } }")) == ["Cannot query field 'mee' on type 'Query'."]


class TestGet:
    async def test_a_query_over_get_is_refused(self, production: Gateway) -> None:
        response = await production.http.get("/graphql", params={"query": "{ __typename }"})
        assert response.status_code == 405
        assert response.json()["errors"][0]["extensions"] == {"code": "METHOD_NOT_ALLOWED"}
        assert response.headers["allow"] == "POST"

    async def test_graphiql_is_not_served(self, production: Gateway) -> None:
        response = await production.http.get("/graphql", headers={"accept": "text/html"})
        assert response.status_code == 405
        assert "graphiql" not in response.text.lower()

    async def test_development_answers_queries_over_get_but_never_mutations(self, gateway: Gateway) -> None:
        response = await gateway.http.get("/graphql", params={"query": "{ __typename }"})
        assert response.json() == {"data": {"__typename": "Query"}}
        response = await gateway.http.get("/graphql", params={"query": "mutation { __typename }"})
        assert response.status_code == 400


class TestHeaders:
    async def test_strict_transport_security_in_production(self, production: Gateway) -> None:
        response = await production.http.post("/graphql", json={"query": "{ __typename }"})
        assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert response.headers["cache-control"] == "no-store"

    async def test_also_on_a_not_found(self, production: Gateway) -> None:
        response = await production.http.get("/nowhere")
        assert response.status_code == 404
        assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


class TestLimits:
    async def test_hold_in_production_too(self, production: Gateway) -> None:
        query = "{ " + " ".join(f"a{i}: __typename" for i in range(16)) + " }"
        assert refusal(await production.post(query)) == ["The document uses 16 aliases; at most 15 are allowed."]
