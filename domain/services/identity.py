from __future__ import annotations

from typing import TYPE_CHECKING

from domain.errors import InvalidAccessToken

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.entities import AccessClaims, User
    from domain.ports import Clock, UnitOfWork
    from domain.tokens import AccessTokenCodec


class IdentityService:
    """Answers "who is calling?" from an access token."""

    def __init__(self, uow: Callable[[], UnitOfWork], access_tokens: AccessTokenCodec, clock: Clock) -> None:
        self._uow = uow
        self._access_tokens = access_tokens
        self._clock = clock

    def read_access_token(self, token: str) -> AccessClaims:
        """Verify the token's signature and claims; no database involved.

        Raises:
            InvalidAccessToken: malformed, forged, expired or not an access token.
        """
        return self._access_tokens.decode(token, self._clock.now())

    async def current_user(self, claims: AccessClaims) -> User:
        """The account the token speaks for.

        Raises:
            InvalidAccessToken: the account no longer exists.
        """
        async with self._uow() as uow:
            user = await uow.users.get(claims.user_id)
        if user is None:
            raise InvalidAccessToken
        return user
