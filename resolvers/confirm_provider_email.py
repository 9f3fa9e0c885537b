"""``confirmProviderEmail``: the code mailed to the address a provider did not vouch for
finishes the first sign-in that answered ``EmailConfirmationRequired``."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.sensitivity import SENSITIVE
from resolvers.sign_in_answers import signed_in_answer
from resolvers.types import (
    AuthPayload,
    InvalidInput,
    InvalidOtp,
    InvalidTicket,
    LinkRequired,
    MfaRequired,
    OtpExpired,
    RateLimited,
    TooManyAttempts,
)


@strawberry.input
class ConfirmProviderEmailInput:
    ticket: str = strawberry.field(description="The `ticket` of EmailConfirmationRequired.")
    code: str = strawberry.field(description="The six-digit code mailed to the address.")


ConfirmProviderEmailResult = Annotated[
    AuthPayload
    | MfaRequired
    | LinkRequired
    | InvalidOtp
    | OtpExpired
    | TooManyAttempts
    | InvalidTicket
    | InvalidInput
    | RateLimited,
    strawberry.union("ConfirmProviderEmailResult"),
]


async def confirm_provider_email(
    info: Info[Context, None], input_: Annotated[ConfirmProviderEmailInput, strawberry.argument(name="input")]
) -> ConfirmProviderEmailResult:
    """Finish a first provider sign-in with the code mailed to its address: a new account, or
    LinkRequired when an account has the address; MfaRequired when the account has a second factor."""
    try:
        signed_in = await info.context.services.provider_email_confirmation.confirm(
            input_.ticket, input_.code, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, ConfirmProviderEmailResult)
    return signed_in_answer(info.context, signed_in)


field = strawberry.mutation(resolver=confirm_provider_email, metadata=SENSITIVE)
