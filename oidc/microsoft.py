"""Microsoft Entra ID: OpenID Connect at ``{authority}/{tenant}/v2.0``, with a multi-tenant
issuer and an address nobody vouches for.

With ``common``, ``organizations`` (or ``consumers``), discovery's ``issuer`` is the template
``{authority}/{tenantid}/v2.0``: an ID token's ``iss`` must be that template with the token's
own ``tid`` in place of ``{tenantid}``, and the ``tid`` one of the allowed tenants when the
operator lists them. A single tenant's discovery names the tenant's id, and its tokens that
issuer exactly.

The subject is ``sub``: pairwise (one value per person and application), present in every
ID token, personal accounts' too, and never reassigned. ``oid`` + ``tid`` would also be stable,
but it is the same for every application of the tenant, so it would let two applications
correlate a person, which ``sub`` avoids (docs/providers.md).

``email`` is whatever the tenant's administrators wrote in the account (Entra ID does not
prove it): it counts as verified only when the operator says so (``trust_email``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from domain.entities import ProviderAssertion
from domain.errors import ProviderRefused
from oidc.openid_connect import OpenIdConnectProvider, text_claim

if TYPE_CHECKING:
    import httpx2

    from oidc.config import ProviderConfig

TENANT_PLACEHOLDER = "{tenantid}"
_TENANT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class MicrosoftProvider(OpenIdConnectProvider):
    def __init__(self, config: ProviderConfig, callback_url: str, timeout: httpx2.Timeout) -> None:
        super().__init__(config, callback_url, timeout)
        # the authority's part of the issuer: https://login.microsoftonline.com/
        parts = urlsplit(config.issuer)
        self._authority = f"{parts.scheme}://{parts.netloc}/"
        tenant = parts.path.strip("/").split("/", 1)[0]
        self._tenant_id = tenant if _TENANT_ID.match(tenant) else None  # configured by its id

    def discovered_issuer_fits(self, issuer: object) -> bool:
        """``{authority}/{tenantid}/v2.0`` (the template) or ``{authority}/<a tenant id>/v2.0``,
        at the configured authority; the configured tenant's own when it is configured by id."""
        if not isinstance(issuer, str) or not issuer.startswith(self._authority) or not issuer.endswith("/v2.0"):
            return False
        tenant = issuer.removeprefix(self._authority).removesuffix("/v2.0")
        if self._tenant_id is not None:
            return tenant == self._tenant_id
        return tenant == TENANT_PLACEHOLDER or bool(_TENANT_ID.match(tenant))

    def issuers(self, claims: dict[str, Any], metadata: dict[str, Any]) -> list[str]:
        tenant = claims.get("tid")
        if not isinstance(tenant, str) or not _TENANT_ID.match(tenant):
            raise ProviderRefused("id_token:tid")
        if self.config.allowed_tenants and tenant not in self.config.allowed_tenants:
            raise ProviderRefused("tenant")
        issuer: str = metadata["issuer"]
        return [issuer.replace(TENANT_PLACEHOLDER, tenant)]

    def assertion(self, claims: dict[str, Any], posted_user: str | None) -> ProviderAssertion:
        email = text_claim(claims, "email", 320)
        return ProviderAssertion(
            provider=self.config.id,
            subject=claims["sub"],
            email=email,
            email_verified=self.config.trust_email and email is not None,
            nonce=text_claim(claims, "nonce", 512),
            given_name=text_claim(claims, "given_name"),
            family_name=text_claim(claims, "family_name"),
        )
