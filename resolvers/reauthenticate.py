"""``reauthenticate``: prove again who is signed in, before changes that need a recent proof."""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - Strawberry reads annotations at runtime
from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.sensitivity import SENSITIVE
from resolvers.types import (
    InvalidInput,
    InvalidOtp,
    InvalidPasskey,
    RateLimited,
    SecondFactorMethod,
    SecondFactorNotEnabled,
    WrongPassword,
)


@strawberry.input(
    description=(
        "One proof: the password (accounts without a second factor), or a second-factor method with its code "
        "(accounts with one: their strongest proof)."
    )
)
class ReauthenticateInput:
    method: SecondFactorMethod | None = None
    code: str | None = strawberry.field(
        default=None,
        description=(
            "Six digits from the app, a recovery code (xxxxx-xxxxx), or with WEBAUTHN JSON.stringify of what "
            "navigator.credentials.get answered to beginReauthentication's webauthnOptions."
        ),
    )
    password: str | None = strawberry.field(
        default=None, description="The account's password, on an account without a second factor."
    )


@strawberry.type(description="This session has just proved who its owner is.")
class Reauthenticated:
    valid_until: datetime = strawberry.field(
        description="Until when password changes, address changes, factor changes and deletion need no new proof."
    )


ReauthenticateResult = Annotated[
    Reauthenticated | WrongPassword | InvalidOtp | InvalidPasskey | InvalidInput | SecondFactorNotEnabled | RateLimited,
    strawberry.union("ReauthenticateResult"),
]


async def reauthenticate(
    info: Info[Context, None], input_: Annotated[ReauthenticateInput, strawberry.argument(name="input")]
) -> ReauthenticateResult:
    """Prove again who is signed in: the password, or the second factor on an account with one
    (the answer to ReauthenticationRequired)."""
    principal = await info.context.signed_in()
    try:
        valid_until = await info.context.services.second_factors.reauthenticate(
            principal, input_.method, input_.code, client=info.context.client, password=input_.password
        )
    except errors.AuthError as failure:
        return error_result(failure, ReauthenticateResult)
    return Reauthenticated(valid_until=valid_until)


field = strawberry.mutation(resolver=reauthenticate, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=SENSITIVE)
