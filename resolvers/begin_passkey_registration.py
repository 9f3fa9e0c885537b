"""``beginPasskeyRegistration``: the options for ``navigator.credentials.create``, after the password."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.sensitivity import SENSITIVE, password_again
from resolvers.types import InvalidPasskey, PasskeyOptions, RateLimited, ReauthenticationRequired, WrongPassword


@strawberry.input
class BeginPasskeyRegistrationInput:
    password: str | None = password_again()


BeginPasskeyRegistrationResult = Annotated[
    PasskeyOptions | WrongPassword | ReauthenticationRequired | InvalidPasskey | RateLimited,
    strawberry.union("BeginPasskeyRegistrationResult"),
]


async def begin_passkey_registration(
    info: Info[Context, None], input_: Annotated[BeginPasskeyRegistrationInput, strawberry.argument(name="input")]
) -> BeginPasskeyRegistrationResult:
    """Start adding a passkey (InvalidPasskey when this gateway has no passkey origins configured)."""
    principal = await info.context.signed_in()
    try:
        options = await info.context.services.passkeys.begin_registration(
            principal, input_.password, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, BeginPasskeyRegistrationResult)
    return PasskeyOptions(options_json=options)


field = strawberry.mutation(
    resolver=begin_passkey_registration, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=SENSITIVE
)
