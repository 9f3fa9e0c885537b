"""What one document may ask for: each attack is refused before anything runs, with a message saying why."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from graphql import get_introspection_query

from persistence.models import UserRow
from settings import Settings
from tests.support.client import LOGIN, ME, PASSWORD, REFRESH_TOKEN, REGISTER, VERIFY_OTP, Gateway, GatewayFactory
from tests.support.databases_used import sqlite_only
from tests.support.processes import ROOT
from tests.support.settings import JWT_SECRET

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SENSITIVE_MUTATIONS = (
    "register, verifyOtp, login, refreshToken, resendOtp, requestPasswordReset, resetPassword, "
    "requestSignInCode, signInWithCode, signInWithLink, changePassword, requestEmailChange, confirmEmailChange, "
    "deleteAccount, completeSignIn, confirmTotpEnrolment, regenerateRecoveryCodes, removeTotp, reauthenticate, "
    "beginPasskeyRegistration, finishPasskeyRegistration, removePasskey, finishPasskeySignIn, finishProviderSignIn, "
    "signInWithIdToken, confirmProviderEmail, linkProvider, unlinkProvider"
)
ONE_SENSITIVE = f"Only one of {SENSITIVE_MUTATIONS} may be sent per request; this document has {{}}."
TOO_MANY_TOKENS = "Syntax Error: Document contains more than 500 tokens. Parsing aborted."
MORE_ERRORS_LEFT_OUT = "More errors were left out: the first 3 are shown."
LOGIN_ANN = f'login(input: {{email: "ann@example.com", password: "{PASSWORD}"}}) {{ __typename }}'
# Everything but the rule under test out of the way, to show that each rule holds on its own.
ONLY_THE_RULE_UNDER_TEST = {
    "graphql_max_tokens": 1_000_000,
    "graphql_max_aliases": 100_000,
    "graphql_max_directives": 100_000,
    "graphql_max_depth": 1_000,
}


def refusal(body: dict[str, Any]) -> list[str]:
    """The messages of a document refused whole: no data, and errors without a path."""
    assert body.get("data") is None, body
    assert all("path" not in error for error in body["errors"]), body
    return [error["message"] for error in body["errors"]]


async def registered_unverified(gateway: Gateway) -> int:
    """Ann, registered but not verified: every login with her password mails her a new code."""
    await gateway.register("ann@example.com")
    return len(gateway.mailbox.messages)


@sqlite_only
class TestOneSensitiveFieldPerRequest:
    async def test_a_hundred_aliased_logins_are_refused_and_none_runs(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(**ONLY_THE_RULE_UNDER_TEST)
        mails = await registered_unverified(gateway)
        query = "mutation { " + " ".join(f"a{i}: {LOGIN_ANN}" for i in range(100)) + " }"
        assert refusal(await gateway.post(query)) == [ONE_SENSITIVE.format(100)]
        assert len(gateway.mailbox.messages) == mails

    async def test_at_the_default_limits_the_same_attack_stops_at_the_parser(self, gateway: Gateway) -> None:
        mails = await registered_unverified(gateway)
        query = "mutation { " + " ".join(f"a{i}: {LOGIN_ANN}" for i in range(100)) + " }"
        assert refusal(await gateway.post(query)) == [TOO_MANY_TOKENS]
        assert len(gateway.mailbox.messages) == mails

    async def test_a_hundred_logins_through_fragments_are_refused_and_none_runs(self, gateway: Gateway) -> None:
        # small enough for every other limit at its default: this rule alone stops it
        mails = await registered_unverified(gateway)
        ten = " ".join(["...Login"] * 10)
        query = f"""mutation {{ {" ".join(["...Ten"] * 10)} }}
            fragment Ten on Mutation {{ {ten} }}
            fragment Login on Mutation {{ {LOGIN_ANN} }}"""
        assert refusal(await gateway.post(query)) == [ONE_SENSITIVE.format(100)]
        assert len(gateway.mailbox.messages) == mails

    async def test_fragments_count_at_every_spread(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(**ONLY_THE_RULE_UNDER_TEST)
        query = """
            mutation { ...Register ...Register ... { ...Register } ... on Mutation { ...Twice } }
            fragment Twice on Mutation { ...Register ...Register }
            fragment Register on Mutation {
              register(input: {email: "eve@example.com", password: "long enough 1"}) { __typename }
            }"""
        assert refusal(await gateway.post(query)) == [ONE_SENSITIVE.format(5)]
        assert gateway.mailbox.messages == []
        assert await UserRow.all().count() == 0

    async def test_inline_fragments_and_plain_repeats_count(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(**ONLY_THE_RULE_UNDER_TEST)
        mails = await registered_unverified(gateway)
        query = f"mutation {{ {LOGIN_ANN} ... {{ {LOGIN_ANN} }} ... on Mutation {{ {LOGIN_ANN} }} }}"
        assert refusal(await gateway.post(query)) == [ONE_SENSITIVE.format(3)]
        assert len(gateway.mailbox.messages) == mails

    async def test_different_credential_mutations_and_operations_count_together(self, gateway: Gateway) -> None:
        mails = await registered_unverified(gateway)
        query = f"""
            mutation A {{ {LOGIN_ANN} }}
            mutation B {{ refreshToken(input: {{refreshToken: "x"}}) {{ __typename }} }}"""
        assert refusal(await gateway.post(query)) == [ONE_SENSITIVE.format(2)]
        assert len(gateway.mailbox.messages) == mails

    async def test_one_credential_mutation_beside_other_fields_runs(self, gateway: Gateway) -> None:
        await registered_unverified(gateway)
        body = await gateway.post(f"mutation {{ __typename {LOGIN_ANN} }}")
        assert body == {"data": {"__typename": "Mutation", "login": {"__typename": "EmailNotVerified"}}}


@sqlite_only
class TestDepth:
    async def test_a_fifty_deep_query_is_refused(self, gateway: Gateway) -> None:
        # introspection is the one cyclic part of the schema: __Type.ofType is a __Type
        query = '{ __type(name: "User") { ' + "ofType { " * 48 + "name" + " }" * 48 + " } }"
        assert refusal(await gateway.post(query)) == ["The query is 50 fields deep; at most 20 are allowed."]

    async def test_fragments_add_their_depth_where_they_are_spread(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(graphql_max_depth=3)
        query = """{ __type(name: "User") { ...Two } }
            fragment Two on __Type { ofType { ...One } }
            fragment One on __Type { ofType { name } }"""
        assert refusal(await gateway.post(query)) == ["The query is 4 fields deep; at most 3 are allowed."]

    async def test_the_deepest_real_operation_is_three_fields_deep(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(graphql_max_depth=3)
        body = await gateway.post(LOGIN, {"input": {"email": "ann@example.com", "password": PASSWORD}})
        assert body["data"]["login"]["__typename"] == "InvalidCredentials"


@sqlite_only
class TestAliases:
    async def test_more_than_fifteen_are_refused(self, gateway: Gateway) -> None:
        query = "{ " + " ".join(f"a{i}: __typename" for i in range(16)) + " }"
        assert refusal(await gateway.post(query)) == ["The document uses 16 aliases; at most 15 are allowed."]

    async def test_fifteen_pass(self, gateway: Gateway) -> None:
        query = "{ " + " ".join(f"a{i}: __typename" for i in range(15)) + " }"
        assert (await gateway.post(query))["data"] == {f"a{i}": "Query" for i in range(15)}

    async def test_a_fragment_chain_that_doubles_at_each_link_is_counted_quickly(self, gateway: Gateway) -> None:
        # Strawberry's own limiters walk such a chain 2**links times: this one would take days.
        links = 40
        query = "{ ...F0 } " + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(links))
        query += f" fragment F{links} on Query {{ a: __typename }}"
        messages = refusal(await gateway.post(query))
        assert f"The document uses {2**links} aliases; at most 15 are allowed." in messages


@sqlite_only
class TestTokens:
    async def test_a_five_thousand_field_query_is_refused_by_the_parser(self, gateway: Gateway) -> None:
        query = "{ me { " + "id " * 5000 + "} }"
        assert refusal(await gateway.post(query)) == [TOO_MANY_TOKENS]


@sqlite_only
class TestDirectives:
    QUERY = "{ " + "__typename @include(if: true) " * 1000 + "}"

    async def test_a_thousand_directives_are_refused(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(**{**ONLY_THE_RULE_UNDER_TEST, "graphql_max_directives": 20})
        assert refusal(await gateway.post(self.QUERY)) == ["The document uses 1000 directives; at most 20 are allowed."]

    async def test_at_the_default_limits_they_stop_at_the_parser(self, gateway: Gateway) -> None:
        assert refusal(await gateway.post(self.QUERY)) == [TOO_MANY_TOKENS]

    async def test_a_few_pass(self, gateway: Gateway) -> None:
        query = "query($yes: Boolean!) { __typename @include(if: $yes) me @skip(if: true) { id } }"
        assert (await gateway.post(query, {"yes": True}))["data"] == {"__typename": "Query"}


@sqlite_only
class TestHowManyErrors:
    """A refused document gets one error, an invalid one a few: an error list is no amplifier."""

    # graphql-cop's "Directive Overloading" probe, which counts the errors it gets back
    UNKNOWN_DIRECTIVES = "query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }"

    async def test_ten_unknown_directives_get_three_errors_and_a_note(self, gateway: Gateway) -> None:
        assert refusal(await gateway.post(self.UNKNOWN_DIRECTIVES)) == [
            "Unknown directive '@aa'.",
            "Unknown directive '@aa'.",
            "Unknown directive '@aa'.",
            MORE_ERRORS_LEFT_OUT,
        ]

    async def test_three_errors_are_all_shown(self, gateway: Gateway) -> None:
        unknown_field = "Cannot query field 'nope' on type 'Query'."
        assert refusal(await gateway.post("{ a: nope b: nope c: nope }")) == [unknown_field] * 3

    async def test_a_document_over_several_limits_gets_one_error_naming_each(
        self, gateway_factory: GatewayFactory
    ) -> None:
        gateway: Gateway = await gateway_factory(graphql_max_depth=3, graphql_max_aliases=1, graphql_max_directives=1)
        query = (
            '{ a: __type(name: "User") { ofType { ofType { name @skip(if: false) @aa } } } '
            "b: nope c: nope d: nope e: nope }"
        )
        assert refusal(await gateway.post(query)) == [
            "The query is 4 fields deep; at most 3 are allowed. "
            "The document uses 5 aliases; at most 1 are allowed. "
            "The document uses 2 directives; at most 1 are allowed."
        ]

    async def test_over_a_limit_and_invalid_too_gets_only_the_refusal(self, gateway: Gateway) -> None:
        query = "{ " + " ".join(f"a{i}: nope @aa" for i in range(16)) + " }"
        assert refusal(await gateway.post(query)) == ["The document uses 16 aliases; at most 15 are allowed."]

    async def test_in_production_too(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(app_env="production")
        assert len(refusal(await gateway.post(self.UNKNOWN_DIRECTIVES))) == 4
        query = "{ " + " ".join(f"a{i}: __typename @aa" for i in range(16)) + " }"
        assert refusal(await gateway.post(query)) == ["The document uses 16 aliases; at most 15 are allowed."]


class TestSettings:
    def test_limits_are_read_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name, value in {
            "GRAPHQL_MAX_DEPTH": "7",
            "GRAPHQL_MAX_ALIASES": "3",
            "GRAPHQL_MAX_TOKENS": "500",
            "GRAPHQL_MAX_DIRECTIVES": "2",
            "MAX_REQUEST_BODY_BYTES": "4096",
        }.items():
            monkeypatch.setenv(name, value)
        settings = Settings(_env_file=None, jwt_secret=JWT_SECRET)
        assert (
            settings.graphql_max_depth,
            settings.graphql_max_aliases,
            settings.graphql_max_tokens,
            settings.graphql_max_directives,
            settings.max_request_body_bytes,
        ) == (7, 3, 500, 2, 4096)


def readme_operations() -> list[tuple[str, bool]]:
    """The query of every ``gql … -d '{"query": …}'`` line of the README and the docs, shell
    splices filled in, and whether the line sends an access token."""
    text = "\n".join(document.read_text(encoding="utf-8") for document in DOCUMENTS)
    lines = re.findall(r"^gql (.*)-d '(\{\"query\".*\})'", text, re.MULTILINE)
    return [
        (json.loads(re.sub(r"'\$\w+'", "0", body))["query"], "Authorization: Bearer" in options)
        for options, body in lines
    ]


@sqlite_only
class TestEveryRealOperationPasses:
    async def test_the_operations_of_the_tests(self, gateway: Gateway) -> None:
        credentials = {"email": "ann@example.com", "password": PASSWORD}
        for query, variables in [
            (REGISTER, {"input": credentials}),
            (VERIFY_OTP, {"input": {"email": "ann@example.com", "code": "000000", "password": "x" * 8}}),
            (LOGIN, {"input": credentials}),
            (REFRESH_TOKEN, {"input": {"refreshToken": "spent"}}),
            (ME, {}),
        ]:
            body = await gateway.post(query, variables)
            assert "errors" not in body, (query, body)

    async def test_the_operations_of_the_readme(self, gateway: Gateway) -> None:
        operations = readme_operations()
        first_fields = {re.findall(r"\{\s*(\w+)", query)[0] for query, _ in operations}
        assert first_fields >= {"register", "verifyOtp", "me", "refreshToken", "login"} | {
            "resendOtp",
            "sessions",
            "revokeSession",
            "logout",
            "logoutAll",
            "requestPasswordReset",
            "resetPassword",
            "changePassword",
            "updateProfile",
            "requestEmailChange",
            "confirmEmailChange",
            "deleteAccount",
        }
        await gateway.signed_up("readme@example.com")
        for query, signed_in in operations:
            # each with a session of its own: the examples include logout and deleteAccount
            token = (await gateway.login("readme@example.com"))["accessToken"] if signed_in else None
            body = await gateway.post(query, token=token)
            assert "errors" not in body, (query, body)

    async def test_a_full_introspection_query_in_development(self, gateway: Gateway) -> None:
        # what GraphiQL sends to draw its docs and completion, with every option on
        query = get_introspection_query(
            descriptions=True,
            specified_by_url=True,
            directive_is_repeatable=True,
            schema_description=True,
            input_value_deprecation=True,
            one_of=True,
        )
        body = await gateway.post(query)
        assert "errors" not in body, body
        assert {"Query", "Mutation", "AuthPayload"} <= {t["name"] for t in body["data"]["__schema"]["types"]}


@sqlite_only
class TestMaskingOfCrashes:
    async def test_a_crash_while_checking_the_limits_is_masked_like_any_other(
        self, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Strawberry reports an exception raised during validation apart from resolver
        # errors; it must still reach the client as "Unexpected error" and nothing more.
        def crash(*_args: object) -> None:
            raise RuntimeError("SELECT * FROM users -- at /srv/gateway/schema/limits.py, line 1")

        monkeypatch.setattr("schema.limits._Walker.selections", crash)
        response = await gateway.http.post("/graphql", json={"query": "{ me { id } }"}, headers={"X-Request-ID": "r-1"})
        assert response.status_code == 200
        assert response.json() == {
            "data": None,
            "errors": [
                {
                    "message": "Unexpected error (request id r-1)",
                    "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "r-1"},
                }
            ],
        }
