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
class ResendOtpInput:
    email: str


ResendOtpResult = Annotated[OtpSent | InvalidInput | RateLimited, strawberry.union("ResendOtpResult")]


async def resend_otp(
    info: Info[Context, None], input_: Annotated[ResendOtpInput, strawberry.argument(name="input")]
) -> ResendOtpResult:
    """Mail a new sign-up code. The same answer for any address; only pending accounts get a code."""
    try:
        sent = await info.context.services.registration.resend_code(input_.email, client=info.context.client)
    except errors.AuthError as failure:
        return error_result(failure, ResendOtpResult)
    return OtpSent(email=sent.email, expires_at=sent.expires_at)


field = strawberry.mutation(resolver=resend_otp, metadata=SENSITIVE)
