"""OIDC_PROVIDERS as the operator writes it: a preset needs little more than its client id and
secret, its URLs can be pointed elsewhere (https, or http on this machine), and what a kind does
not know is refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from settings import Settings

RETURN_URLS = ["https://app.example.com/signed-in"]
APPLE_KEY = {"team_id": "TEAM123456", "key_id": "KEY1234567"}


def providers(**configured: dict[str, Any]) -> dict[str, Any]:
    return Settings(_env_file=None, oidc_providers=configured, oidc_return_urls=RETURN_URLS).oidc_providers


def test_a_preset_needs_only_its_client() -> None:
    configured = providers(
        google={"kind": "google", "client_id": "id.apps.googleusercontent.com", "client_secret": "s"},
        microsoft={"kind": "microsoft", "client_id": "app-id", "client_secret": "s"},
        apple={"kind": "apple", "client_id": "com.example.web", "private_key": "PEM", **APPLE_KEY},
        github={"kind": "github", "client_id": "Iv1.abc", "client_secret": "s"},
    )
    assert [setting.kind for setting in configured.values()] == ["google", "microsoft", "apple", "github"]
    assert configured["google"].issuer == "https://accounts.google.com"
    assert configured["microsoft"].tenant == "common"
    assert configured["apple"].scopes == ["openid", "name", "email"]
    assert configured["github"].scopes == ["read:user", "user:email"]


@pytest.mark.parametrize(
    "setting",
    [
        {"kind": "google", "client_id": "c", "client_secret": "s", "team_id": "TEAM123456"},
        {"kind": "microsoft", "client_id": "c", "client_secret": "s", "issuer": "https://login.example"},
        {"kind": "github", "client_id": "c", "client_secret": "s", "tenant": "common"},
        {"kind": "apple", "client_id": "c", "client_secret": "s", "private_key": "PEM", **APPLE_KEY},
        {"issuer": "https://sso.example.com", "client_id": "c", "client_secret": "s", "allowed_tenants": []},
        {"kind": "facebook", "client_id": "c", "client_secret": "s"},
        # GitHub issues no ID tokens: no native app's client id to accept them for
        {"kind": "github", "client_id": "c", "client_secret": "s", "id_token_audiences": ["app"]},
    ],
    ids=[
        "google-team",
        "microsoft-issuer",
        "github-tenant",
        "apple-secret",
        "oidc-tenants",
        "unknown-kind",
        "github-id-token-audiences",
    ],
)
def test_what_a_kind_does_not_know_is_refused(setting: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        providers(p=setting)


@pytest.mark.parametrize(
    ("kind", "url_key"),
    [("google", "issuer"), ("microsoft", "authority"), ("github", "url"), ("github", "api_url"), ("apple", "issuer")],
)
def test_a_preset_can_be_pointed_elsewhere_over_https_or_on_this_machine(kind: str, url_key: str) -> None:
    setting = {"kind": kind, "client_id": "c", "client_secret": "s"}
    if kind == "apple":
        setting = {"kind": kind, "client_id": "c", "private_key": "PEM", **APPLE_KEY}
    for allowed in ("https://idp.example.com", "http://127.0.0.1:8123"):
        assert getattr(providers(p={**setting, url_key: allowed})["p"], url_key) == allowed
    with pytest.raises(ValidationError, match="must use https"):
        providers(p={**setting, url_key: "http://idp.example.com"})


def test_apple_takes_one_key() -> None:
    with pytest.raises(ValidationError, match="private_key"):
        providers(apple={"kind": "apple", "client_id": "c", **APPLE_KEY})
    with pytest.raises(ValidationError, match="private_key"):
        providers(
            apple={"kind": "apple", "client_id": "c", "private_key": "PEM", "private_key_file": "/k.p8", **APPLE_KEY}
        )


def test_microsoft_allowed_tenants_are_tenant_ids() -> None:
    tenant = "72F988BF-86F1-41AF-91AB-2D7CD011DB47"
    setting = {"kind": "microsoft", "client_id": "c", "client_secret": "s"}
    assert providers(m={**setting, "allowed_tenants": [tenant]})["m"].allowed_tenants == [tenant.lower()]
    with pytest.raises(ValidationError, match="tenant id"):
        providers(m={**setting, "allowed_tenants": ["contoso.onmicrosoft.com"]})


def test_the_kinds_with_id_tokens_take_a_native_apps_client_ids_to_the_adapter() -> None:
    from wiring import provider_config

    apps = ["android-client-id", "ios-client-id"]
    configured = providers(
        sso={"issuer": "https://sso.example.com", "client_id": "c", "client_secret": "s", "id_token_audiences": apps},
        google={"kind": "google", "client_id": "c", "client_secret": "s", "id_token_audiences": apps},
        microsoft={"kind": "microsoft", "client_id": "c", "client_secret": "s", "id_token_audiences": apps},
        apple={"kind": "apple", "client_id": "c", "private_key": "PEM", "id_token_audiences": apps, **APPLE_KEY},
        github={"kind": "github", "client_id": "c", "client_secret": "s"},
    )
    audiences = {
        provider: provider_config(provider, setting).id_token_audiences for provider, setting in configured.items()
    }
    assert audiences == {
        "sso": tuple(apps),
        "google": tuple(apps),
        "microsoft": tuple(apps),
        "apple": tuple(apps),
        "github": (),
    }
