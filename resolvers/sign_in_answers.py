"""The answer of every operation that signs in: the session, or the second step's ticket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.entities import MfaRequired as SecondStep
from resolvers.types import AuthPayload, MfaRequired

if TYPE_CHECKING:
    from domain.entities import SignedIn
    from resolvers.context import Context


def signed_in_answer(context: Context, signed_in: SignedIn | SecondStep) -> AuthPayload | MfaRequired:
    """``AuthPayload`` (the refresh token delivered as the client's transport wants it), or
    ``MfaRequired`` when the account's second factor must finish the sign-in."""
    if isinstance(signed_in, SecondStep):
        return MfaRequired.from_domain(signed_in)
    return AuthPayload.from_domain(signed_in, context.deliver_refresh_token(signed_in))
