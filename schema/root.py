"""Query and Mutation, assembled from the resolvers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import strawberry
from strawberry.extensions import DisableIntrospection
from strawberry.schema.config import StrawberryConfig

from resolvers.login import login
from resolvers.me import me
from resolvers.refresh_token import refresh_token
from resolvers.register import register
from resolvers.verify_otp import verify_otp
from schema.errors import GatewaySchema
from schema.limits import SENSITIVE, undeclared_mutations

if TYPE_CHECKING:
    from collections.abc import Callable

    from strawberry.extensions import SchemaExtension

    from schema.limits import GraphQLLimits

SDL_PATH = Path(__file__).with_name("schema.graphql")


@strawberry.type
class Query:
    me = strawberry.field(resolver=me)


# Every mutation says whether it is SENSITIVE (it takes or mints a credential, so a
# request may carry only one of them: one request is one guess) or NOT_SENSITIVE
# (schema.limits); build_schema refuses a mutation that says neither.
@strawberry.type
class Mutation:
    register = strawberry.mutation(resolver=register, metadata=SENSITIVE)
    verify_otp = strawberry.mutation(resolver=verify_otp, metadata=SENSITIVE)
    login = strawberry.mutation(resolver=login, metadata=SENSITIVE)
    refresh_token = strawberry.mutation(resolver=refresh_token, metadata=SENSITIVE)


def build_schema(
    limits: GraphQLLimits | None = None, *, introspection: bool = True, suggestions: bool = True
) -> GatewaySchema:
    """The schema; ``limits`` bound every document, production turns introspection and suggestions off."""
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = []
    if limits is not None:
        extensions.extend(limits.extensions())
    if not introspection:
        extensions.append(DisableIntrospection)
    schema = GatewaySchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(),
        hide_suggestions=not suggestions,
    )
    if undeclared := undeclared_mutations(schema._schema):
        raise TypeError(f"Mutation fields {', '.join(undeclared)} must be declared metadata=SENSITIVE or NOT_SENSITIVE")
    return schema


def print_sdl() -> str:
    return str(build_schema()) + "\n"
