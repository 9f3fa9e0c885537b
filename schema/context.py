"""The per-request GraphQL context, and the services it carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.entities import Client
from domain.errors import InvalidAccessToken
from schema.errors import unauthenticated

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from domain.entities import AccessClaims, User
    from domain.services.identity import IdentityService
    from domain.services.login import LoginService
    from domain.services.refresh import RefreshService
    from domain.services.registration import RegistrationService
    from domain.services.throttle import Throttle
    from domain.services.verification import VerificationService


@dataclass(frozen=True)
class Services:
    """Built once by ``server.py`` with real adapters; tests may build it with fakes."""

    registration: RegistrationService
    verification: VerificationService
    login: LoginService
    refresh: RefreshService
    identity: IdentityService
    throttle: Throttle


class Context:
    """What every resolver gets as ``info.context``.

    The bearer token is read at most once, and only when a resolver asks: a
    request that does not need the caller's identity pays nothing for it. Like
    Starlette's authentication backends, a missing credential is "anonymous"
    (``None``) and a bad one is an error.
    """

    def __init__(self, request: Request, response: Response, services: Services, request_id: str) -> None:
        self.request = request
        self.response = response
        self.services = services
        self.request_id = request_id
        self._token_read = False
        self._claims: AccessClaims | None = None
        self._token_invalid = False

    @property
    def client(self) -> Client:
        """The caller's address (the proxy's X-Forwarded-For only from TRUSTED_PROXIES) and user agent."""
        peer = self.request.client
        return Client(ip=peer.host if peer else None, user_agent=self.request.headers.get("user-agent"))

    def access_claims(self) -> AccessClaims | None:
        """The verified claims of the bearer token, ``None`` without one.

        Raises:
            GraphQLError: UNAUTHENTICATED, for a malformed, expired or forged token.
        """
        if not self._token_read:
            self._token_read = True
            try:
                self._claims = self._read_bearer_token()
            except InvalidAccessToken:
                self._token_invalid = True
        if self._token_invalid:
            raise unauthenticated()
        return self._claims

    async def current_user(self) -> User | None:
        claims = self.access_claims()
        if claims is None:
            return None
        try:
            return await self.services.identity.current_user(claims)
        except InvalidAccessToken:
            raise unauthenticated() from None

    def _read_bearer_token(self) -> AccessClaims | None:
        header = self.request.headers.get("authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise InvalidAccessToken
        return self.services.identity.read_access_token(token)
