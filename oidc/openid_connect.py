"""A provider found by OpenID Connect discovery: the code flow with PKCE S256 and a nonce, and
every check of the ID token. The presets that speak OpenID Connect (Google, Microsoft, Apple)
are this with a few of its steps changed.

authlib's OAuth 2.0 client, on its httpx integration (httpx2), makes the authorization URL and
exchanges the code; joserfc checks the ID token against the provider's JWK Set. Discovery
documents and JWK Sets are cached; every request has a timeout, and nothing blocks the event
loop. Client secrets are never logged nor raised.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from joserfc import jwt
from joserfc.errors import ClaimError, JoseError
from joserfc.jwk import KeySet

from domain.entities import ProviderAssertion, ProviderTraits
from domain.errors import ProviderRefused, ProviderUnavailable
from oidc.http import get_json_object, shared_tls

if TYPE_CHECKING:
    from oidc.config import ProviderConfig

DISCOVERY_PATH = "/.well-known/openid-configuration"
METADATA_LIFETIME_SECONDS = 3600.0  # discovery documents and JWK Sets; an unknown key id refetches the set
JWKS_REFETCH_AFTER_SECONDS = 30.0  # at most one refetch for an unknown key id in this long
CLOCK_LEEWAY_SECONDS = 60  # for exp and a future iat: the provider's clock and ours may differ a little
ID_TOKEN_MAX_AGE_SECONDS = 600  # an ID token issued longer ago than this is not one just minted for us
# Asymmetric signatures only: never "none", and no HMAC with the client secret.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
SUBJECT_MAX_LENGTH = 255
NAME_CLAIM_MAX_LENGTH = 128


@dataclass
class _Cached:
    value: dict[str, Any]
    fetched_at: float


def text_claim(claims: dict[str, Any], name: str, max_length: int = NAME_CLAIM_MAX_LENGTH) -> str | None:
    """A claim that should be a short string: itself, or None when it is anything else."""
    value = claims.get(name)
    return value if isinstance(value, str) and 0 < len(value) <= max_length else None


class OpenIdConnectProvider:
    """One provider found by discovery at ``config.issuer``; it redirects back to ``callback_url``."""

    traits: ClassVar[ProviderTraits] = ProviderTraits()
    token_endpoint_auth_method: ClassVar[str] = "client_secret_basic"  # noqa: S105 - a method's name

    def __init__(self, config: ProviderConfig, callback_url: str, timeout: httpx2.Timeout) -> None:
        self.config = config
        self._callback_url = callback_url
        self._timeout = timeout
        self._metadata: _Cached | None = None
        self._jwks: _Cached | None = None

    async def authorization_url(self, state: str, nonce: str, code_verifier: str) -> str:
        async with self._client() as client:
            metadata = await self._discovered(client)
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"],
                state=state,
                code_verifier=code_verifier,
                nonce=nonce,
                **self.authorization_parameters(),
            )
        return str(url)

    async def redeem(self, code: str, code_verifier: str, posted_user: str | None) -> ProviderAssertion:
        async with self._client() as client:
            metadata = await self._discovered(client)
            token = await fetch_token(client, metadata["token_endpoint"], code, code_verifier)
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise ProviderRefused("no_id_token")
            claims = await self._checked_claims(client, metadata, id_token, (self.config.client_id,))
        return self._asserted(claims, posted_user)

    async def verify_id_token(self, id_token: str) -> ProviderAssertion:
        """An ID token a client got from the provider itself, with the callback's checks;
        ``aud``/``azp`` may also be one of ``id_token_audiences`` (a native app's client id)."""
        async with self._client() as client:
            metadata = await self._discovered(client)
            audiences = (self.config.client_id, *self.config.id_token_audiences)
            claims = await self._checked_claims(client, metadata, id_token, audiences)
        return self._asserted(claims, None)

    # The steps a preset changes.

    def authorization_parameters(self) -> dict[str, str]:
        """More parameters of the authorization URL."""
        return {}

    def client_secret(self) -> str:
        return self.config.client_secret

    def discovered_issuer_fits(self, issuer: object) -> bool:
        """Whether discovery's ``issuer`` is the provider's (Discovery 1.0, 4.3: exactly the configured one)."""
        return issuer == self.config.issuer

    def issuers(self, claims: dict[str, Any], metadata: dict[str, Any]) -> list[str]:
        """The values the ID token's ``iss`` may have."""
        return [self.config.issuer]

    def assertion(self, claims: dict[str, Any], posted_user: str | None) -> ProviderAssertion:
        """What the checked ID token says of the person."""
        return ProviderAssertion(
            provider=self.config.id,
            subject=claims["sub"],
            email=text_claim(claims, "email", 320),
            email_verified=claims.get("email_verified") is True,
            nonce=text_claim(claims, "nonce", 512),
            given_name=text_claim(claims, "given_name"),
            family_name=text_claim(claims, "family_name"),
        )

    # The common part.

    def _asserted(self, claims: dict[str, Any], posted_user: str | None) -> ProviderAssertion:
        # the last moment the checks would pass the token: a replay must be refused until then
        expires_at = datetime.fromtimestamp(
            min(claims["exp"] + CLOCK_LEEWAY_SECONDS, claims["iat"] + ID_TOKEN_MAX_AGE_SECONDS), UTC
        )
        return replace(self.assertion(claims, posted_user), expires_at=expires_at)

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.config.client_id,
            client_secret=self.client_secret(),
            scope=" ".join(self.config.scopes),
            redirect_uri=self._callback_url.format(provider=self.config.id),
            code_challenge_method="S256",
            token_endpoint_auth_method=self.token_endpoint_auth_method,
            timeout=self._timeout,
            follow_redirects=False,
            verify=shared_tls(),
        )

    async def _discovered(self, client: AsyncOAuth2Client) -> dict[str, Any]:
        cached = self._metadata
        if cached is not None and time.monotonic() - cached.fetched_at < METADATA_LIFETIME_SECONDS:
            return cached.value
        metadata = await get_json_object(client, self.config.issuer.rstrip("/") + DISCOVERY_PATH)
        endpoints = ("authorization_endpoint", "token_endpoint", "jwks_uri")
        if not self.discovered_issuer_fits(metadata.get("issuer")) or not all(
            isinstance(metadata.get(e), str) for e in endpoints
        ):
            raise ProviderUnavailable
        self._metadata = _Cached(metadata, time.monotonic())
        return metadata

    async def _key_set(self, client: AsyncOAuth2Client, jwks_uri: str, fresh: bool) -> KeySet:
        cached = self._jwks
        age = time.monotonic() - cached.fetched_at if cached is not None else METADATA_LIFETIME_SECONDS
        if cached is None or age >= METADATA_LIFETIME_SECONDS or (fresh and age >= JWKS_REFETCH_AFTER_SECONDS):
            cached = _Cached(await get_json_object(client, jwks_uri), time.monotonic())
            self._jwks = cached
        try:
            return KeySet.import_key_set(cached.value)  # type: ignore[arg-type]  # checked by joserfc itself
        except (JoseError, ValueError, TypeError, KeyError):
            raise ProviderUnavailable from None

    async def _checked_claims(
        self, client: AsyncOAuth2Client, metadata: dict[str, Any], id_token: str, audiences: tuple[str, ...]
    ) -> dict[str, Any]:
        """The claims of ``id_token`` once every check passed; ``audiences`` are the client ids it
        may be for (``aud``) and by (``azp``): ours, and for a native app's token its own."""
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [alg for alg in SIGNING_ALGORITHMS if isinstance(offered, list) and alg in offered]
        if not algorithms:
            raise ProviderRefused("id_token:alg")
        try:
            token = jwt.decode(id_token, await self._key_set(client, metadata["jwks_uri"], False), algorithms)
        except JoseError:
            # A key the cached set lacks (the provider rotated its keys): fetch the set again, once.
            try:
                keys = await self._key_set(client, metadata["jwks_uri"], True)
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
            iss={"essential": True, "values": self.issuers(claims, metadata)},
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
        if claims.get("azp", self.config.client_id) not in audiences or (len(named) > 1 and "azp" not in claims):
            raise ProviderRefused("id_token:azp")
        if not isinstance(claims["iat"], int | float) or claims["iat"] < now - ID_TOKEN_MAX_AGE_SECONDS:
            raise ProviderRefused("id_token:iat")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject or len(subject) > SUBJECT_MAX_LENGTH:
            raise ProviderRefused("id_token:sub")
        return claims


async def fetch_token(client: AsyncOAuth2Client, endpoint: str, code: str, code_verifier: str) -> dict[str, Any]:
    """The token endpoint's answer to the code (and the PKCE verifier)."""
    try:
        token = await client.fetch_token(
            endpoint, grant_type="authorization_code", code=code, code_verifier=code_verifier
        )
    except OAuthError as refusal:
        raise ProviderRefused(f"token:{str(refusal.error)[:40]}") from None
    except (httpx2.HTTPError, ValueError):
        raise ProviderUnavailable from None
    return dict(token)


class GoogleProvider(OpenIdConnectProvider):
    """Google: plain OpenID Connect, whose ID tokens may name the issuer without its scheme
    (https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken)."""

    def issuers(self, claims: dict[str, Any], metadata: dict[str, Any]) -> list[str]:
        bare = self.config.issuer.removeprefix("https://")
        return [self.config.issuer, bare] if bare != self.config.issuer else [self.config.issuer]
