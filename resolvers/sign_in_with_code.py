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
class SignInWithCodeInput:
    email: str
    code: str


SignInWithCodeResult = Annotated[
    AuthPayload | MfaRequired | InvalidOtp | OtpExpired | TooManyAttempts | InvalidInput | RateLimited,
    strawberry.union("SignInWithCodeResult"),
]


async def sign_in_with_code(
    info: Info[Context, None], input_: Annotated[SignInWithCodeInput, strawberry.argument(name="input")]
) -> SignInWithCodeResult:
    """Sign in with the code from requestSignInCode; an account with a second factor answers MfaRequired."""
    try:
        signed_in = await info.context.services.code_sign_in.sign_in(
            input_.email, input_.code, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, SignInWithCodeResult)
    return signed_in_answer(info.context, signed_in)


field = strawberry.mutation(resolver=sign_in_with_code, metadata=SENSITIVE)
