"""``finishProviderSignIn``: the one-time code the callback put in the return URL, for a session."""

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
    EmailConfirmationRequired,
    InvalidProviderCode,
    LinkRequired,
    MfaRequired,
    ProviderEmailNotVerified,
    RateLimited,
)


@strawberry.input
class FinishProviderSignInInput:
    code: str = strawberry.field(description="The `code` the gateway's callback added to the return URL.")


FinishProviderSignInResult = Annotated[
    AuthPayload
    | MfaRequired
    | LinkRequired
    | EmailConfirmationRequired
    | ProviderEmailNotVerified
    | InvalidProviderCode
    | RateLimited,
    strawberry.union("FinishProviderSignInResult"),
]


async def finish_provider_sign_in(
    info: Info[Context, None], input_: Annotated[FinishProviderSignInInput, strawberry.argument(name="input")]
) -> FinishProviderSignInResult:
    """Sign in with the provider's identity; an account with a second factor answers MfaRequired."""
    try:
        signed_in = await info.context.services.provider_sign_in.finish(input_.code, client=info.context.client)
    except errors.AuthError as failure:
        return error_result(failure, FinishProviderSignInResult)
    return signed_in_answer(info.context, signed_in)


field = strawberry.mutation(resolver=finish_provider_sign_in, metadata=SENSITIVE)
