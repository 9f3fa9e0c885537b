from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.types import DeliveryFailed, InvalidInput, OtpSent, RateLimited, WrongPassword


@strawberry.input
class RequestEmailChangeInput:
    new_email: str
    password: str


RequestEmailChangeResult = Annotated[
    OtpSent | WrongPassword | InvalidInput | RateLimited | DeliveryFailed,
    strawberry.union("RequestEmailChangeResult"),
]


async def request_email_change(
    info: Info[Context, None], input_: Annotated[RequestEmailChangeInput, strawberry.argument(name="input")]
) -> RequestEmailChangeResult:
    """Mail a code to a new address; the account moves there when `confirmEmailChange` gets the code."""
    principal = await info.context.signed_in()
    try:
        sent = await info.context.services.email_change.request(
            principal, input_.new_email, input_.password, client=info.context.client
        )
    except errors.InvalidInput as exc:
        return InvalidInput.from_domain(exc)
    except errors.InvalidCredentials:
        return WrongPassword()
    except errors.RateLimited as exc:
        return RateLimited.from_domain(exc)
    except errors.DeliveryFailed:
        return DeliveryFailed()
    return OtpSent(email=sent.email, expires_at=sent.expires_at)
