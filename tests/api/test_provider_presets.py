"""The provider presets, each signed in with for real, on SQLite and PostgreSQL: Google against
oidc-provider-mock (a process), Microsoft, Apple and GitHub against stand-ins that speak as
those providers do (``tests.support.microsoft_provider``, ``apple_provider``,
``github_provider``: HTTP servers on loopback that sign real tokens), through the gateway's
callback and the SPA's two mutations."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.support.apple_provider import KEY_ID, SIX_MONTHS_SECONDS, TEAM_ID, AppleStandIn
from tests.support.client import Gateway
from tests.support.github_provider import GitHubStandIn
from tests.support.microsoft_provider import TENANT_A, TENANT_B, MicrosoftStandIn
from tests.support.oidc_provider import query_of
from tests.support.processes import RunningProcess
from tests.support.provider_flow import (
    CLIENT_SECRET,
    GATEWAY_URL,
    begin,
    choose_at_provider,
    come_back,
    confirm_provider_email,
    finish,
    provider_sign_in,
    sign_in_with_id_token,
    stand_in_sign_in,
    verified,
)
from tests.support.stand_in import serving

PROVIDERS = "query { signInProviders { id displayName } }"


@pytest.fixture(scope="module")
def microsoft() -> Iterator[MicrosoftStandIn]:
    with serving(MicrosoftStandIn(client_secret=CLIENT_SECRET)) as running:
        yield running


@pytest.fixture(scope="module")
def apple() -> Iterator[AppleStandIn]:
    with serving(AppleStandIn()) as running:
        yield running


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubStandIn]:
    with serving(GitHubStandIn(client_secret=CLIENT_SECRET)) as running:
        yield running


@pytest.fixture(autouse=True)
def providers_up(microsoft: MicrosoftStandIn, github: GitHubStandIn) -> Iterator[None]:
    yield
    github.down = github.api_down = microsoft.down = False


def microsoft_settings(stand_in: MicrosoftStandIn, **more: Any) -> dict[str, Any]:
    return {
        "kind": "microsoft",
        "authority": stand_in.url,
        "client_id": "gateway",
        "client_secret": CLIENT_SECRET,
        **more,
    }


def apple_settings(stand_in: AppleStandIn, **more: Any) -> dict[str, Any]:
    return {
        "kind": "apple",
        "issuer": stand_in.url,
        "client_id": stand_in.client_id,
        "team_id": TEAM_ID,
        "key_id": KEY_ID,
        **({"private_key": stand_in.private_key_pem()} if "private_key_file" not in more else {}),
        **more,
    }


def github_settings(stand_in: GitHubStandIn) -> dict[str, Any]:
    return {
        "kind": "github",
        "url": stand_in.url,
        "api_url": stand_in.api_url,
        "client_id": stand_in.client_id,
        "client_secret": CLIENT_SECRET,
    }


async def failures() -> list[str]:
    from persistence.models import AuditEventRow

    return [str(row.detail) for row in await AuditEventRow.filter(event="provider_sign_in_failed").order_by("id")]


# Google


async def test_google_is_openid_connect_with_its_name_on_the_button(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    google = {"kind": "google", "issuer": provider.url, "client_id": "gateway", "client_secret": CLIENT_SECRET}
    gateway: Gateway = await start(google=google)
    listed = await gateway.post(PROVIDERS)
    assert listed["data"]["signInProviders"] == [{"id": "google", "displayName": "Google"}]
    signed_in = await provider_sign_in(
        gateway, provider.url, "google-sub", verified("g@example.com"), provider="google"
    )
    assert signed_in["__typename"] == "AuthPayload", signed_in
    assert signed_in["user"]["email"] == "g@example.com"


# Microsoft


async def test_microsoft_common_signs_in_people_of_any_tenant_by_their_pairwise_subject(
    start: Callable[..., Any], microsoft: MicrosoftStandIn
) -> None:
    from persistence.models import ProviderIdentityRow

    gateway: Gateway = await start(entra=microsoft_settings(microsoft, trust_email=True))
    microsoft.users["ms-a"] = {"tid": TENANT_A, "email": "a@contoso.example", "oid": "oid-a"}
    microsoft.users["ms-b"] = {"tid": TENANT_B, "email": "b@fabrikam.example", "oid": "oid-b"}
    for user, email in (("ms-a", "a@contoso.example"), ("ms-b", "b@fabrikam.example")):
        back = await stand_in_sign_in(gateway, "entra", user)
        signed_in = await finish(gateway, back["code"])
        assert signed_in["__typename"] == "AuthPayload", signed_in
        assert signed_in["user"]["email"] == email
    identity = await ProviderIdentityRow.get(email="a@contoso.example")
    assert identity.subject not in ("oid-a", "ms-a")  # sub: pairwise, not the object id
    assert len(identity.subject) == 43


async def test_microsoft_addresses_are_unverified_unless_the_operator_trusts_them(
    start: Callable[..., Any], microsoft: MicrosoftStandIn
) -> None:
    from persistence.models import UserRow

    gateway: Gateway = await start(entra=microsoft_settings(microsoft))
    microsoft.users["ms-untrusted"] = {"tid": TENANT_A, "email": "ceo@bank.example"}
    back = await stand_in_sign_in(gateway, "entra", "ms-untrusted")
    answer = await finish(gateway, back["code"])
    # no account until the address's owner enters the code mailed to it
    assert answer["__typename"] == "EmailConfirmationRequired", answer
    assert not await UserRow.filter(email_key="ceo@bank.example").exists()


async def test_a_microsoft_token_whose_issuer_is_not_its_tenants_is_refused(
    start: Callable[..., Any], microsoft: MicrosoftStandIn
) -> None:
    from persistence.models import UserRow

    gateway: Gateway = await start(entra=microsoft_settings(microsoft, trust_email=True))
    # A token of tenant A that names tenant B as its issuer (or the template itself)
    for user, issuer in (("ms-liar", TENANT_B), ("ms-template", "{tenantid}")):
        microsoft.users[user] = {"tid": TENANT_A, "email": f"{user}@example.com", "iss": microsoft.issuer_of(issuer)}
        assert await stand_in_sign_in(gateway, "entra", user) == {"error": "provider_refused"}
        assert not await UserRow.filter(email_key=f"{user}@example.com").exists()
    assert await failures() == ["entra:id_token:iss", "entra:id_token:iss"]


async def test_a_microsoft_tenant_not_on_the_allow_list_is_refused(
    start: Callable[..., Any], microsoft: MicrosoftStandIn
) -> None:
    gateway: Gateway = await start(entra=microsoft_settings(microsoft, trust_email=True, allowed_tenants=[TENANT_A]))
    microsoft.users["ms-in"] = {"tid": TENANT_A, "email": "in@contoso.example"}
    microsoft.users["ms-out"] = {"tid": TENANT_B, "email": "out@fabrikam.example"}
    assert "code" in await stand_in_sign_in(gateway, "entra", "ms-in")
    assert await stand_in_sign_in(gateway, "entra", "ms-out") == {"error": "provider_refused"}
    assert await failures() == ["entra:tenant"]


async def test_a_single_microsoft_tenant_is_its_own_issuer(
    start: Callable[..., Any], microsoft: MicrosoftStandIn
) -> None:
    gateway: Gateway = await start(entra=microsoft_settings(microsoft, tenant=TENANT_A, trust_email=True))
    microsoft.users["ms-single"] = {"tid": TENANT_A, "email": "single@contoso.example"}
    microsoft.users["ms-other"] = {"tid": TENANT_B, "email": "other@fabrikam.example"}
    back = await stand_in_sign_in(gateway, "entra", "ms-single")
    assert (await finish(gateway, back["code"]))["__typename"] == "AuthPayload"
    # another tenant's token through this tenant's endpoints: not this issuer
    assert await stand_in_sign_in(gateway, "entra", "ms-other") == {"error": "provider_refused"}


async def microsoft_id_token(microsoft: MicrosoftStandIn, user: str, nonce: str) -> str:
    """What a native app's MSAL gets: a genuine ID token from the stand-in's own authorization
    and token endpoints (the code flow, with the app's ``nonce``)."""
    redirect_uri = "msauth.com.example.app://auth"
    params = {
        "client_id": "gateway",
        "redirect_uri": redirect_uri,
        "scope": "openid email",
        "state": "app-state",
        "nonce": nonce,
    }
    authorization_url = f"{microsoft.url}/common/oauth2/v2.0/authorize?{urlencode(params)}"
    answer = await choose_at_provider(authorization_url, user)
    code = query_of(answer.url)["code"]
    async with httpx.AsyncClient() as http:
        token = await http.post(
            f"{microsoft.url}/common/oauth2/v2.0/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            auth=("gateway", CLIENT_SECRET),
        )
    assert token.status_code == 200, token.text
    id_token = token.json()["id_token"]
    assert isinstance(id_token, str)
    return id_token


async def test_a_microsoft_id_token_signs_in_with_the_tenant_bound_issuer(
    start: Callable[..., Any], microsoft: MicrosoftStandIn
) -> None:
    from persistence.models import UserRow

    gateway: Gateway = await start(entra=microsoft_settings(microsoft, trust_email=True, allowed_tenants=[TENANT_A]))
    microsoft.users["ms-native"] = {"tid": TENANT_A, "email": "native@contoso.example", "given_name": "Grace"}
    id_token = await microsoft_id_token(microsoft, "ms-native", "ms-nonce-1")
    signed_in = await sign_in_with_id_token(gateway, id_token, "ms-nonce-1", provider="entra")
    assert signed_in["__typename"] == "AuthPayload", signed_in
    assert signed_in["user"]["email"] == "native@contoso.example"
    assert (await UserRow.get(email_key="native@contoso.example")).first_name == "Grace"

    # Microsoft's own rules hold for ID tokens too: the issuer is the token's tenant's, and the
    # tenant one of the allowed ones.
    microsoft.users["ms-liar"] = {
        "tid": TENANT_A,
        "email": "liar@contoso.example",
        "iss": microsoft.issuer_of(TENANT_B),
    }
    microsoft.users["ms-out"] = {"tid": TENANT_B, "email": "out@fabrikam.example"}
    for user in ("ms-liar", "ms-out"):
        refused = await sign_in_with_id_token(
            gateway, await microsoft_id_token(microsoft, user, "ms-nonce-2"), "ms-nonce-2", provider="entra"
        )
        assert refused["__typename"] == "InvalidIdToken", refused
    assert await failures() == ["entra:id_token:id_token:iss", "entra:id_token:tenant"]


async def test_an_untrusted_microsoft_address_from_an_id_token_is_confirmed_with_our_code(
    start: Callable[..., Any], microsoft: MicrosoftStandIn
) -> None:
    from persistence.models import UserRow

    gateway: Gateway = await start(entra=microsoft_settings(microsoft))
    microsoft.users["ms-untrusted-native"] = {
        "tid": TENANT_A,
        "email": "who@contoso.example",
        "given_name": "Katherine",
        "family_name": "Johnson",
    }
    id_token = await microsoft_id_token(microsoft, "ms-untrusted-native", "ms-nonce-3")
    answer = await sign_in_with_id_token(gateway, id_token, "ms-nonce-3", provider="entra")
    assert answer["__typename"] == "EmailConfirmationRequired", answer
    assert answer["email"] == "who@contoso.example"
    signed_in = await confirm_provider_email(gateway, answer["ticket"], await gateway.last_code("who@contoso.example"))
    assert signed_in["__typename"] == "AuthPayload", signed_in
    # the names the token gave, kept while the address was being confirmed
    row = await UserRow.get(email_key="who@contoso.example")
    assert (row.first_name, row.last_name) == ("Katherine", "Johnson")


# Apple


async def test_apple_posts_the_callback_and_the_first_sign_in_brings_the_name(
    start: Callable[..., Any], apple: AppleStandIn
) -> None:
    from persistence.models import UserRow

    gateway: Gateway = await start(apple=apple_settings(apple))
    apple.users["001234.apple"] = {"email": "ada@privaterelay.example", "name": {"firstName": "Ada", "lastName": "L"}}
    apple.authorized.clear()  # a person who never used the app (or stopped using it at Apple)
    started = await begin(gateway, "apple")
    assert query_of(started["authorizationUrl"])["response_mode"] == "form_post"
    cookies = gateway.last_response.headers.get_list("set-cookie") if gateway.last_response else []
    cross_site = [cookie.lower() for cookie in cookies if cookie.startswith("__Secure-provider_sign_in_post=")]
    assert len(cross_site) == 1
    assert all(part in cross_site[0] for part in ("samesite=none", "secure", "httponly", "path=/oauth/callback"))

    answer = await choose_at_provider(started["authorizationUrl"], "001234.apple")
    assert answer.posted is not None
    assert "user" in answer.posted
    back = await come_back(gateway, answer)
    signed_in = await finish(gateway, back["code"])
    assert signed_in["__typename"] == "AuthPayload", signed_in  # email_verified was the string "true"
    row = await UserRow.get(email_key="ada@privaterelay.example")
    assert (row.first_name, row.last_name) == ("Ada", "L")

    # The next sign-in brings no name: the same account, its name kept.
    again = await stand_in_sign_in(gateway, "apple", "001234.apple")
    assert (await finish(gateway, again["code"]))["user"]["id"] == signed_in["user"]["id"]
    row = await UserRow.get(email_key="ada@privaterelay.example")
    assert (row.first_name, row.last_name) == ("Ada", "L")


async def test_the_apple_client_secret_is_a_short_lived_es256_jwt_of_the_team_key(
    start: Callable[..., Any], apple: AppleStandIn, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    key_file = tmp_path / "AuthKey_KEY1234567.p8"
    key_file.write_text(apple.private_key_pem())
    gateway: Gateway = await start(apple=apple_settings(apple, private_key_file=str(key_file)))
    apple.users["005678.apple"] = {"email": "secret@example.com"}
    back = await stand_in_sign_in(gateway, "apple", "005678.apple")
    assert "code" in back, back
    secret = apple.client_secrets[-1]
    public_key = ECKey.import_key(apple.team_key.as_dict(private=False))
    token = jwt.decode(secret, public_key, algorithms=["ES256"])
    assert token.header == {"typ": "JWT", "alg": "ES256", "kid": KEY_ID}
    assert token.claims["iss"] == TEAM_ID
    assert token.claims["sub"] == apple.client_id
    assert token.claims["aud"] == apple.url
    assert token.claims["iat"] <= time.time() < token.claims["exp"]
    assert token.claims["exp"] - token.claims["iat"] <= SIX_MONTHS_SECONDS
    assert apple.token_requests[-1]["client_id"] == apple.client_id  # client_secret_post
    assert secret not in caplog.text
    assert "PRIVATE KEY" not in caplog.text


async def test_an_apple_callback_posted_from_another_browser_is_refused(
    start: Callable[..., Any], apple: AppleStandIn
) -> None:
    gateway: Gateway = await start(apple=apple_settings(apple))
    apple.users["009999.apple"] = {"email": "victim@example.com"}
    for cookies in ({}, {"__Secure-provider_sign_in_post": "someone-elses-value"}):
        started = await begin(gateway, "apple")
        answer = await choose_at_provider(started["authorizationUrl"], "009999.apple")
        transport = httpx.ASGITransport(app=gateway.app)
        async with httpx.AsyncClient(transport=transport, base_url=GATEWAY_URL, cookies=cookies) as elsewhere:
            assert await come_back(gateway, answer, elsewhere) == {"error": "invalid_state"}
        # and it spent the state: the browser that began it cannot use it either
        assert await come_back(gateway, answer) == {"error": "invalid_state"}
    assert await failures() == ["apple:browser", "apple:state"] * 2


async def test_an_apple_answer_replayed_as_a_redirect_is_refused(
    start: Callable[..., Any], apple: AppleStandIn
) -> None:
    gateway: Gateway = await start(apple=apple_settings(apple))
    apple.users["007777.apple"] = {"email": "redirect@example.com"}
    started = await begin(gateway, "apple")
    answer = await choose_at_provider(started["authorizationUrl"], "007777.apple")
    assert answer.posted is not None
    as_redirect = f"{answer.url}?{urlencode(answer.posted)}"
    assert await come_back(gateway, type(answer)(as_redirect)) == {"error": "invalid_state"}
    assert await failures() == ["apple:method"]


def test_an_apple_key_that_is_not_one_stops_the_start_without_showing_it() -> None:
    from settings import Settings
    from wiring import identity_providers

    rsa_pem = "-----BEGIN PRIVATE KEY-----\nnot really a key\n-----END PRIVATE KEY-----\n"
    settings = Settings(
        _env_file=None,
        oidc_providers={
            "apple": {
                "kind": "apple",
                "client_id": "com.example.gateway",
                "team_id": TEAM_ID,
                "key_id": KEY_ID,
                "private_key": rsa_pem,
            }
        },
        oidc_return_urls=["https://spa.test/signed-in"],
    )
    with pytest.raises(ValueError, match=r"OIDC_PROVIDERS\[apple\]") as refused:
        identity_providers(settings)
    assert "not really a key" not in str(refused.value)


# GitHub


async def test_github_signs_in_by_the_numeric_id_and_the_verified_primary_address(
    start: Callable[..., Any], github: GitHubStandIn
) -> None:
    from persistence.models import ProviderIdentityRow

    gateway: Gateway = await start(github=github_settings(github))
    assert (await gateway.post(PROVIDERS))["data"]["signInProviders"] == [{"id": "github", "displayName": "GitHub"}]
    emails = [
        {"email": "old@example.com", "primary": False, "verified": True},
        {"email": "octo@example.com", "primary": True, "verified": True},
    ]
    github.users["octocat"] = {"id": 583231, "emails": emails}
    started = await begin(gateway, "github")
    params = query_of(started["authorizationUrl"])
    assert started["authorizationUrl"].startswith(f"{github.url}/login/oauth/authorize?")
    assert params["code_challenge_method"] == "S256"
    assert "nonce" not in params
    back = await come_back(gateway, await choose_at_provider(started["authorizationUrl"], "octocat"))
    signed_in = await finish(gateway, back["code"])
    assert signed_in["__typename"] == "AuthPayload", signed_in
    assert signed_in["user"]["email"] == "octo@example.com"
    assert (await ProviderIdentityRow.get(provider="github")).subject == "583231"

    # The login changes (and someone else may take the old one): the id still finds the account.
    github.users["octocat-renamed"] = github.users.pop("octocat")
    back = await stand_in_sign_in(gateway, "github", "octocat-renamed")
    assert (await finish(gateway, back["code"]))["user"]["id"] == signed_in["user"]["id"]


@pytest.mark.parametrize(
    ("emails", "answered"),
    [
        # an address GitHub did not verify is confirmed with our code first
        ([{"email": "unverified@example.com", "primary": True, "verified": False}], "EmailConfirmationRequired"),
        ([{"email": "secondary@example.com", "primary": False, "verified": True}], "ProviderEmailNotVerified"),
        ([], "ProviderEmailNotVerified"),
    ],
    ids=["unverified-primary", "no-primary", "no-address"],
)
async def test_github_without_a_verified_primary_address_makes_no_account(
    start: Callable[..., Any], github: GitHubStandIn, emails: list[dict[str, Any]], answered: str
) -> None:
    from persistence.models import UserRow

    gateway: Gateway = await start(github=github_settings(github))
    github.users["unproven"] = {"id": 9_000_001, "emails": emails}
    back = await stand_in_sign_in(gateway, "github", "unproven")
    answer = await finish(gateway, back["code"])
    assert answer["__typename"] == answered, answer
    assert not await UserRow.all().exists()


async def test_github_has_no_id_tokens_so_sign_in_with_one_is_a_typed_refusal(
    start: Callable[..., Any], github: GitHubStandIn
) -> None:
    gateway: Gateway = await start(github=github_settings(github))
    asked = len(github.token_requests)
    answer = await sign_in_with_id_token(gateway, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "a-nonce", provider="github")
    assert answer["__typename"] == "InvalidInput", answer
    assert [field["field"] for field in answer["fields"]] == ["provider"]
    assert len(github.token_requests) == asked  # GitHub was not asked


@pytest.mark.parametrize("outage", ["everything", "api"])
async def test_a_github_outage_is_a_typed_answer(start: Callable[..., Any], github: GitHubStandIn, outage: str) -> None:
    gateway: Gateway = await start(github=github_settings(github))
    github.users["outage"] = {"id": 77, "emails": [{"email": "o@example.com", "primary": True, "verified": True}]}
    started = await begin(gateway, "github")
    answer = await choose_at_provider(started["authorizationUrl"], "outage")
    github.down, github.api_down = outage == "everything", outage == "api"
    assert await come_back(gateway, answer) == {"error": "provider_unavailable"}
    assert await failures() == ["github:unavailable"]


async def test_a_redirect_provider_answer_posted_as_a_form_is_refused(
    start: Callable[..., Any], microsoft: MicrosoftStandIn
) -> None:
    gateway: Gateway = await start(entra=microsoft_settings(microsoft, trust_email=True))
    microsoft.users["ms-posted"] = {"tid": TENANT_A, "email": "posted@contoso.example"}
    started = await begin(gateway, "entra")
    answer = await choose_at_provider(started["authorizationUrl"], "ms-posted")
    as_form = type(answer)(answer.url.split("?", 1)[0], posted=query_of(answer.url))
    assert await come_back(gateway, as_form) == {"error": "invalid_state"}
    assert await failures() == ["entra:method"]


async def test_a_cancelled_apple_sign_in_comes_back_as_an_error(start: Callable[..., Any], apple: AppleStandIn) -> None:
    gateway: Gateway = await start(apple=apple_settings(apple))
    started = await begin(gateway, "apple")
    answer = await choose_at_provider(started["authorizationUrl"], "", cancel=True)
    assert answer.posted is not None
    assert answer.posted["error"] == "user_cancelled_authorize"
    assert await come_back(gateway, answer) == {"error": "provider_error"}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"state": "x", "code": "y"}'),
        ("application/x-www-form-urlencoded", b"state=%ff%fe&code=\xff"),
        ("multipart/form-data; boundary=b", b"--b\r\n"),
    ],
    ids=["json", "not-utf8", "multipart"],
)
async def test_whatever_is_posted_to_the_callback_gets_a_redirect(
    start: Callable[..., Any], apple: AppleStandIn, content_type: str, body: bytes
) -> None:
    gateway: Gateway = await start(apple=apple_settings(apple))
    response = await gateway.http.post("/oauth/callback/apple", content=body, headers={"content-type": content_type})
    assert response.status_code == 303, response.text
    assert query_of(response.headers["location"]) == {"error": "invalid_state"}


async def test_a_posted_callback_past_the_size_cap_is_not_read(start: Callable[..., Any], apple: AppleStandIn) -> None:
    gateway: Gateway = await start(apple=apple_settings(apple))
    apple.users["004444.apple"] = {"email": "padded@example.com"}
    started = await begin(gateway, "apple")
    answer = await choose_at_provider(started["authorizationUrl"], "004444.apple")
    assert answer.posted is not None
    padded = type(answer)(answer.url, posted={**answer.posted, "padding": "x" * 20_000})
    assert await come_back(gateway, padded) == {"error": "invalid_state"}
