"""``renamePasskey``: give one of the account's passkeys another name."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.remove_passkey import credential_id_of
from resolvers.sensitivity import NOT_SENSITIVE
from resolvers.types import InvalidInput, Passkey, PasskeyNotFound


@strawberry.input
class RenamePasskeyInput:
    id: strawberry.ID
    name: str


RenamePasskeyResult = Annotated[Passkey | PasskeyNotFound | InvalidInput, strawberry.union("RenamePasskeyResult")]


async def rename_passkey(
    info: Info[Context, None], input_: Annotated[RenamePasskeyInput, strawberry.argument(name="input")]
) -> RenamePasskeyResult:
    """Rename a passkey (at most 64 characters)."""
    principal = await info.context.signed_in()
    try:
        renamed = await info.context.services.passkeys.rename(principal, credential_id_of(input_.id), input_.name)
    except errors.AuthError as failure:
        return error_result(failure, RenamePasskeyResult)
    return Passkey.from_domain(renamed)


field = strawberry.mutation(resolver=rename_passkey, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=NOT_SENSITIVE)
