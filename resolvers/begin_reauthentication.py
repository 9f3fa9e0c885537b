"""``beginReauthentication``: how this session may prove its second factor again."""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - Strawberry reads annotations at runtime
from typing import Annotated

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.sensitivity import NOT_SENSITIVE
from resolvers.types import SecondFactorMethod, SecondFactorNotEnabled


@strawberry.type(description="What reauthenticate accepts from this account.")
class ReauthenticationOptions:
    methods: list[SecondFactorMethod]
    webauthn_options: str | None = strawberry.field(
        description="With WEBAUTHN: the options (JSON) for navigator.credentials.get, for the account's passkeys."
    )
    expires_at: datetime = strawberry.field(description="Until when the passkey options may be answered.")


BeginReauthenticationResult = Annotated[
    ReauthenticationOptions | SecondFactorNotEnabled, strawberry.union("BeginReauthenticationResult")
]


async def begin_reauthentication(info: Info[Context, None]) -> BeginReauthenticationResult:
    """The ways to answer ReauthenticationRequired (and, for passkeys, a fresh challenge)."""
    principal = await info.context.signed_in()
    try:
        options = await info.context.services.second_factors.reauthentication_options(principal)
    except errors.AuthError as failure:
        return error_result(failure, BeginReauthenticationResult)
    return ReauthenticationOptions(
        methods=list(options.methods), webauthn_options=options.webauthn_options, expires_at=options.expires_at
    )


field = strawberry.mutation(
    resolver=begin_reauthentication, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=NOT_SENSITIVE
)
