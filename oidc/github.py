"""GitHub: OAuth 2.0 without ID tokens. The code (state and PKCE S256, no nonce) is exchanged
at ``/login/oauth/access_token`` (asking for JSON), and the person is read from the REST API:
``/user`` (the subject is the numeric ``id``; a login can be renamed and taken by someone else)
and ``/user/emails`` (the primary address, verified only when GitHub says it is).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client

from domain.entities import ProviderAssertion, ProviderTraits
from domain.errors import ProviderRefused, ProviderUnavailable
from oidc.http import get_json, shared_tls
from oidc.openid_connect import fetch_token

if TYPE_CHECKING:
    from oidc.config import ProviderConfig

API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


class GitHubProvider:
    traits: ClassVar[ProviderTraits] = ProviderTraits(id_token=False)

    def __init__(self, config: ProviderConfig, callback_url: str, timeout: httpx2.Timeout) -> None:
        self.config = config
        self._callback_url = callback_url
        self._timeout = timeout
        base = config.issuer.rstrip("/")
        self._authorize_endpoint = f"{base}/login/oauth/authorize"
        self._token_endpoint = f"{base}/login/oauth/access_token"
        self._api = config.api_url.rstrip("/")

    async def authorization_url(self, state: str, nonce: str, code_verifier: str) -> str:
        async with self._client() as client:  # GitHub is not asked: nothing to discover
            url, _ = client.create_authorization_url(self._authorize_endpoint, state=state, code_verifier=code_verifier)
        return str(url)

    async def verify_id_token(self, id_token: str) -> ProviderAssertion:
        """GitHub issues no ID tokens: whatever a client calls one is refused."""
        raise ProviderRefused("id_token:unsupported")

    async def redeem(self, code: str, code_verifier: str, posted_user: str | None) -> ProviderAssertion:
        async with self._client() as client:
            token = await fetch_token(client, self._token_endpoint, code, code_verifier)
            if not isinstance(token.get("access_token"), str):
                raise ProviderUnavailable
            user = await get_json(client, f"{self._api}/user", with_token=True, headers=API_HEADERS)
            emails = await self._emails(client)
        subject = user.get("id") if isinstance(user, dict) else None
        if not isinstance(subject, int) or isinstance(subject, bool) or subject <= 0:
            raise ProviderRefused("user:id")
        primary = next((item for item in emails if isinstance(item, dict) and item.get("primary") is True), None)
        email = primary.get("email") if primary is not None else None
        return ProviderAssertion(
            provider=self.config.id,
            subject=str(subject),
            email=email if isinstance(email, str) and len(email) <= 320 else None,
            email_verified=primary is not None and primary.get("verified") is True,
            nonce=None,
        )

    async def _emails(self, client: AsyncOAuth2Client) -> list[Any]:
        """The account's addresses; none when the token may not read them (no ``user:email`` scope)."""
        try:
            response = await client.request("GET", f"{self._api}/user/emails", headers=API_HEADERS)
            if response.status_code in (403, 404):
                return []
            response.raise_for_status()
            emails = response.json()
        except (httpx2.HTTPError, ValueError):
            raise ProviderUnavailable from None
        if not isinstance(emails, list):
            raise ProviderUnavailable
        return emails

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            scope=" ".join(self.config.scopes),
            redirect_uri=self._callback_url.format(provider=self.config.id),
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method's name: as GitHub documents it
            timeout=self._timeout,
            follow_redirects=False,
            verify=shared_tls(),
        )
