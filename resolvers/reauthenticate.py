"""``reauthenticate``: prove the second factor again before a change that needs a recent proof."""

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
)


@strawberry.input
class ReauthenticateInput:
    method: SecondFactorMethod
    code: str = strawberry.field(
        description=(
            "Six digits from the app, a recovery code (xxxxx-xxxxx), or with WEBAUTHN JSON.stringify of what "
            "navigator.credentials.get answered to beginReauthentication's webauthnOptions."
        )
    )


@strawberry.type(description="This session has just proved the second factor.")
class Reauthenticated:
    valid_until: datetime = strawberry.field(
        description="Until when password changes, address changes, factor changes and deletion need no new proof."
    )


ReauthenticateResult = Annotated[
    Reauthenticated | InvalidOtp | InvalidPasskey | InvalidInput | SecondFactorNotEnabled | RateLimited,
    strawberry.union("ReauthenticateResult"),
]


async def reauthenticate(
    info: Info[Context, None], input_: Annotated[ReauthenticateInput, strawberry.argument(name="input")]
) -> ReauthenticateResult:
    """Prove the second factor again in this session (answers to ReauthenticationRequired)."""
    principal = await info.context.signed_in()
    try:
        valid_until = await info.context.services.second_factors.reauthenticate(
            principal, input_.method, input_.code, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, ReauthenticateResult)
    return Reauthenticated(valid_until=valid_until)


field = strawberry.mutation(resolver=reauthenticate, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=SENSITIVE)
