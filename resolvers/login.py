from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from domain.entities import MfaRequired as SecondStep
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.sensitivity import SENSITIVE
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
    if isinstance(signed_in, SecondStep):
        return MfaRequired.from_domain(signed_in)
    return AuthPayload.from_domain(signed_in, info.context.deliver_refresh_token(signed_in))


field = strawberry.mutation(resolver=login, metadata=SENSITIVE)
