from __future__ import annotations

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from resolvers.context import Context  # noqa: TC001
from resolvers.permissions import SIGNED_IN
from resolvers.sensitivity import NOT_SENSITIVE
from resolvers.types import SignedOut


async def logout(info: Info[Context, None]) -> SignedOut:
    """End this session: its refresh token and its access tokens stop working at once."""
    principal = await info.context.signed_in()
    ended = await info.context.services.sessions.logout(principal, client=info.context.client)
    info.context.forget_refresh_token()
    return SignedOut(ended_sessions=ended)


field = strawberry.mutation(resolver=logout, permission_classes=SIGNED_IN, metadata=NOT_SENSITIVE)
