"""The per-request GraphQL context, and the services it carries."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from domain.errors import InvalidAccessToken
from resolvers.unauthenticated import unauthenticated

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from domain.entities import AccessClaims, Client, Principal, SignedIn, User
    from domain.services import Services


class RefreshTokenCarrier(Protocol):
    """How refresh tokens travel between the gateway and the browser (``web.transport``)."""

    def deliver(self, response: Response, refresh_token: str, lifetime_seconds: int) -> str | None:
        """Set the cookie if configured; return what the body's ``refreshToken`` field carries."""
        ...

    def read(self, request: Request) -> str | None: ...

    def clear(self, response: Response) -> None: ...


class BrowserBinding(Protocol):
    """The cookie that binds a provider sign-in to the browser that began it (``web.provider_callback``)."""

    def set(self, response: Response, value: str, max_age: int, *, cross_site: bool = False) -> None: ...

    def read(self, request: Request, *, cross_site: bool = False) -> str | None: ...


class Context:
    """What every resolver gets as ``info.context``.

    The bearer token is read at most once, and only when a resolver asks: a
    request that does not need the caller's identity pays nothing for it. Like
    Starlette's authentication backends, a missing credential is "anonymous"
    (``None``) and a bad one is an error. graphql-core resolves a document's
    fields concurrently, so the session check is one task that every field of the
    request awaits: ``{ me { id } sessions { id } }`` checks it once, and both
    fields get its outcome.
    """

    def __init__(
        self,
        request: Request,
        response: Response,
        services: Services,
        request_id: str,
        transport: RefreshTokenCarrier,
        client: Client,
        binding: BrowserBinding | None = None,
    ) -> None:
        # ``client``: the caller's address (X-Forwarded-For only from TRUSTED_PROXIES; an address
        # that is not an IP address is unknown) and user agent, for limits and the audit log
        self.client = client
        self.request = request
        self.response = response
        self.services = services
        self.request_id = request_id
        self.transport = transport
        self.binding = binding
        self._token_read = False
        self._claims: AccessClaims | None = None
        self._token_invalid = False
        self._session_check: asyncio.Future[Principal] | None = None

    def deliver_refresh_token(self, signed_in: SignedIn) -> str | None:
        """Hand the new refresh token over as configured: the cookie, and the body's value or ``None``."""
        return self.transport.deliver(self.response, signed_in.refresh_token, signed_in.refresh_expires_in)

    def refresh_token_cookie(self) -> str | None:
        """The refresh token in the request's cookie (cookie transport only)."""
        return self.transport.read(self.request)

    def forget_refresh_token(self) -> None:
        """Clear the refresh cookie in the browser (cookie transport only)."""
        self.transport.clear(self.response)

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

    async def principal(self) -> Principal | None:
        """Who the bearer token speaks for, ``None`` without one; checked once per request.

        Raises:
            GraphQLError: UNAUTHENTICATED, for a bad token or a session that has ended.
        """
        if self._session_check is None:
            claims = self.access_claims()
            if claims is None:
                return None
            self._session_check = asyncio.ensure_future(self.services.identity.authenticate(claims))
        try:
            # Shielded: a field cancelled while it waits (a sibling's error ended the
            # request) must not cancel the check that the other fields are waiting for.
            return await asyncio.shield(self._session_check)
        except InvalidAccessToken:
            raise unauthenticated() from None

    async def signed_in(self) -> Principal:
        """The caller, for operations that need one (``IsAuthenticated`` has checked there is).

        Raises:
            GraphQLError: UNAUTHENTICATED.
        """
        principal = await self.principal()
        if principal is None:
            raise unauthenticated()
        return principal

    async def current_user(self) -> User | None:
        principal = await self.principal()
        return principal.user if principal else None

    def _read_bearer_token(self) -> AccessClaims | None:
        token = bearer_token(self.request.headers.get("authorization"))
        return None if token is None else self.services.identity.read_access_token(token)


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header; ``None`` without the header.

    Raises:
        InvalidAccessToken: another scheme, or no token after it.
    """
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise InvalidAccessToken
    return token
