from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from schema.context import Context  # noqa: TC001
from schema.types import AuthPayload, InvalidRefreshToken, RateLimited


@strawberry.input
class RefreshTokenInput:
    refresh_token: str


RefreshTokenResult = Annotated[AuthPayload | InvalidRefreshToken | RateLimited, strawberry.union("RefreshTokenResult")]


async def refresh_token(
    info: Info[Context, None], input_: Annotated[RefreshTokenInput, strawberry.argument(name="input")]
) -> RefreshTokenResult:
    """Trade a refresh token for a new pair; the one presented stops working."""
    try:
        signed_in = await info.context.services.refresh.refresh(input_.refresh_token, client=info.context.client)
    except errors.InvalidRefreshToken:
        return InvalidRefreshToken()
    except errors.RateLimited as exc:
        return RateLimited.from_domain(exc)
    return AuthPayload.from_domain(signed_in)
