from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.sensitivity import SENSITIVE, password_again
from resolvers.types import InvalidInput, PasswordChanged, RateLimited, ReauthenticationRequired, WrongPassword


@strawberry.input
class ChangePasswordInput:
    current_password: str | None = password_again()
    new_password: str


ChangePasswordResult = Annotated[
    PasswordChanged | WrongPassword | ReauthenticationRequired | InvalidInput | RateLimited,
    strawberry.union("ChangePasswordResult"),
]


async def change_password(
    info: Info[Context, None], input_: Annotated[ChangePasswordInput, strawberry.argument(name="input")]
) -> ChangePasswordResult:
    """Replace the password; every other session ends, this one stays."""
    principal = await info.context.signed_in()
    try:
        ended = await info.context.services.account.change_password(
            principal, input_.current_password, input_.new_password, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, ChangePasswordResult)
    return PasswordChanged(ended_other_sessions=ended)


field = strawberry.mutation(resolver=change_password, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=SENSITIVE)
