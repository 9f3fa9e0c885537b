"""``secondFactors``: what protects the signed-in account besides its password."""

from __future__ import annotations

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from resolvers.context import Context  # noqa: TC001
from resolvers.permissions import SIGNED_IN


@strawberry.type(description="The second factors of the signed-in account.")
class SecondFactors:
    totp: bool = strawberry.field(description="Whether an authenticator app is set up.")
    recovery_codes_left: int = strawberry.field(description="Unused recovery codes.")


async def second_factors(info: Info[Context, None]) -> SecondFactors:
    """The account's second factors."""
    principal = await info.context.signed_in()
    status = await info.context.services.second_factors.status(principal)
    return SecondFactors(totp=status.totp, recovery_codes_left=status.recovery_codes_left)


field = strawberry.field(resolver=second_factors, permission_classes=SIGNED_IN)
