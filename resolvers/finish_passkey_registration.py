"""``finishPasskeyRegistration``: keep the passkey the browser created."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.sensitivity import SENSITIVE
from resolvers.types import InvalidInput, InvalidPasskey, Passkey


@strawberry.input
class FinishPasskeyRegistrationInput:
    credential: str = strawberry.field(description="JSON.stringify of the PublicKeyCredential from create().")
    name: str = strawberry.field(description="What the person calls it (at most 64 characters).")


@strawberry.type(
    description=(
        "The passkey is added. With the account's first second factor, recoveryCodes holds its new recovery "
        "codes, shown this once; else it is empty."
    )
)
class PasskeyAdded:
    passkey: Passkey
    recovery_codes: list[str]


FinishPasskeyRegistrationResult = Annotated[
    PasskeyAdded | InvalidPasskey | InvalidInput, strawberry.union("FinishPasskeyRegistrationResult")
]


async def finish_passkey_registration(
    info: Info[Context, None], input_: Annotated[FinishPasskeyRegistrationInput, strawberry.argument(name="input")]
) -> FinishPasskeyRegistrationResult:
    """Add the passkey; the account's owner is mailed a notice."""
    principal = await info.context.signed_in()
    try:
        passkey, codes = await info.context.services.passkeys.finish_registration(
            principal, input_.credential, input_.name, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, FinishPasskeyRegistrationResult)
    return PasskeyAdded(passkey=Passkey.from_domain(passkey), recovery_codes=codes)


field = strawberry.mutation(
    resolver=finish_passkey_registration, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=SENSITIVE
)
