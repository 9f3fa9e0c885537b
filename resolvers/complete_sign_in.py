"""``completeSignIn``: the second step of a sign-in that answered ``MfaRequired``."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.sensitivity import SENSITIVE
from resolvers.types import (
    AuthPayload,
    InvalidInput,
    InvalidOtp,
    InvalidPasskey,
    InvalidTicket,
    RateLimited,
    SecondFactorMethod,
)


@strawberry.input
class CompleteSignInInput:
    ticket: str = strawberry.field(description="MfaRequired.ticket.")
    method: SecondFactorMethod
    code: str = strawberry.field(
        description=(
            "Six digits from the app, a recovery code (xxxxx-xxxxx), or with WEBAUTHN JSON.stringify of the "
            "PublicKeyCredential that navigator.credentials.get answered to MfaRequired.webauthnOptions."
        )
    )


CompleteSignInResult = Annotated[
    AuthPayload | InvalidOtp | InvalidPasskey | InvalidTicket | InvalidInput | RateLimited,
    strawberry.union("CompleteSignInResult"),
]


async def complete_sign_in(
    info: Info[Context, None], input_: Annotated[CompleteSignInInput, strawberry.argument(name="input")]
) -> CompleteSignInResult:
    """Finish signing in with a code from the authenticator app or a recovery code."""
    try:
        signed_in = await info.context.services.second_factors.complete_sign_in(
            input_.ticket, input_.method, input_.code, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, CompleteSignInResult)
    return AuthPayload.from_domain(signed_in, info.context.deliver_refresh_token(signed_in))


field = strawberry.mutation(resolver=complete_sign_in, metadata=SENSITIVE)
