from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.sensitivity import SENSITIVE, password_again
from resolvers.types import AccountDeleted, RateLimited, ReauthenticationRequired, WrongPassword


@strawberry.input
class DeleteAccountInput:
    password: str | None = password_again()


DeleteAccountResult = Annotated[
    AccountDeleted | WrongPassword | ReauthenticationRequired | RateLimited, strawberry.union("DeleteAccountResult")
]


async def delete_account(
    info: Info[Context, None], input_: Annotated[DeleteAccountInput, strawberry.argument(name="input")]
) -> DeleteAccountResult:
    """Delete the account for good: its sessions, codes and personal data go with it."""
    principal = await info.context.signed_in()
    try:
        deleted = await info.context.services.account.delete_account(
            principal, input_.password, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, DeleteAccountResult)
    info.context.forget_refresh_token()
    return AccountDeleted(id=strawberry.ID(str(deleted)))


field = strawberry.mutation(resolver=delete_account, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=SENSITIVE)
