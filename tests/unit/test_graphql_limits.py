"""The document limits rule on its own: how it counts, and that it stays linear."""

from __future__ import annotations

import time

import pytest
import strawberry
from graphql import GraphQLSchema, parse, validate

from resolvers.sensitivity import NOT_SENSITIVE, SENSITIVE
from schema.limits import GraphQLLimits, document_limits_rule, undeclared_mutations
from schema.root import build_schema

LIMITS = GraphQLLimits(max_depth=3, max_aliases=2, max_tokens=1000, max_directives=2)


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema()._schema


def refusals(schema: GraphQLSchema, query: str, limits: GraphQLLimits = LIMITS) -> list[str]:
    return [error.message for error in validate(schema, parse(query), [document_limits_rule(limits)])]


class TestSensitivity:
    def test_every_mutation_says_whether_it_is_sensitive(self, schema: GraphQLSchema) -> None:
        # A new mutation must be declared metadata=SENSITIVE or NOT_SENSITIVE in its resolver module.
        assert undeclared_mutations(schema) == []

    def test_a_mutation_that_says_neither_is_found(self) -> None:
        def done() -> bool:
            return True

        @strawberry.type
        class Query:
            ping: bool = True

        @strawberry.type
        class Mutation:
            sign_in = strawberry.mutation(resolver=done, metadata=SENSITIVE)
            note = strawberry.mutation(resolver=done, metadata=NOT_SENSITIVE)
            change_password = strawberry.mutation(resolver=done)

        assert undeclared_mutations(strawberry.Schema(query=Query, mutation=Mutation)._schema) == ["changePassword"]


class TestCounting:
    def test_depth_counts_fields_on_the_longest_path(self, schema: GraphQLSchema) -> None:
        assert refusals(schema, '{ __type(name: "User") { ofType { name } } }') == []
        assert refusals(schema, '{ __type(name: "User") { ofType { ofType { name } } } }') == [
            "The query is 4 fields deep; at most 3 are allowed."
        ]

    def test_aliases_count_at_every_spread_of_their_fragment(self, schema: GraphQLSchema) -> None:
        query = "{ ...A ...A ... on Query { ...A } } fragment A on Query { a: __typename }"
        assert refusals(schema, query) == ["The document uses 3 aliases; at most 2 are allowed."]

    def test_directives_count_wherever_they_stand(self, schema: GraphQLSchema) -> None:
        query = """query($v: Boolean! @deprecated) @skip(if: false) {
            ... @include(if: true) { ...F @include(if: true) } }
            fragment F on Query { __typename @skip(if: false) }"""
        assert refusals(schema, query) == ["The document uses 5 directives; at most 2 are allowed."]

    def test_operations_of_one_document_add_up(self, schema: GraphQLSchema) -> None:
        query = "query A { a: __typename } query B { b: __typename c: __typename }"
        assert refusals(schema, query) == ["The document uses 3 aliases; at most 2 are allowed."]

    def test_sensitive_fields_count_only_on_the_mutation_type(self, schema: GraphQLSchema) -> None:
        # a field of another type that happens to share a name is nothing to count
        assert refusals(schema, "{ login: __typename register: __typename }") == []

    def test_a_fragment_cycle_is_left_to_graphql_core(self, schema: GraphQLSchema) -> None:
        assert refusals(schema, "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }") == []


class TestCost:
    def test_a_fragment_chain_doubling_at_every_link_is_counted_in_linear_time(self, schema: GraphQLSchema) -> None:
        links = 300
        query = "{ ...F0 } " + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(links))
        query += f" fragment F{links} on Query {{ a: __typename }}"
        started = time.perf_counter()
        messages = refusals(schema, query)
        # deliberately generous: the walk visits each fragment once; walking every spread would take 2**300 steps
        assert time.perf_counter() - started < 5
        assert f"The document uses {2**links} aliases; at most 2 are allowed." in messages


class TestCachedValidation:
    """The schema caches each document's validation; the limits must still hold for every request."""

    async def test_a_refused_document_is_refused_again_when_sent_again(self) -> None:
        cached = build_schema(LIMITS)
        query = "{ a: __typename b: __typename c: __typename }"
        for _ in range(3):
            result = await cached.execute(query)
            assert result.data is None
            assert [error.message for error in result.errors or []] == [
                "The document uses 3 aliases; at most 2 are allowed."
            ]

    async def test_each_distinct_document_is_checked_by_the_limits(self) -> None:
        cached = build_schema(LIMITS)
        assert (await cached.execute("{ a: __typename b: __typename }")).errors is None
        # one alias more: another document, so the rule runs again and refuses it
        result = await cached.execute("{ a: __typename b: __typename c: __typename }")
        assert [error.message for error in result.errors or []] == [
            "The document uses 3 aliases; at most 2 are allowed."
        ]
