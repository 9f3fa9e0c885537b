"""OpenID Connect providers found by discovery (``domain.ports.IdentityProviders``).

authlib's OAuth 2.0 client, on its httpx integration (httpx2), makes the authorization URL
(code flow, PKCE S256) and exchanges the code; joserfc checks the ID token against the
provider's JWK Set. Discovery documents and JWK Sets are cached; every request has a
timeout, and nothing blocks the event loop. Client secrets are never logged nor raised.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from joserfc import jwt
from joserfc.errors import ClaimError, JoseError
from joserfc.jwk import KeySet

from domain.entities import ProviderAssertion, SignInProvider
from domain.errors import ProviderRefused, ProviderUnavailable

if TYPE_CHECKING:
    from collections.abc import Sequence

DISCOVERY_PATH = "/.well-known/openid-configuration"
METADATA_LIFETIME_SECONDS = 3600.0  # discovery documents and JWK Sets; an unknown key id refetches the set
JWKS_REFETCH_AFTER_SECONDS = 30.0  # at most one refetch for an unknown key id in this long
CLOCK_LEEWAY_SECONDS = 60  # for exp and a future iat: the provider's clock and ours may differ a little
ID_TOKEN_MAX_AGE_SECONDS = 600  # an ID token issued longer ago than this is not one just minted for us
# Asymmetric signatures only: never "none", and no HMAC with the client secret.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
SUBJECT_MAX_LENGTH = 255


@dataclass(frozen=True)
class ProviderConfig:
    """One provider as the operator set it up (``OIDC_PROVIDERS``)."""

    id: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    display_name: str = ""  # the id when empty
    auto_link_verified_email: bool = False
    # other client ids (a native app's own) that an ID token given to signInWithIdToken may be for
    id_token_audiences: tuple[str, ...] = ()


@dataclass
class _Cached:
    value: dict[str, Any]
    fetched_at: float


class OpenIdProviders:
    """The providers of ``configs``; the provider redirects back to ``callback_url`` with the
    provider's id in place of ``{provider}``."""

    def __init__(self, configs: Sequence[ProviderConfig], callback_url: str, timeout_seconds: float = 5.0) -> None:
        self._configs = {config.id: config for config in configs}
        self._callback_url = callback_url
        self._timeout = httpx2.Timeout(timeout_seconds)
        self._metadata: dict[str, _Cached] = {}
        self._jwks: dict[str, _Cached] = {}

    def known(self, provider: str) -> bool:
        return provider in self._configs

    def listed(self) -> tuple[SignInProvider, ...]:
        return tuple(SignInProvider(config.id, config.display_name or config.id) for config in self._configs.values())

    def links_verified_email(self, provider: str) -> bool:
        config = self._configs.get(provider)
        return config is not None and config.auto_link_verified_email

    async def authorization_url(self, provider: str, state: str, nonce: str, code_verifier: str) -> str:
        config = self._configs[provider]
        async with self._client(config) as client:
            metadata = await self._discovered(client, config)
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"], state=state, code_verifier=code_verifier, nonce=nonce
            )
        return str(url)

    async def redeem(self, provider: str, code: str, code_verifier: str) -> ProviderAssertion:
        config = self._configs[provider]
        async with self._client(config) as client:
            metadata = await self._discovered(client, config)
            try:
                token = await client.fetch_token(
                    metadata["token_endpoint"], grant_type="authorization_code", code=code, code_verifier=code_verifier
                )
            except OAuthError as refusal:
                raise ProviderRefused(f"token:{str(refusal.error)[:40]}") from None
            except (httpx2.HTTPError, ValueError):
                raise ProviderUnavailable from None
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise ProviderRefused("no_id_token")
            claims = await self._checked_claims(client, config, metadata, id_token, (config.client_id,))
        return _assertion(provider, claims)

    async def verify_id_token(self, provider: str, id_token: str) -> ProviderAssertion:
        config = self._configs[provider]
        async with self._client(config) as client:
            metadata = await self._discovered(client, config)
            audiences = (config.client_id, *config.id_token_audiences)
            return _assertion(provider, await self._checked_claims(client, config, metadata, id_token, audiences))

    def _client(self, config: ProviderConfig) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=config.client_id,
            client_secret=config.client_secret,
            scope=" ".join(config.scopes),
            redirect_uri=self._callback_url.format(provider=config.id),
            code_challenge_method="S256",
            timeout=self._timeout,
            follow_redirects=False,
        )

    async def _discovered(self, client: AsyncOAuth2Client, config: ProviderConfig) -> dict[str, Any]:
        cached = self._metadata.get(config.id)
        if cached is not None and time.monotonic() - cached.fetched_at < METADATA_LIFETIME_SECONDS:
            return cached.value
        metadata = await _get_json(client, config.issuer.rstrip("/") + DISCOVERY_PATH)
        # OpenID Connect Discovery 1.0, 4.3: the document's issuer is exactly the one configured.
        endpoints = ("authorization_endpoint", "token_endpoint", "jwks_uri")
        if metadata.get("issuer") != config.issuer or not all(isinstance(metadata.get(e), str) for e in endpoints):
            raise ProviderUnavailable
        self._metadata[config.id] = _Cached(metadata, time.monotonic())
        return metadata

    async def _key_set(self, client: AsyncOAuth2Client, config: ProviderConfig, jwks_uri: str, fresh: bool) -> KeySet:
        cached = self._jwks.get(config.id)
        age = time.monotonic() - cached.fetched_at if cached is not None else METADATA_LIFETIME_SECONDS
        if cached is None or age >= METADATA_LIFETIME_SECONDS or (fresh and age >= JWKS_REFETCH_AFTER_SECONDS):
            cached = _Cached(await _get_json(client, jwks_uri), time.monotonic())
            self._jwks[config.id] = cached
        try:
            return KeySet.import_key_set(cached.value)  # type: ignore[arg-type]  # checked by joserfc itself
        except (JoseError, ValueError, TypeError, KeyError):
            raise ProviderUnavailable from None

    async def _checked_claims(
        self,
        client: AsyncOAuth2Client,
        config: ProviderConfig,
        metadata: dict[str, Any],
        id_token: str,
        audiences: tuple[str, ...],
    ) -> dict[str, Any]:
        """The claims of ``id_token`` once every check passed; ``audiences`` are the client ids it
        may be for (``aud``) and by (``azp``): ours, and for a native app's token its own."""
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [alg for alg in SIGNING_ALGORITHMS if isinstance(offered, list) and alg in offered]
        if not algorithms:
            raise ProviderRefused("id_token:alg")
        try:
            token = jwt.decode(id_token, await self._key_set(client, config, metadata["jwks_uri"], False), algorithms)
        except JoseError:
            # A key the cached set lacks (the provider rotated its keys): fetch the set again, once.
            try:
                keys = await self._key_set(client, config, metadata["jwks_uri"], True)
                token = jwt.decode(id_token, keys, algorithms)
            except (JoseError, ValueError):
                raise ProviderRefused("id_token:signature") from None
        except ValueError:
            raise ProviderRefused("id_token:malformed") from None
        claims = token.claims
        now = int(time.time())
        registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "values": list(audiences)},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except ClaimError as failure:
            raise ProviderRefused(f"id_token:{failure.claim}") from None
        except JoseError:
            raise ProviderRefused("id_token:claims") from None
        named = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        # OpenID Connect Core 1.0, 3.1.3.7: azp, when present, is our client id (or one of our
        # native apps'); an ID token for several audiences must say which of them it was issued to.
        if claims.get("azp", config.client_id) not in audiences or (len(named) > 1 and "azp" not in claims):
            raise ProviderRefused("id_token:azp")
        if not isinstance(claims["iat"], int | float) or claims["iat"] < now - ID_TOKEN_MAX_AGE_SECONDS:
            raise ProviderRefused("id_token:iat")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject or len(subject) > SUBJECT_MAX_LENGTH:
            raise ProviderRefused("id_token:sub")
        return claims


def _assertion(provider: str, claims: dict[str, Any]) -> ProviderAssertion:
    email, nonce = claims.get("email"), claims.get("nonce")
    return ProviderAssertion(
        provider=provider,
        subject=claims["sub"],
        email=email if isinstance(email, str) else None,
        email_verified=claims.get("email_verified") is True,
        nonce=nonce if isinstance(nonce, str) else None,
        # the last moment the checks above would pass it: a replay must be refused until then
        expires_at=datetime.fromtimestamp(
            min(claims["exp"] + CLOCK_LEEWAY_SECONDS, claims["iat"] + ID_TOKEN_MAX_AGE_SECONDS), UTC
        ),
    )


async def _get_json(client: AsyncOAuth2Client, url: str) -> dict[str, Any]:
    try:
        # withhold_token: these are public documents, fetched before there is any token
        response = await client.request("GET", url, withhold_token=True, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
    except (httpx2.HTTPError, ValueError):
        raise ProviderUnavailable from None
    if not isinstance(document, dict):
        raise ProviderUnavailable
    return document
