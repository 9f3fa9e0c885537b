from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.sensitivity import SENSITIVE
from resolvers.types import InvalidInput, InvalidOtp, OtpExpired, RateLimited, TooManyAttempts, User


@strawberry.input
class ConfirmEmailChangeInput:
    code: str


ConfirmEmailChangeResult = Annotated[
    User | InvalidOtp | OtpExpired | TooManyAttempts | InvalidInput | RateLimited,
    strawberry.union("ConfirmEmailChangeResult"),
]


async def confirm_email_change(
    info: Info[Context, None], input_: Annotated[ConfirmEmailChangeInput, strawberry.argument(name="input")]
) -> ConfirmEmailChangeResult:
    """Enter the code mailed to the new address; the account signs in with that address from now on."""
    principal = await info.context.signed_in()
    try:
        user = await info.context.services.email_change.confirm(principal, input_.code, client=info.context.client)
    except errors.AuthError as failure:
        return error_result(failure, ConfirmEmailChangeResult)
    return User.from_domain(user)


field = strawberry.mutation(resolver=confirm_email_change, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=SENSITIVE)
