from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.sensitivity import SENSITIVE, password_again
from resolvers.types import DeliveryFailed, InvalidInput, OtpSent, RateLimited, ReauthenticationRequired, WrongPassword


@strawberry.input
class RequestEmailChangeInput:
    new_email: str
    password: str | None = password_again()


RequestEmailChangeResult = Annotated[
    OtpSent | WrongPassword | ReauthenticationRequired | InvalidInput | RateLimited | DeliveryFailed,
    strawberry.union("RequestEmailChangeResult"),
]


async def request_email_change(
    info: Info[Context, None], input_: Annotated[RequestEmailChangeInput, strawberry.argument(name="input")]
) -> RequestEmailChangeResult:
    """Mail a code to a new address; the account moves there when `confirmEmailChange` gets the code."""
    principal = await info.context.signed_in()
    try:
        sent = await info.context.services.email_change.request(
            principal, input_.new_email, input_.password, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, RequestEmailChangeResult)
    return OtpSent(email=sent.email, expires_at=sent.expires_at)


field = strawberry.mutation(resolver=request_email_change, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=SENSITIVE)
