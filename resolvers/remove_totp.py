"""``removeTotp``: turn the authenticator app off, after the password."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.sensitivity import SENSITIVE, password_again
from resolvers.types import (
    RateLimited,
    ReauthenticationRequired,
    SecondFactorNotEnabled,
    SecondFactorRequired,
    WrongPassword,
)


@strawberry.input
class RemoveTotpInput:
    password: str | None = password_again()


@strawberry.type(description="The authenticator app and the recovery codes are gone.")
class TotpRemoved:
    recovery_codes_left: int = strawberry.field(description="Always 0: the recovery codes went with the app.")


RemoveTotpResult = Annotated[
    TotpRemoved
    | WrongPassword
    | ReauthenticationRequired
    | SecondFactorNotEnabled
    | SecondFactorRequired
    | RateLimited,
    strawberry.union("RemoveTotpResult"),
]


async def remove_totp(
    info: Info[Context, None], input_: Annotated[RemoveTotpInput, strawberry.argument(name="input")]
) -> RemoveTotpResult:
    """Remove the authenticator app and its recovery codes; signing in asks for the password only."""
    principal = await info.context.signed_in()
    try:
        await info.context.services.second_factors.remove_totp(principal, input_.password, client=info.context.client)
    except errors.AuthError as failure:
        return error_result(failure, RemoveTotpResult)
    return TotpRemoved(recovery_codes_left=0)


field = strawberry.mutation(resolver=remove_totp, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=SENSITIVE)
