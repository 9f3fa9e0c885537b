"""``signInWithIdToken``: an ID token a native app (or Google One Tap) got from the provider itself."""

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
    EmailConfirmationRequired,
    InvalidIdToken,
    InvalidInput,
    LinkRequired,
    MfaRequired,
    ProviderEmailNotVerified,
    ProviderUnavailable,
    RateLimited,
)


@strawberry.input
class SignInWithIdTokenInput:
    provider: str = strawberry.field(description="The provider's id (signInProviders).")
    id_token: str = strawberry.field(description="The ID token (a JWT) the provider's SDK gave the app.")
    nonce: str = strawberry.field(
        description=(
            "The nonce the app made for this sign-in and gave the provider's SDK, exactly as the ID token "
            "carries it; required."
        )
    )


SignInWithIdTokenResult = Annotated[
    AuthPayload
    | MfaRequired
    | LinkRequired
    | EmailConfirmationRequired
    | ProviderEmailNotVerified
    | InvalidIdToken
    | ProviderUnavailable
    | InvalidInput
    | RateLimited,
    strawberry.union("SignInWithIdTokenResult"),
]


async def sign_in_with_id_token(
    info: Info[Context, None], input_: Annotated[SignInWithIdTokenInput, strawberry.argument(name="input")]
) -> SignInWithIdTokenResult:
    """Sign in with a provider's ID token; the answers are finishProviderSignIn's."""
    try:
        signed_in = await info.context.services.id_token_sign_in.sign_in(
            input_.provider, input_.id_token, input_.nonce, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, SignInWithIdTokenResult)
    return signed_in_answer(info.context, signed_in)


field = strawberry.mutation(resolver=sign_in_with_id_token, metadata=SENSITIVE)
