"""Sign in with Apple: OpenID Connect with three differences.

- The callback is a form POST (``response_mode=form_post``, which Apple requires when the
  ``name`` or ``email`` scope is asked for); on a person's first sign-in it carries ``user``,
  a JSON object with the name, which nothing signs: it is taken for a new account's name only.
- The client secret is a JWT the gateway signs itself (ES256, with the key Apple gave the team:
  header ``kid`` the key's id; ``iss`` the team id, ``sub`` the client id (the Services ID),
  ``aud`` Apple's issuer), minted for each token request and valid for a few minutes; it goes in
  the body of the token request (``client_secret_post``, the one method Apple offers).
- ``email_verified`` (and ``is_private_email``) may be the JSON string ``"true"``.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, ClassVar

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from domain.entities import ProviderAssertion, ProviderTraits
from oidc.openid_connect import OpenIdConnectProvider, text_claim

if TYPE_CHECKING:
    import httpx2

    from oidc.config import ProviderConfig

CLIENT_SECRET_LIFETIME_SECONDS = 300  # Apple allows six months; one token request needs a moment


class ApplePrivateKeyError(ValueError):
    """The configured key is not an EC P-256 private key (the message never holds the key)."""


def apple_private_key(pem: str) -> ECKey:
    """The team's key from its .p8 PEM, or ``ApplePrivateKeyError``."""
    try:
        key = ECKey.import_key(pem)
    except (JoseError, ValueError, TypeError):
        raise ApplePrivateKeyError("the Apple private key is not a PEM EC private key (.p8)") from None
    if key.curve_name != "P-256" or not key.is_private:
        raise ApplePrivateKeyError("the Apple private key must be an EC P-256 private key (.p8)")
    return key


class AppleProvider(OpenIdConnectProvider):
    traits: ClassVar[ProviderTraits] = ProviderTraits(form_post=True)
    token_endpoint_auth_method: ClassVar[str] = "client_secret_post"  # noqa: S105 - a method's name

    def __init__(self, config: ProviderConfig, callback_url: str, timeout: httpx2.Timeout) -> None:
        super().__init__(config, callback_url, timeout)
        self._key = apple_private_key(config.apple_private_key)

    def authorization_parameters(self) -> dict[str, str]:
        return {"response_mode": "form_post"}

    def client_secret(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self.config.apple_team_id,
            "sub": self.config.client_id,
            "aud": self.config.issuer,  # https://appleid.apple.com
            "iat": now,
            "exp": now + CLIENT_SECRET_LIFETIME_SECONDS,
        }
        return jwt.encode({"alg": "ES256", "kid": self.config.apple_key_id}, claims, self._key, algorithms=["ES256"])

    def assertion(self, claims: dict[str, Any], posted_user: str | None) -> ProviderAssertion:
        given_name, family_name = _posted_name(posted_user)
        return ProviderAssertion(
            provider=self.config.id,
            subject=claims["sub"],
            email=text_claim(claims, "email", 320),
            email_verified=claims.get("email_verified") in (True, "true"),
            nonce=text_claim(claims, "nonce", 512),
            given_name=given_name,
            family_name=family_name,
        )


def _posted_name(posted_user: str | None) -> tuple[str | None, str | None]:
    """``{"name": {"firstName": …, "lastName": …}, "email": …}``, as Apple posts it once."""
    try:
        user = json.loads(posted_user) if posted_user else None
    except ValueError:
        return None, None
    name = user.get("name") if isinstance(user, dict) else None
    if not isinstance(name, dict):
        return None, None
    return text_claim(name, "firstName"), text_claim(name, "lastName")
