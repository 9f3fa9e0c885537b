"""Permission classes: the conditions an operation states in the schema's code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strawberry.permission import BasePermission

from resolvers.unauthenticated import UNAUTHENTICATED

if TYPE_CHECKING:
    from strawberry.types import Info

    from resolvers.context import Context


class IsAuthenticated(BasePermission):
    """A live session's access token comes with the request.

    A bad token or an ended session raises UNAUTHENTICATED from the context; no
    token at all is refused here with the same code, so SPAs handle both alike.
    """

    message = "Sign in first: this operation needs an access token."
    error_extensions = {"code": UNAUTHENTICATED}  # noqa: RUF012 - Strawberry's declared class attribute

    async def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        return await info.context.principal() is not None


class SecondFactorInPlace(BasePermission):
    """Under SECOND_FACTOR_POLICY=required, an account without a second factor may only sign
    out, read who it is and set one up: everything else is refused with SECOND_FACTOR_REQUIRED."""

    message = "Set up an authenticator app first: this service requires two-step sign-in."
    error_extensions = {"code": "SECOND_FACTOR_REQUIRED"}  # noqa: RUF012 - Strawberry's declared class attribute

    async def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        principal = await info.context.signed_in()
        return await info.context.services.second_factors.satisfies_policy(principal)


SIGNED_IN: list[type[BasePermission]] = [IsAuthenticated]
"""Any live session: signing out, who am I, and setting up a second factor."""
SIGNED_IN_AS_REQUIRED: list[type[BasePermission]] = [IsAuthenticated, SecondFactorInPlace]
"""A live session of an account that meets the second-factor policy: everything else."""
