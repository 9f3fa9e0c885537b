from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.types import AccountDeleted, RateLimited, WrongPassword
from resolvers.unauthenticated import unauthenticated


@strawberry.input
class DeleteAccountInput:
    password: str


DeleteAccountResult = Annotated[AccountDeleted | WrongPassword | RateLimited, strawberry.union("DeleteAccountResult")]


async def delete_account(
    info: Info[Context, None], input_: Annotated[DeleteAccountInput, strawberry.argument(name="input")]
) -> DeleteAccountResult:
    """Delete the account for good: its sessions, codes and personal data go with it."""
    principal = await info.context.signed_in()
    try:
        deleted = await info.context.services.account.delete_account(
            principal, input_.password, client=info.context.client
        )
    except errors.InvalidCredentials:
        return WrongPassword()
    except errors.RateLimited as exc:
        return RateLimited.from_domain(exc)
    except errors.InvalidAccessToken:
        raise unauthenticated() from None
    info.context.forget_refresh_token()
    return AccountDeleted(id=strawberry.ID(str(deleted)))
