"""``finishPasskeySignIn``: sign in with the passkey's answer."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.sensitivity import SENSITIVE
from resolvers.types import AuthPayload, InvalidPasskey, RateLimited


@strawberry.input
class FinishPasskeySignInInput:
    credential: str = strawberry.field(description="JSON.stringify of the PublicKeyCredential from get().")


FinishPasskeySignInResult = Annotated[
    AuthPayload | InvalidPasskey | RateLimited, strawberry.union("FinishPasskeySignInResult")
]


async def finish_passkey_sign_in(
    info: Info[Context, None], input_: Annotated[FinishPasskeySignInInput, strawberry.argument(name="input")]
) -> FinishPasskeySignInResult:
    """Sign in with a passkey: no password, no second step (the passkey verified the person)."""
    try:
        signed_in = await info.context.services.passkeys.finish_sign_in(input_.credential, client=info.context.client)
    except errors.AuthError as failure:
        return error_result(failure, FinishPasskeySignInResult)
    return AuthPayload.from_domain(signed_in, info.context.deliver_refresh_token(signed_in))


field = strawberry.mutation(resolver=finish_passkey_sign_in, metadata=SENSITIVE)
