"""``removePasskey``: remove one of the account's passkeys, after the password."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.sensitivity import SENSITIVE, password_again
from resolvers.types import (
    LastSignInMethod,
    PasskeyNotFound,
    RateLimited,
    ReauthenticationRequired,
    WrongPassword,
)


def credential_id_of(passkey_id: strawberry.ID) -> bytes:
    """The credential id of ``Passkey.id`` (base64url); ``PasskeyNotFound`` when it is not one."""
    text = str(passkey_id)
    try:
        credential_id = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) if len(text) <= 1400 else b""
    except (binascii.Error, ValueError):
        credential_id = b""
    if not credential_id:
        raise errors.PasskeyNotFound
    return credential_id


@strawberry.input
class RemovePasskeyInput:
    id: strawberry.ID
    password: str | None = password_again()


@strawberry.type(description="The passkey no longer signs anyone in.")
class PasskeyRemoved:
    id: strawberry.ID


RemovePasskeyResult = Annotated[
    PasskeyRemoved | PasskeyNotFound | LastSignInMethod | WrongPassword | ReauthenticationRequired | RateLimited,
    strawberry.union("RemovePasskeyResult"),
]


async def remove_passkey(
    info: Info[Context, None], input_: Annotated[RemovePasskeyInput, strawberry.argument(name="input")]
) -> RemovePasskeyResult:
    """Remove a passkey; the account's owner is mailed a notice."""
    principal = await info.context.signed_in()
    try:
        await info.context.services.passkeys.remove(
            principal, credential_id_of(input_.id), input_.password, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, RemovePasskeyResult)
    return PasskeyRemoved(id=input_.id)


field = strawberry.mutation(resolver=remove_passkey, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=SENSITIVE)
