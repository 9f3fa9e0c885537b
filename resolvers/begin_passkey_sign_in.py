"""``beginPasskeySignIn``: the options for ``navigator.credentials.get``; no address is typed."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.sensitivity import NOT_SENSITIVE
from resolvers.types import InvalidPasskey, PasskeyOptions, RateLimited

BeginPasskeySignInResult = Annotated[
    PasskeyOptions | InvalidPasskey | RateLimited, strawberry.union("BeginPasskeySignInResult")
]


async def begin_passkey_sign_in(info: Info[Context, None]) -> BeginPasskeySignInResult:
    """Start a sign-in with a passkey (a challenge good for 5 minutes, once)."""
    try:
        options = await info.context.services.passkeys.begin_sign_in(client=info.context.client)
    except errors.AuthError as failure:
        return error_result(failure, BeginPasskeySignInResult)
    return PasskeyOptions(options_json=options)


field = strawberry.mutation(resolver=begin_passkey_sign_in, metadata=NOT_SENSITIVE)
