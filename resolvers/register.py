from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.sensitivity import SENSITIVE
from resolvers.types import DeliveryFailed, InvalidInput, OtpSent, RateLimited


@strawberry.input
class RegisterInput:
    email: str
    password: str
    first_name: str | None = None
    last_name: str | None = None
    locale: str | None = strawberry.field(
        default=None,
        description=(
            "The language of the account's mails, one the gateway ships (`en`, `de`, `fr`, …); anything else"
            " is InvalidInput on `locale`. Left out: the verification code is in the request's"
            " Accept-Language, else the default."
        ),
    )


RegisterResult = Annotated[OtpSent | InvalidInput | RateLimited | DeliveryFailed, strawberry.union("RegisterResult")]


async def register(
    info: Info[Context, None], input_: Annotated[RegisterInput, strawberry.argument(name="input")]
) -> RegisterResult:
    """Sign up. The same answer whether or not the address already has an account."""
    try:
        sent = await info.context.services.registration.register(
            email=input_.email,
            password=input_.password,
            first_name=input_.first_name,
            last_name=input_.last_name,
            client=info.context.client,
            locale=input_.locale,
        )
    except errors.AuthError as failure:
        return error_result(failure, RegisterResult)
    return OtpSent(email=sent.email, expires_at=sent.expires_at)


field = strawberry.mutation(resolver=register, metadata=SENSITIVE)
