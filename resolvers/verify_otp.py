from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.sensitivity import SENSITIVE
from resolvers.types import AuthPayload, InvalidInput, InvalidOtp, OtpExpired, RateLimited, TooManyAttempts


@strawberry.input
class VerifyOtpInput:
    email: str
    code: str
    password: str = strawberry.field(
        description="The password the account gets: the one chosen at sign-up, typed or kept by the client "
        "since. Only a password shown with the code opens the account."
    )


VerifyOtpResult = Annotated[
    AuthPayload | InvalidOtp | OtpExpired | TooManyAttempts | InvalidInput | RateLimited,
    strawberry.union("VerifyOtpResult"),
]


async def verify_otp(
    info: Info[Context, None], input_: Annotated[VerifyOtpInput, strawberry.argument(name="input")]
) -> VerifyOtpResult:
    """Confirm the e-mail address with the mailed code and set the password; signs the person in."""
    try:
        signed_in = await info.context.services.verification.verify(
            email=input_.email, code=input_.code, password=input_.password, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, VerifyOtpResult)
    return AuthPayload.from_domain(signed_in, info.context.deliver_refresh_token(signed_in))


field = strawberry.mutation(resolver=verify_otp, metadata=SENSITIVE)
