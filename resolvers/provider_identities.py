"""``providerIdentities``: the provider identities linked to the signed-in account."""

from __future__ import annotations

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from resolvers.context import Context  # noqa: TC001
from resolvers.permissions import SIGNED_IN_AS_REQUIRED
from resolvers.types import ProviderIdentity


async def provider_identities(info: Info[Context, None]) -> list[ProviderIdentity]:
    """The account's provider identities, oldest link first."""
    principal = await info.context.signed_in()
    identities = await info.context.services.provider_links.identities(principal)
    return [ProviderIdentity.from_domain(identity) for identity in identities]


field = strawberry.field(resolver=provider_identities, permission_classes=SIGNED_IN_AS_REQUIRED)
