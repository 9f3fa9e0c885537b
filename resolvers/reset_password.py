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
    InvalidInput,
    InvalidOtp,
    MfaRequired,
    OtpExpired,
    RateLimited,
    TooManyAttempts,
)


@strawberry.input
class ResetPasswordInput:
    email: str
    code: str
    new_password: str


ResetPasswordResult = Annotated[
    AuthPayload | MfaRequired | InvalidOtp | OtpExpired | TooManyAttempts | InvalidInput | RateLimited,
    strawberry.union("ResetPasswordResult"),
]


async def reset_password(
    info: Info[Context, None], input_: Annotated[ResetPasswordInput, strawberry.argument(name="input")]
) -> ResetPasswordResult:
    """Set a new password with the mailed code: every session ends, and a new one starts (after
    the second step, for an account with a second factor)."""
    try:
        signed_in = await info.context.services.password_reset.reset(
            input_.email, input_.code, input_.new_password, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, ResetPasswordResult)
    return signed_in_answer(info.context, signed_in)


field = strawberry.mutation(resolver=reset_password, metadata=SENSITIVE)
