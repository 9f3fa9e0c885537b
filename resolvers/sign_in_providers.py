"""``signInProviders``: the providers the SPA may show a sign-in button for."""

from __future__ import annotations

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from resolvers.context import Context  # noqa: TC001
from resolvers.types import SignInProvider


async def sign_in_providers(info: Info[Context, None]) -> list[SignInProvider]:
    """Every provider set up, in the operator's order: ids and display names, never a secret."""
    listed = info.context.services.provider_links.sign_in_providers()
    return [SignInProvider(id=provider.id, display_name=provider.display_name) for provider in listed]


field = strawberry.field(resolver=sign_in_providers)
