"""The rules of the provider presets that need no provider to test: which issuers a Google or
Microsoft ID token may name, and what of Apple's unsigned ``user`` is taken."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from domain.errors import ProviderRefused
from oidc.apple import AppleProvider, apple_private_key
from oidc.config import ProviderConfig
from oidc.microsoft import MicrosoftProvider
from oidc.openid_connect import GoogleProvider

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
TIMEOUT = httpx2.Timeout(1.0)
CALLBACK = "https://auth.example.com/oauth/callback/{provider}"


def config(kind: str, issuer: str, **more: Any) -> ProviderConfig:
    return ProviderConfig(id=kind, issuer=issuer, client_id="c", client_secret="s", kind=kind, **more)


def test_a_google_id_token_may_name_the_issuer_without_its_scheme() -> None:
    google = GoogleProvider(config("google", "https://accounts.google.com"), CALLBACK, TIMEOUT)
    assert google.issuers({}, {}) == ["https://accounts.google.com", "accounts.google.com"]
    elsewhere = GoogleProvider(config("google", "http://127.0.0.1:9000"), CALLBACK, TIMEOUT)
    assert elsewhere.issuers({}, {}) == ["http://127.0.0.1:9000"]


@pytest.mark.parametrize(
    ("tenant", "discovered", "fits"),
    [
        ("common", "https://login.microsoftonline.com/{tenantid}/v2.0", True),
        ("organizations", f"https://login.microsoftonline.com/{TENANT}/v2.0", True),
        ("common", "https://login.example.com/{tenantid}/v2.0", False),  # another authority
        ("common", "https://login.microsoftonline.com/{tenantid}/v1.0", False),
        ("common", "https://login.microsoftonline.com/not-a-tenant/v2.0", False),
        (TENANT, f"https://login.microsoftonline.com/{TENANT}/v2.0", True),
        (TENANT, f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0", False),
        (TENANT, "https://login.microsoftonline.com/{tenantid}/v2.0", False),
        ("contoso.onmicrosoft.com", f"https://login.microsoftonline.com/{TENANT}/v2.0", True),
    ],
)
def test_microsoft_discovery_names_its_own_issuer(tenant: str, discovered: str, fits: bool) -> None:
    issuer = f"https://login.microsoftonline.com/{tenant}/v2.0"
    microsoft = MicrosoftProvider(config("microsoft", issuer), CALLBACK, TIMEOUT)
    assert microsoft.discovered_issuer_fits(discovered) is fits


def test_a_microsoft_token_names_its_own_tenant_as_issuer() -> None:
    common = "https://login.microsoftonline.com/common/v2.0"
    template = {"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0"}
    microsoft = MicrosoftProvider(config("microsoft", common), CALLBACK, TIMEOUT)
    assert microsoft.issuers({"tid": TENANT}, template) == [f"https://login.microsoftonline.com/{TENANT}/v2.0"]
    for tid in (None, "", "{tenantid}", "../x", 7):
        with pytest.raises(ProviderRefused, match="id_token:tid"):
            microsoft.issuers({"tid": tid}, template)
    allowed = MicrosoftProvider(config("microsoft", common, allowed_tenants=(TENANT,)), CALLBACK, TIMEOUT)
    with pytest.raises(ProviderRefused, match="tenant"):
        allowed.issuers({"tid": OTHER_TENANT}, template)


@pytest.mark.parametrize(
    ("posted", "name"),
    [
        (
            json.dumps({"name": {"firstName": "Ada", "lastName": "Lovelace"}, "email": "a@example.com"}),
            ("Ada", "Lovelace"),
        ),
        (json.dumps({"name": {"firstName": "Ada"}}), ("Ada", None)),
        (json.dumps({"name": {"firstName": 7, "lastName": ["x"]}}), (None, None)),
        (json.dumps({"name": {"firstName": "x" * 500}}), (None, None)),
        (json.dumps({"name": "Ada Lovelace"}), (None, None)),
        (json.dumps(["Ada"]), (None, None)),
        ("{not json", (None, None)),
        (None, (None, None)),
    ],
)
def test_apple_takes_only_a_name_from_what_it_posts(posted: str | None, name: tuple[str | None, str | None]) -> None:
    from joserfc.jwk import ECKey

    pem = ECKey.generate_key("P-256").as_pem(private=True).decode()
    apple = AppleProvider(
        config("apple", "https://appleid.apple.com", apple_team_id="T", apple_key_id="K", apple_private_key=pem),
        CALLBACK,
        TIMEOUT,
    )
    claims = {"sub": "001.apple", "email": "a@example.com", "email_verified": "true"}
    assertion = apple.assertion(claims, posted)
    assert (assertion.given_name, assertion.family_name) == name
    assert assertion.email_verified
    assert apple.assertion({**claims, "email_verified": "false"}, None).email_verified is False


def test_an_apple_key_must_be_a_p256_private_key() -> None:
    from joserfc.jwk import ECKey

    for wrong in (
        ECKey.generate_key("P-384").as_pem(private=True).decode(),
        ECKey.generate_key("P-256").as_pem(private=False).decode(),
        "not a key",
    ):
        with pytest.raises(ValueError, match="Apple private key"):
            apple_private_key(wrong)
