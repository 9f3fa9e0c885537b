"""The providers the operator set up (``domain.ports.IdentityProviders``): the generic OpenID
Connect provider found by discovery, and the presets (Google, Microsoft, Apple, GitHub), each
an adapter of its own kind (``oidc.openid_connect``, ``oidc.microsoft``, ``oidc.apple``,
``oidc.github``). Client secrets and keys are never logged nor raised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

import httpx2

from domain.entities import SignInProvider
from oidc.apple import AppleProvider
from oidc.config import ProviderConfig
from oidc.github import GitHubProvider
from oidc.http import shared_tls
from oidc.microsoft import MicrosoftProvider
from oidc.openid_connect import GoogleProvider, OpenIdConnectProvider

if TYPE_CHECKING:
    from collections.abc import Sequence

    from domain.entities import ProviderAssertion, ProviderTraits

__all__ = ["OpenIdProviders", "ProviderConfig"]


class _Provider(Protocol):
    config: ProviderConfig
    traits: ClassVar[ProviderTraits]

    async def authorization_url(self, state: str, nonce: str, code_verifier: str) -> str: ...

    async def redeem(self, code: str, code_verifier: str, posted_user: str | None) -> ProviderAssertion: ...

    async def verify_id_token(self, id_token: str) -> ProviderAssertion: ...


_KINDS: dict[str, type[OpenIdConnectProvider] | type[GitHubProvider]] = {
    "oidc": OpenIdConnectProvider,
    "google": GoogleProvider,
    "microsoft": MicrosoftProvider,
    "apple": AppleProvider,
    "github": GitHubProvider,
}


class OpenIdProviders:
    """The providers of ``configs``; the provider redirects back to ``callback_url`` with the
    provider's id in place of ``{provider}``.

    Raises:
        ValueError: a provider's kind is unknown, or its Apple key is not one (at start).
    """

    def __init__(self, configs: Sequence[ProviderConfig], callback_url: str, timeout_seconds: float = 5.0) -> None:
        timeout = httpx2.Timeout(timeout_seconds)
        if configs:
            shared_tls()  # made now, at start, rather than in the first sign-in
        self._providers: dict[str, _Provider] = {}
        for config in configs:
            try:
                self._providers[config.id] = _KINDS[config.kind](config, callback_url, timeout)
            except (KeyError, ValueError) as problem:
                raise ValueError(f"OIDC_PROVIDERS[{config.id}]: {problem}") from None

    def known(self, provider: str) -> bool:
        return provider in self._providers

    def listed(self) -> tuple[SignInProvider, ...]:
        return tuple(
            SignInProvider(each.config.id, each.config.display_name or each.config.id)
            for each in self._providers.values()
        )

    def links_verified_email(self, provider: str) -> bool:
        known = self._providers.get(provider)
        return known is not None and known.config.auto_link_verified_email

    def traits(self, provider: str) -> ProviderTraits:
        known = self._providers.get(provider)
        return known.traits if known is not None else OpenIdConnectProvider.traits

    async def authorization_url(self, provider: str, state: str, nonce: str, code_verifier: str) -> str:
        return await self._providers[provider].authorization_url(state, nonce, code_verifier)

    async def redeem(
        self, provider: str, code: str, code_verifier: str, posted_user: str | None = None
    ) -> ProviderAssertion:
        return await self._providers[provider].redeem(code, code_verifier, posted_user)

    async def verify_id_token(self, provider: str, id_token: str) -> ProviderAssertion:
        return await self._providers[provider].verify_id_token(id_token)
