from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.sensitivity import SENSITIVE
from resolvers.types import InvalidInput, OtpSent, RateLimited


@strawberry.input
class RequestSignInCodeInput:
    email: str


RequestSignInCodeResult = Annotated[OtpSent | InvalidInput | RateLimited, strawberry.union("RequestSignInCodeResult")]


async def request_sign_in_code(
    info: Info[Context, None], input_: Annotated[RequestSignInCodeInput, strawberry.argument(name="input")]
) -> RequestSignInCodeResult:
    """Mail a code that signs in without the password. The same answer whether or not the
    address has an account (or may sign in with a code)."""
    try:
        sent = await info.context.services.code_sign_in.request(input_.email, client=info.context.client)
    except errors.AuthError as failure:
        return error_result(failure, RequestSignInCodeResult)
    return OtpSent(email=sent.email, expires_at=sent.expires_at)


field = strawberry.mutation(resolver=request_sign_in_code, metadata=SENSITIVE)
