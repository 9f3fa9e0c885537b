"""``passkeys``: the signed-in account's passkeys."""

from __future__ import annotations

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from resolvers.context import Context  # noqa: TC001
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.types import Passkey


async def passkeys(info: Info[Context, None]) -> list[Passkey]:
    """The account's passkeys, oldest first."""
    principal = await info.context.signed_in()
    return [Passkey.from_domain(passkey) for passkey in await info.context.services.passkeys.of_account(principal)]


field = strawberry.field(resolver=passkeys, permission_classes=SIGNED_IN_AS_REQUIRED)
