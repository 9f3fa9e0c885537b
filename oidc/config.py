"""One provider as the operator set it up (``OIDC_PROVIDERS``), whatever its kind."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProviderConfig:
    """A provider of ``OIDC_PROVIDERS``: the generic OpenID Connect one (``kind="oidc"``) or a
    preset (google, microsoft, apple, github). ``issuer`` is where discovery is found; for
    Microsoft the authority and tenant's (``{authority}/{tenant}/v2.0``), for GitHub the base URL
    of its authorization and token endpoints."""

    id: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    display_name: str = ""  # the id when empty
    auto_link_verified_email: bool = False
    kind: str = "oidc"
    # the kinds with ID tokens: other client ids (a native app's own) that an ID token given to
    # signInWithIdToken may be for
    id_token_audiences: tuple[str, ...] = ()
    # Microsoft: the tenant ids (tid) allowed to sign in (empty: all), and whether its email is trusted
    allowed_tenants: tuple[str, ...] = ()
    trust_email: bool = False
    # Apple: the key the gateway signs its client secret with (the .p8 PEM), its id and the team's
    apple_team_id: str = ""
    apple_key_id: str = ""
    apple_private_key: str = field(default="", repr=False)
    # GitHub: its REST API
    api_url: str = ""
