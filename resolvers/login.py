from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.sensitivity import SENSITIVE
from resolvers.sign_in_answers import signed_in_answer
from resolvers.types import (
    AuthPayload,
    DeliveryFailed,
    EmailNotVerified,
    InvalidCredentials,
    InvalidInput,
    MfaRequired,
    RateLimited,
)


@strawberry.input
class LoginInput:
    email: str
    password: str


LoginResult = Annotated[
    AuthPayload | MfaRequired | InvalidCredentials | EmailNotVerified | InvalidInput | RateLimited | DeliveryFailed,
    strawberry.union("LoginResult"),
]


async def login(
    info: Info[Context, None], input_: Annotated[LoginInput, strawberry.argument(name="input")]
) -> LoginResult:
    """Sign in with e-mail and password; an account with a second factor answers MfaRequired."""
    try:
        signed_in = await info.context.services.login.login(
            email=input_.email, password=input_.password, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, LoginResult)
    return signed_in_answer(info.context, signed_in)


field = strawberry.mutation(resolver=login, metadata=SENSITIVE)
