from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.sensitivity import SENSITIVE
from resolvers.types import AuthPayload, InvalidRefreshToken, RateLimited


@strawberry.input
class RefreshTokenInput:
    refresh_token: str | None = strawberry.field(
        default=None, description="Omit it to use the refresh cookie (REFRESH_TOKEN_TRANSPORT=cookie or both)."
    )


RefreshTokenResult = Annotated[AuthPayload | InvalidRefreshToken | RateLimited, strawberry.union("RefreshTokenResult")]


async def refresh_token(
    info: Info[Context, None],
    input_: Annotated[RefreshTokenInput | None, strawberry.argument(name="input")] = None,
) -> RefreshTokenResult:
    """Trade a refresh token for a new pair; the one presented stops working.

    The token comes from the input or, when the input omits it, from the refresh cookie.
    """
    context = info.context
    given = input_.refresh_token if input_ is not None else None
    token = given if given is not None else context.refresh_token_cookie()
    try:
        signed_in = await context.services.refresh.refresh(token or "", client=context.client)
    except errors.AuthError as failure:
        if isinstance(failure, errors.InvalidRefreshToken) and given is None:
            context.forget_refresh_token()  # a dead cookie: the browser need not send it again
        return error_result(failure, RefreshTokenResult)
    return AuthPayload.from_domain(signed_in, context.deliver_refresh_token(signed_in))


field = strawberry.mutation(resolver=refresh_token, metadata=SENSITIVE)
