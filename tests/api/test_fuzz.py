"""Thousands of generated requests through the real app: none crashes it, each gets a clean GraphQL answer.

Documents are built from the schema's own names and from random ones, with random
arguments, aliases, fragments and directives; the real operations are mutated token
by token and sent with right and wrong variables; bodies are random JSON and bytes.
Every answer must be a 2xx or 4xx with GraphQL-shaped JSON, and its only errors may
be request errors (syntax, validation, limits, bad variables, refused requests) or
UNAUTHENTICATED. SQLite only: the database is not what is under test.
"""

from __future__ import annotations

import json
import os
import re
import string
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLNamedType,
    GraphQLObjectType,
    get_named_type,
    is_abstract_type,
    is_composite_type,
    is_input_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schema.root import build_schema
from tests.support.client import LOGIN, ME, REFRESH_TOKEN, REGISTER, VERIFY_OTP, Gateway

if TYPE_CHECKING:
    from collections.abc import Sequence

settings.register_profile(
    "fuzz",
    deadline=timedelta(seconds=2),  # generous: one slow document is a finding, not noise
    database=None,  # nothing written into the work tree
    # the running gateway is shared by the examples of a test on purpose
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile("fuzz-ci", parent=settings.get_profile("fuzz"), derandomize=True)
FUZZ = settings.get_profile("fuzz-ci" if os.environ.get("CI", "").lower() == "true" else "fuzz")

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

HTTP_ERROR_CODES = {"BAD_REQUEST", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE"}

_SCHEMA = build_schema()._schema
TYPE_NAMES = sorted(_SCHEMA.type_map)
INPUT_TYPE_NAMES = [*sorted(name for name, type_ in _SCHEMA.type_map.items() if is_input_type(type_)), "User"]
FIELD_NAMES = sorted(
    {
        name
        for type_ in _SCHEMA.type_map.values()
        if isinstance(type_, GraphQLObjectType | GraphQLInputObjectType)
        for name in type_.fields
    }
    | {"__typename", "__schema", "__type", "input"}
)
REAL_OPERATIONS = [REGISTER, VERIFY_OTP, LOGIN, REFRESH_TOKEN, ME]

# --- GraphQL documents --------------------------------------------------------------
# Documents come from a small grammar that reads its choices off random bytes: many
# times quicker to generate than nested strategies, and Hypothesis still shrinks a
# failure (fewer, smaller bytes make shorter, plainer documents).

DIRECTIVE_NAMES = ["include", "skip", "include", "skip", "include", "skip", "deprecated", "oneOf", "defer"]
VARIABLES = ["$input", "$a", "$yes"]
LETTERS = string.ascii_letters + "_"
TEXT = string.printable + 'ü€"\\\u2028\x00\U0001f600'


class _Grammar:
    """Mostly the schema's own fields, arguments and types, now and then anything at all.

    A zero byte always takes the plain choice, so as Hypothesis shrinks a failing
    input towards zeros the document shrinks towards a small valid one.
    """

    def __init__(self, choices: bytes) -> None:
        self.choices = iter(choices)

    def pick(self, count: int) -> int:
        return next(self.choices, 0) % count

    def rarely(self, one_in: int = 8) -> bool:
        return self.pick(one_in) == one_in - 1

    def one_of(self, options: Sequence[str]) -> str:
        return options[self.pick(len(options))]

    def word(self) -> str:
        return "".join(self.one_of(LETTERS) for _ in range(1 + self.pick(6)))

    def text(self) -> str:
        return json.dumps("".join(self.one_of(TEXT) for _ in range(self.pick(16))))

    def value(self, type_: GraphQLNamedType | None = None, depth: int = 2) -> str:
        if not self.rarely(6):
            if isinstance(type_, GraphQLInputObjectType):
                fields = [f"{name}: {self.value(get_named_type(f.type), depth)}" for name, f in type_.fields.items()]
                return "{" + ", ".join(field for field in fields if not self.rarely(10)) + "}"
            if type_ is not None and type_.name in {"String", "ID"}:
                return self.text()
        kind = self.pick(9) if depth else self.pick(7)
        if kind == 0:
            return self.text()
        if kind == 1:
            return str((self.pick(256) - 128) * 10 ** self.pick(40))
        if kind == 2:
            return f"{self.pick(256) - 128}.{self.pick(256)}e{self.pick(80) - 40}"
        if kind == 3:
            return self.one_of(["true", "false", "null", "ENUM_VALUE", '""', '"""block"""'])
        if kind == 4:
            return self.one_of(VARIABLES)
        if kind in (5, 6):
            return self.word()
        if kind == 7:
            return "[" + ", ".join(self.value(None, depth - 1) for _ in range(self.pick(3))) + "]"
        strangers = (f"{self.one_of(FIELD_NAMES)}: {self.value(None, depth - 1)}" for _ in range(self.pick(3)))
        return "{" + ", ".join(strangers) + "}"

    def arguments(self, field: object) -> str:
        """Those of a field or directive, now and then leaving one out or adding a stranger."""
        known: dict[str, GraphQLArgument] = getattr(field, "args", None) or {}
        chosen: list[tuple[str, GraphQLNamedType | None]] = [
            (name, get_named_type(a.type)) for name, a in known.items() if not self.rarely(12)
        ]
        chosen += [(self.one_of(FIELD_NAMES), None) for _ in range(self.pick(40) // 39)]
        return "(" + ", ".join(f"{name}: {self.value(type_)}" for name, type_ in chosen) + ")" if chosen else ""

    def directives(self) -> str:
        found = []
        for _ in range(self.pick(40) // 36):
            directive = _SCHEMA.get_directive(self.one_of(DIRECTIVE_NAMES))
            found.append(f" @{directive.name}{self.arguments(directive)}" if directive else f" @{self.word()}")
        return "".join(found)

    def selection_set(self, parent: GraphQLNamedType | None, fragments: int, depth: int = 3) -> str:
        fields: dict[str, GraphQLField] = getattr(parent, "fields", None) or {}
        members = [t.name for t in _SCHEMA.get_possible_types(parent)] if is_abstract_type(parent) else []
        selections = [f"...F{index}{self.directives()}" for index in range(fragments) if not self.rarely(6)]
        for _ in range(1 + self.pick(3)):
            kind = self.pick(12)
            if (kind == 10 or (members and kind < 8)) and depth:
                condition = self.one_of(members) if members else self.inline_condition(parent)
                type_ = _SCHEMA.get_type(condition) if condition else parent
                on = f" on {condition}" if condition else ""
                selections.append(f"...{on}{self.directives()} {self.selection_set(type_, 0, depth - 1)}")
            elif kind == 11 and fragments:
                selections.append(f"...F{self.pick(fragments)}{self.directives()}")
            else:
                known = (fields or members) and not self.rarely(25)
                choices = list(fields) or ["__typename"] if known else ["__typename", *FIELD_NAMES, self.word()]
                name = self.one_of(choices)
                field = fields.get(name)
                type_ = get_named_type(field.type) if field else None
                wants_selection = is_composite_type(type_) if field else name != "__typename" and self.pick(2)
                below = f" {self.selection_set(type_, 0, depth - 1)}" if depth and wants_selection else ""
                alias = f"{self.word()}: " if self.rarely(10) else ""
                selections.append(f"{alias}{name}{self.arguments(field)}{self.directives()}{below}")
        return "{ " + " ".join(selections) + " }"

    def inline_condition(self, parent: GraphQLNamedType | None) -> str | None:
        if self.rarely(4):
            return self.one_of(TYPE_NAMES)
        return parent.name if parent and self.pick(2) else None

    def document(self) -> str:
        fragments = self.pick(8) // 5
        definitions = []
        for _ in range(1 + self.pick(8) // 7):
            keyword = self.one_of(["", "mutation", "query", "mutation", "query"] * 2 + ["subscription"])
            root = _SCHEMA.mutation_type if keyword == "mutation" else _SCHEMA.query_type
            head = ""
            if keyword:
                name = self.word() if self.pick(2) else ""
                variables = ", ".join(
                    f"{self.one_of(VARIABLES)}: {self.one_of(INPUT_TYPE_NAMES)}{'!' if self.pick(2) else ''}"
                    for _ in range(self.pick(8) // 6)
                )
                head = f"{keyword} {name}{f'({variables})' if variables else ''}{self.directives()} "
            definitions.append(head + self.selection_set(root, fragments))
        for index in range(fragments):
            condition = self.one_of(TYPE_NAMES) if self.rarely(3) else root.name if root else "Query"
            selections = self.selection_set(_SCHEMA.get_type(condition), 0, 2)
            definitions.append(f"fragment F{index} on {condition}{self.directives()} {selections}")
        if self.pick(2):
            definitions.reverse()
        return " ".join(definitions)


documents = st.binary(min_size=1, max_size=400).map(lambda choices: _Grammar(choices).document())
identifiers = st.text(alphabet=LETTERS, min_size=1, max_size=8)
names = st.sampled_from(FIELD_NAMES) | identifiers


# --- the real operations, mutated ---------------------------------------------------

TOKEN = re.compile(r"\.\.\.|[_A-Za-z][_0-9A-Za-z]*|\$|[^\s\w]|\d+")
garbage = st.text(alphabet=string.printable + "ü€\u2028\x00", min_size=1, max_size=3)


@st.composite
def mutated_operations(draw: st.DrawFn) -> str:
    tokens = TOKEN.findall(draw(st.sampled_from(REAL_OPERATIONS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(tokens) - 1))
        edit = draw(st.sampled_from(["drop", "repeat", "rename", "garbage", "alias", "directive"]))
        if edit == "drop":
            del tokens[at]
        elif edit == "repeat":
            tokens.insert(at, tokens[at])
        elif edit == "rename":
            tokens[at] = draw(names)
        elif edit == "garbage":
            tokens.insert(at, draw(garbage))
        elif edit == "alias":
            tokens.insert(at, draw(identifiers) + ":")
        else:
            tokens.insert(at + 1, "@" + draw(st.sampled_from(["include", "skip"])) + "(if: true)")
        if not tokens:
            tokens = ["{"]
    return " ".join(tokens)


# --- JSON -------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=6,
)
credentials = st.fixed_dictionaries(
    {},
    optional={
        "email": st.emails() | json_values,
        "password": st.text(min_size=0, max_size=80) | json_values,
        "code": st.from_regex(r"\d{6}", fullmatch=True) | json_values,
        "refreshToken": st.text(max_size=60) | json_values,
        "firstName": st.text(max_size=10) | json_values,
        "emial": json_values,  # a near miss: no hint may name "email" in production
    },
)
variables = st.one_of(
    st.fixed_dictionaries({"input": credentials | json_values}),
    st.dictionaries(st.sampled_from(["input", "a", "b", "yes"]) | st.text(max_size=5), json_values, max_size=3),
)
tokens = st.none() | st.text(alphabet=string.ascii_letters + string.digits + "._-", max_size=40)


# --- what every answer must be -----------------------------------------------------


def check(response: httpx.Response) -> None:
    """A 2xx or 4xx, GraphQL-shaped JSON, and no error but request errors or UNAUTHENTICATED."""
    assert response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    assert isinstance(body, dict)
    assert set(body) <= {"data", "errors", "extensions"}
    assert "data" in body or "errors" in body
    errors = body.get("errors")
    if errors is not None:
        assert isinstance(errors, list)
        assert errors
    for error in errors or ():
        assert isinstance(error["message"], str)
        assert error["message"]
        # not the masked answer to a crash, and no trace of one (checked by structure: a
        # message may echo an input value, and the fuzzer tries this module's strings)
        assert not error["message"].startswith("Unexpected error (request id"), error
        extensions = error.get("extensions") or {}
        assert not {"exception", "stacktrace", "requestId"} & set(extensions), error
        code = extensions.get("code")
        assert code != "INTERNAL_SERVER_ERROR", error
        if response.status_code != 200:
            assert code in HTTP_ERROR_CODES, error
        elif "path" in error:  # a field error: the only one the API raises is "not signed in"
            assert code == "UNAUTHENTICATED", error
        else:  # a request error (syntax, validation, limits, variables): nothing ran
            assert code is None, error
            assert body.get("data") is None, body
    if response.status_code != 200:
        assert "data" not in body


async def post(gateway: Gateway, payload: object, token: str | None = None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    # json.dumps, unlike httpx, writes NaN and Infinity, which Python's JSON parser reads back
    return await gateway.http.post("/graphql", content=json.dumps(payload), headers=headers)


@sqlite_only
class TestFuzz:
    @settings(FUZZ, max_examples=1200)
    @given(document=documents, variables=variables, token=tokens)
    async def test_generated_documents(
        self, gateway: Gateway, document: str, variables: dict[str, Any], token: str | None
    ) -> None:
        check(await post(gateway, {"query": document, "variables": variables}, token))

    @settings(FUZZ, max_examples=800)
    @given(document=mutated_operations(), variables=variables, name=st.none() | identifiers)
    async def test_mutated_real_operations(
        self, gateway: Gateway, document: str, variables: dict[str, Any], name: str | None
    ) -> None:
        check(await post(gateway, {"query": document, "variables": variables, "operationName": name}))

    @settings(FUZZ, max_examples=600)
    @given(operation=st.sampled_from(REAL_OPERATIONS), variables=variables, token=tokens)
    async def test_real_operations_with_any_variables(
        self, gateway: Gateway, operation: str, variables: dict[str, Any], token: str | None
    ) -> None:
        check(await post(gateway, {"query": operation, "variables": variables}, token))

    @settings(FUZZ, max_examples=600)
    @given(
        body=st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "query": json_values | st.sampled_from(REAL_OPERATIONS) | documents,
                    "variables": json_values,
                    "operationName": json_values,
                    "extensions": json_values,
                },
            ),
        )
    )
    async def test_any_json_body(self, gateway: Gateway, body: object) -> None:
        check(await post(gateway, body))

    @settings(FUZZ, max_examples=300)
    @given(body=st.binary(max_size=200), content_type=st.sampled_from(["application/json", "text/plain", ""]))
    async def test_any_bytes(self, gateway: Gateway, body: bytes, content_type: str) -> None:
        response = await gateway.http.post("/graphql", content=body, headers={"content-type": content_type})
        check(response)
