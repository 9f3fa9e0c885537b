from __future__ import annotations

from typing import TYPE_CHECKING

from domain.entities import Principal
from domain.errors import InvalidAccessToken

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.entities import AccessClaims
    from domain.policy import AuthPolicy
    from domain.ports import AccessTokenCodec, Clock, UnitOfWork


class IdentityService:
    """Answers "who is calling?" from an access token."""

    def __init__(
        self, uow: Callable[[], UnitOfWork], access_tokens: AccessTokenCodec, clock: Clock, policy: AuthPolicy
    ) -> None:
        self._uow = uow
        self._access_tokens = access_tokens
        self._clock = clock
        self._policy = policy

    def read_access_token(self, token: str) -> AccessClaims:
        """Verify the token's signature and claims; no database involved.

        Raises:
            InvalidAccessToken: malformed, forged, expired or not an access token.
        """
        return self._access_tokens.decode(token, self._clock.now())

    def public_keys(self) -> dict[str, list[dict[str, str]]]:
        """The JWK Set of the public keys that verify access tokens (empty for HS256), for services
        that check tokens themselves."""
        return self._access_tokens.public_jwks()

    async def authenticate(self, claims: AccessClaims) -> Principal:
        """The account the token speaks for, if the session it was issued to is still live.

        Checked against the database on every call, not cached: a session ended by
        logout, by a password change or by reuse detection stops its access tokens
        at once, not when they expire.

        Raises:
            InvalidAccessToken: the session has ended, or the account no longer exists.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get_signed_in(
                claims.user_id, claims.session_id, now, used_since=self._policy.idle_cutoff(now)
            )
        if user is None:
            raise InvalidAccessToken
        return Principal(user=user, session_id=claims.session_id)

    @property
    def second_factor_required(self) -> bool:
        """Whether every account must sign in with a second factor (SECOND_FACTOR_POLICY=required)."""
        return self._policy.second_factors == "required"

    def signed_in_within(self, claims: AccessClaims, seconds: int) -> bool:
        """Whether the token's session signed in at most ``seconds`` ago (its ``auth_time``)."""
        if claims.auth_time is None:
            return False
        return self._clock.now().timestamp() - claims.auth_time <= seconds
