"""``unlinkProvider``: unlink the account's identity at a provider, never the last way in."""

from __future__ import annotations

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
    ProviderNotLinked,
    RateLimited,
    ReauthenticationRequired,
    WrongPassword,
)


@strawberry.input
class UnlinkProviderInput:
    provider: str = strawberry.field(description="The provider's id (providerIdentities).")
    password: str | None = password_again()


@strawberry.type(description="The provider's identity no longer signs in to this account.")
class ProviderUnlinked:
    provider: str


UnlinkProviderResult = Annotated[
    ProviderUnlinked | ProviderNotLinked | LastSignInMethod | WrongPassword | ReauthenticationRequired | RateLimited,
    strawberry.union("UnlinkProviderResult"),
]


async def unlink_provider(
    info: Info[Context, None], input_: Annotated[UnlinkProviderInput, strawberry.argument(name="input")]
) -> UnlinkProviderResult:
    """Unlink the identity, after a recent proof; the owner is mailed a notice."""
    principal = await info.context.signed_in()
    try:
        await info.context.services.provider_links.unlink(
            principal, input_.provider, input_.password, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, UnlinkProviderResult)
    return ProviderUnlinked(provider=input_.provider)


field = strawberry.mutation(resolver=unlink_provider, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=SENSITIVE)
