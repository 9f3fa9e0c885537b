from __future__ import annotations

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from resolvers.context import Context  # noqa: TC001
from resolvers.types import User


async def me(info: Info[Context, None]) -> User | None:
    """The signed-in account; null without an access token."""
    principal = await info.context.principal()
    return User.from_domain(principal.user, caller=principal) if principal else None


field = strawberry.field(resolver=me)
