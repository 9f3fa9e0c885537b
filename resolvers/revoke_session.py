from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.sensitivity import NOT_SENSITIVE
from resolvers.types import SessionNotFound, SessionRevoked

RevokeSessionResult = Annotated[SessionRevoked | SessionNotFound, strawberry.union("RevokeSessionResult")]


async def revoke_session(info: Info[Context, None], id: strawberry.ID) -> RevokeSessionResult:  # noqa: A002 - the argument's name in the schema
    """End one session of the account (an id from `sessions`); this one too, if it is its id."""
    principal = await info.context.signed_in()
    try:
        ended = await info.context.services.sessions.revoke(principal, str(id), client=info.context.client)
    except errors.AuthError as failure:
        return error_result(failure, RevokeSessionResult)
    return SessionRevoked(id=strawberry.ID(str(ended)))


field = strawberry.mutation(resolver=revoke_session, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=NOT_SENSITIVE)
