"""Query and Mutation, assembled from the resolvers."""

from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.schema.config import StrawberryConfig

from resolvers.login import login
from resolvers.me import me
from resolvers.refresh_token import refresh_token
from resolvers.register import register
from resolvers.verify_otp import verify_otp
from schema.errors import GatewaySchema, MaskUnexpectedErrors

SDL_PATH = Path(__file__).with_name("schema.graphql")


@strawberry.type
class Query:
    me = strawberry.field(resolver=me)


@strawberry.type
class Mutation:
    register = strawberry.mutation(resolver=register)
    verify_otp = strawberry.mutation(resolver=verify_otp)
    login = strawberry.mutation(resolver=login)
    refresh_token = strawberry.mutation(resolver=refresh_token)


def build_schema() -> GatewaySchema:
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        extensions=[MaskUnexpectedErrors],
        config=StrawberryConfig(),
    )


def print_sdl() -> str:
    return str(build_schema()) + "\n"
