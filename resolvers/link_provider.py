"""``linkProvider``: link the provider identity of a ``LinkRequired`` to the signed-in account."""

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
    InvalidLinkToken,
    ProviderAlreadyLinked,
    ProviderIdentity,
    RateLimited,
    ReauthenticationRequired,
    WrongPassword,
)


@strawberry.input
class LinkProviderInput:
    link_token: str = strawberry.field(description="The `linkToken` of finishProviderSignIn's LinkRequired.")
    password: str | None = password_again()


@strawberry.type(description="The identity signs in to this account from now on.")
class ProviderLinked:
    identity: ProviderIdentity


LinkProviderResult = Annotated[
    ProviderLinked | InvalidLinkToken | ProviderAlreadyLinked | WrongPassword | ReauthenticationRequired | RateLimited,
    strawberry.union("LinkProviderResult"),
]


async def link_provider(
    info: Info[Context, None], input_: Annotated[LinkProviderInput, strawberry.argument(name="input")]
) -> LinkProviderResult:
    """Link the identity to this account, after a recent proof; the owner is mailed a notice."""
    principal = await info.context.signed_in()
    try:
        identity = await info.context.services.provider_links.link(
            principal, input_.link_token, input_.password, client=info.context.client
        )
    except errors.AuthError as failure:
        return error_result(failure, LinkProviderResult)
    return ProviderLinked(identity=ProviderIdentity.from_domain(identity))


field = strawberry.mutation(resolver=link_provider, permission_classes=SIGNED_IN_AS_REQUIRED, metadata=SENSITIVE)
