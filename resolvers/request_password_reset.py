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
class RequestPasswordResetInput:
    email: str


RequestPasswordResetResult = Annotated[
    OtpSent | InvalidInput | RateLimited, strawberry.union("RequestPasswordResetResult")
]


async def request_password_reset(
    info: Info[Context, None], input_: Annotated[RequestPasswordResetInput, strawberry.argument(name="input")]
) -> RequestPasswordResetResult:
    """Mail a code to set a new password. The same answer whether or not the address has an account."""
    try:
        sent = await info.context.services.password_reset.request(input_.email, client=info.context.client)
    except errors.AuthError as failure:
        return error_result(failure, RequestPasswordResetResult)
    return OtpSent(email=sent.email, expires_at=sent.expires_at)


field = strawberry.mutation(resolver=request_password_reset, metadata=SENSITIVE)
