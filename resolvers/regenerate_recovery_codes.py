"""``regenerateRecoveryCodes``: new recovery codes, after the password; the old ones stop working."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.sensitivity import SENSITIVE, password_again
from resolvers.types import RateLimited, ReauthenticationRequired, RecoveryCodes, SecondFactorNotEnabled, WrongPassword


@strawberry.input
class RegenerateRecoveryCodesInput:
    password: str | None = password_again()


RegenerateRecoveryCodesResult = Annotated[
    RecoveryCodes | WrongPassword | ReauthenticationRequired | SecondFactorNotEnabled | RateLimited,
    strawberry.union("RegenerateRecoveryCodesResult"),
]


async def regenerate_recovery_codes(
    info: Info[Context, None], input_: Annotated[RegenerateRecoveryCodesInput, strawberry.argument(name="input")]
) -> RegenerateRecoveryCodesResult:
    """Replace the recovery codes; the answer holds the new ones, shown this once."""
    principal = await info.context.signed_in()
    try:
        codes = await info.context.services.second_factors.regenerate_recovery_codes(
            principal, input_.password, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, RegenerateRecoveryCodesResult)
    return RecoveryCodes(codes=codes)


field = strawberry.mutation(
    resolver=regenerate_recovery_codes, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=SENSITIVE
)
