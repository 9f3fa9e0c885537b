from __future__ import annotations

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from resolvers.context import Context  # noqa: TC001
from resolvers.permissions import SIGNED_IN
from resolvers.sensitivity import NOT_SENSITIVE
from resolvers.types import SignedOut


async def logout_all(info: Info[Context, None]) -> SignedOut:
    """End every session of the account, this one included."""
    principal = await info.context.signed_in()
    ended = await info.context.services.sessions.logout_everywhere(principal, client=info.context.client)
    info.context.forget_refresh_token()
    return SignedOut(ended_sessions=ended)


field = strawberry.mutation(resolver=logout_all, permission_classes=SIGNED_IN, metadata=NOT_SENSITIVE)
