"""``confirmTotpEnrolment``: a first code from the app turns it on and makes recovery codes."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN
from resolvers.sensitivity import SENSITIVE
from resolvers.types import (
    InvalidInput,
    InvalidOtp,
    RecoveryCodes,
    SecondFactorAlreadyEnabled,
    SecondFactorNotEnabled,
)


@strawberry.input
class ConfirmTotpEnrolmentInput:
    code: str = strawberry.field(description="The six digits the app shows now.")


ConfirmTotpEnrolmentResult = Annotated[
    RecoveryCodes | InvalidOtp | InvalidInput | SecondFactorNotEnabled | SecondFactorAlreadyEnabled,
    strawberry.union("ConfirmTotpEnrolmentResult"),
]


async def confirm_totp_enrolment(
    info: Info[Context, None], input_: Annotated[ConfirmTotpEnrolmentInput, strawberry.argument(name="input")]
) -> ConfirmTotpEnrolmentResult:
    """Turn the authenticator app on; the answer holds the recovery codes, shown this once."""
    principal = await info.context.signed_in()
    try:
        codes = await info.context.services.second_factors.confirm_totp(
            principal, input_.code, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, ConfirmTotpEnrolmentResult)
    return RecoveryCodes(codes=codes)


field = strawberry.mutation(resolver=confirm_totp_enrolment, permission_classes=SIGNED_IN, metadata=SENSITIVE)
