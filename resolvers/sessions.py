from __future__ import annotations

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from resolvers.context import Context  # noqa: TC001
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.types import Session


async def sessions(info: Info[Context, None]) -> list[Session]:
    """The account's live sessions, most recently used first."""
    principal = await info.context.signed_in()
    live = await info.context.services.sessions.list_live(principal)
    return [Session.from_domain(session, principal.session_id) for session in live]


field = strawberry.field(resolver=sessions, permission_classes=SIGNED_IN_AS_REQUIRED)
