"""Provider identities of an account: linking one after LinkRequired, listing, unlinking, the
provider list and automatic linking; through the API with a real provider process, on SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.policy import AuthPolicy
from domain.retention import RetentionPolicy
from domain.services.retention import RetentionJob
from persistence.retention import TortoiseRetentionStore
from tests.support.client import ERROR, PASSWORD, Gateway
from tests.support.clock import AdjustableClock
from tests.support.factors import enrolled
from tests.support.processes import RunningProcess
from tests.support.provider_flow import (
    CLIENT_SECRET,
    begin,
    confirm_provider_email,
    provider_settings,
    provider_sign_in,
    signed_in_at_provider,
    subjects_to,
    verified,
)

OWNER = "owner@example.com"
OTHER = "other@example.com"

LINK = f"""mutation Link($input: LinkProviderInput!) {{
  linkProvider(input: $input) {{ __typename {ERROR}
    ... on ProviderLinked {{ identity {{ provider email linkedAt lastUsedAt }} }} }} }}"""
UNLINK = f"""mutation Unlink($input: UnlinkProviderInput!) {{
  unlinkProvider(input: $input) {{ __typename {ERROR} ... on ProviderUnlinked {{ provider }} }} }}"""
IDENTITIES = "query { providerIdentities { provider email linkedAt lastUsedAt } }"
PROVIDERS = "query { signInProviders { id displayName } }"


async def link(gateway: Gateway, token: str, link_token: str, password: str | None = None) -> dict[str, Any]:
    variables = {"input": {"linkToken": link_token, "password": password}}
    return await gateway.signed_in("linkProvider", LINK, variables, token)


async def unlink(gateway: Gateway, token: str, provider: str = "mock", password: str | None = None) -> dict[str, Any]:
    variables = {"input": {"provider": provider, "password": password}}
    return await gateway.signed_in("unlinkProvider", UNLINK, variables, token)


async def identities(gateway: Gateway, token: str) -> list[dict[str, Any]]:
    body = await gateway.post(IDENTITIES, token=token)
    assert "errors" not in body, body
    found: list[dict[str, Any]] = body["data"]["providerIdentities"]
    return found


async def link_required(
    gateway: Gateway, provider_url: str, sub: str, email: str = OWNER, provider: str = "mock"
) -> str:
    """Sign in at ``provider`` as ``sub`` asserting ``email`` (an account's): the link token."""
    answer = await provider_sign_in(gateway, provider_url, sub, verified(email), provider)
    assert answer["__typename"] == "LinkRequired", answer
    assert answer["linkToken"]
    link_token: str = answer["linkToken"]
    return link_token


async def test_the_owner_links_after_signing_in_with_the_password(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    from persistence.models import AuditEventRow, ProviderIdentityRow

    gateway: Gateway = await start()
    account = await gateway.signed_up(OWNER)
    link_token = await link_required(gateway, provider.url, "owner-sub")

    token = (await gateway.login(OWNER))["accessToken"]  # a fresh sign-in is the recent proof
    linked = await link(gateway, token, link_token)
    assert linked["__typename"] == "ProviderLinked", linked
    assert linked["identity"]["provider"] == "mock"
    assert linked["identity"]["email"] == OWNER
    assert await ProviderIdentityRow.filter(subject="owner-sub").count() == 1

    # The identity now signs in to the account.
    again = await provider_sign_in(gateway, provider.url, "owner-sub")
    assert again["__typename"] == "AuthPayload", again
    assert again["user"]["id"] == account["user"]["id"]
    listed = await identities(gateway, token)
    assert [(item["provider"], item["email"]) for item in listed] == [("mock", OWNER)]
    assert listed[0]["linkedAt"]
    assert listed[0]["lastUsedAt"]

    # The token worked once.
    assert (await link(gateway, token, link_token))["__typename"] == "InvalidLinkToken"

    events = [event.event for event in await AuditEventRow.all().order_by("id")]
    assert events.count("provider_linked") == 1
    await gateway.mail_settled()
    assert any("now signs you in" in subject for subject in subjects_to(gateway, OWNER))


async def test_an_account_with_a_second_factor_links_only_with_it(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    clock = AdjustableClock()
    gateway: Gateway = await start(clock)
    token, app, _ = await enrolled(gateway, clock, OWNER)
    link_token = await link_required(gateway, provider.url, "mfa-owner-sub")

    # The password alone is not enough once the session's proof of the factor is old.
    clock.advance(minutes=6)
    refused = await link(gateway, token, link_token, password=PASSWORD)
    assert refused["__typename"] == "ReauthenticationRequired", refused
    # ... and the token waits for the proof.
    proved = await gateway.reauthenticate(token, "TOTP", app.next_code())
    assert proved["__typename"] == "Reauthenticated", proved
    assert (await link(gateway, token, link_token))["__typename"] == "ProviderLinked"

    # Signing in with the provider still needs the second factor.
    assert (await provider_sign_in(gateway, provider.url, "mfa-owner-sub"))["__typename"] == "MfaRequired"


async def test_a_link_token_is_for_its_account_and_its_identity_and_not_for_long(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    from persistence.models import ProviderIdentityRow

    clock = AdjustableClock()
    gateway: Gateway = await start(clock)
    await gateway.signed_up(OWNER)
    other_token = (await gateway.signed_up(OTHER))["accessToken"]

    # Another account cannot use the owner's token (and it is spent by trying).
    stolen = await link_required(gateway, provider.url, "stolen-sub")
    assert (await link(gateway, other_token, stolen))["__typename"] == "InvalidLinkToken"
    owner_token = (await gateway.login(OWNER))["accessToken"]
    assert (await link(gateway, owner_token, stolen))["__typename"] == "InvalidLinkToken"
    assert not await ProviderIdentityRow.filter(subject="stolen-sub").exists()

    # Made-up tokens, and one that waited too long.
    for made_up in ("made-up", "x" * 10_000, ""):
        assert (await link(gateway, owner_token, made_up))["__typename"] == "InvalidLinkToken"
    late = await link_required(gateway, provider.url, "late-sub")
    clock.advance(minutes=11)
    owner_token = (await gateway.login(OWNER))["accessToken"]
    assert (await link(gateway, owner_token, late))["__typename"] == "InvalidLinkToken"
    assert not await ProviderIdentityRow.filter(subject="late-sub").exists()

    # A token links the identity it was made for, whoever signs in at the provider meanwhile.
    own = await link_required(gateway, provider.url, "own-sub")
    assert (await link_required(gateway, provider.url, "someone-else-sub")) != own
    assert (await link(gateway, owner_token, own))["__typename"] == "ProviderLinked"
    assert [row.subject for row in await ProviderIdentityRow.all()] == ["own-sub"]
    # One identity per provider: a second one at the same provider is refused.
    second = await link_required(gateway, provider.url, "second-sub")
    assert (await link(gateway, owner_token, second))["__typename"] == "ProviderAlreadyLinked"


async def test_unlinking_never_removes_the_last_way_in(start: Callable[..., Any], provider: RunningProcess) -> None:
    from persistence.models import ProviderIdentityRow

    gateway: Gateway = await start(
        mock=provider_settings(provider.url), second=provider_settings(provider.url, "gateway-2")
    )
    made = await provider_sign_in(gateway, provider.url, "only-sub", verified("only@example.com"))
    token = made["accessToken"]
    assert (await unlink(gateway, token, "second"))["__typename"] == "ProviderNotLinked"
    refused = await unlink(gateway, token)
    assert refused["__typename"] == "LastSignInMethod", refused
    assert await ProviderIdentityRow.filter(subject="only-sub").exists()

    # With a second identity, either may go, but not both.
    link_token = await link_required(gateway, provider.url, "only-sub-2", "only@example.com", "second")
    assert (await link(gateway, token, link_token))["__typename"] == "ProviderLinked"
    assert (await unlink(gateway, token))["__typename"] == "ProviderUnlinked"
    assert (await unlink(gateway, token, "second"))["__typename"] == "LastSignInMethod"


async def test_an_account_with_a_password_unlinks_with_it(start: Callable[..., Any], provider: RunningProcess) -> None:
    from persistence.models import AuditEventRow

    clock = AdjustableClock()
    gateway: Gateway = await start(clock)
    await gateway.signed_up(OWNER)
    link_token = await link_required(gateway, provider.url, "leaving-sub")
    token = (await gateway.login(OWNER))["accessToken"]
    assert (await link(gateway, token, link_token))["__typename"] == "ProviderLinked"

    clock.advance(minutes=6)  # the sign-in is no longer a recent proof
    assert (await unlink(gateway, token))["__typename"] == "ReauthenticationRequired"
    assert (await unlink(gateway, token, password="not the password"))["__typename"] == "WrongPassword"
    unlinked = await unlink(gateway, token, password=PASSWORD)
    assert unlinked == {"__typename": "ProviderUnlinked", "provider": "mock"}
    assert await identities(gateway, token) == []
    # The identity no longer signs in: the account is back to LinkRequired.
    assert (await provider_sign_in(gateway, provider.url, "leaving-sub"))["__typename"] == "LinkRequired"

    events = [event.event for event in await AuditEventRow.all().order_by("id")]
    assert events.count("provider_unlinked") == 1
    await gateway.mail_settled()
    assert any("no longer signs you in" in subject for subject in subjects_to(gateway, OWNER))


async def test_automatic_linking_is_the_providers_setting_and_needs_a_verified_address(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    from persistence.models import AuditEventRow, ProviderIdentityRow

    gateway: Gateway = await start(
        mock=provider_settings(provider.url, auto_link_verified_email=True),
        manual=provider_settings(provider.url, "gateway-2"),
    )
    account = await gateway.signed_up(OWNER)
    # Unverified: never linked, setting or not, not even once our code proved the address.
    unverified = await provider_sign_in(gateway, provider.url, "auto-sub", {"email": OWNER, "email_verified": False})
    assert unverified["__typename"] == "EmailConfirmationRequired", unverified
    confirmed = await confirm_provider_email(gateway, unverified["ticket"], await gateway.last_code(OWNER))
    assert confirmed["__typename"] == "LinkRequired", confirmed
    assert not await ProviderIdentityRow.filter(subject="auto-sub").exists()
    # Verified, at a provider set up for it: linked and signed in.
    auto = await provider_sign_in(gateway, provider.url, "auto-sub", verified(OWNER))
    assert auto["__typename"] == "AuthPayload", auto
    assert auto["user"]["id"] == account["user"]["id"]
    assert await ProviderIdentityRow.filter(subject="auto-sub").exists()
    # The same, at a provider that is not: LinkRequired.
    manual = await provider_sign_in(gateway, provider.url, "auto-sub", verified(OWNER), provider="manual")
    assert manual["__typename"] == "LinkRequired", manual

    details = [event.detail for event in await AuditEventRow.filter(event="provider_linked")]
    assert details == ["mock:auto"]
    await gateway.mail_settled()
    assert any("now signs you in" in subject for subject in subjects_to(gateway, OWNER))


async def test_the_provider_list_names_the_providers_and_nothing_else(
    start: Callable[..., Any], gateway_factory: Callable[..., Any], provider: RunningProcess
) -> None:
    gateway: Gateway = await start(
        mock=provider_settings(provider.url, display_name="Example SSO"),
        second=provider_settings(provider.url, "gateway-2"),
    )
    body = await gateway.post(PROVIDERS)
    assert body["data"]["signInProviders"] == [
        {"id": "mock", "displayName": "Example SSO"},
        {"id": "second", "displayName": "second"},
    ]
    raw = gateway.last_response.text if gateway.last_response else ""
    for secret in (CLIENT_SECRET, provider.url, "gateway-2"):
        assert secret not in raw
    every_field = await gateway.post('{ __type(name: "SignInProvider") { fields { name } } }')
    assert [field["name"] for field in every_field["data"]["__type"]["fields"]] == ["id", "displayName"]

    without: Gateway = await gateway_factory()
    assert (await without.post(PROVIDERS))["data"]["signInProviders"] == []


async def test_expired_sign_ins_codes_and_link_tokens_are_purged(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    from persistence.models import ProviderLinkTokenRow, ProviderSignInCodeRow, ProviderSignInStateRow

    clock = AdjustableClock()
    gateway: Gateway = await start(clock)
    await gateway.signed_up(OWNER)
    await link_required(gateway, provider.url, "purged-sub")
    await signed_in_at_provider(gateway, provider.url, "purged-sub")  # a code nobody exchanges
    await begin(gateway)  # a sign-in nobody comes back for
    assert await ProviderLinkTokenRow.all().count() == 1
    assert await ProviderSignInCodeRow.all().count() == 1
    assert await ProviderSignInStateRow.all().count() == 1
    clock.advance(minutes=11)
    await begin(gateway)
    report = await RetentionJob(TortoiseRetentionStore(), clock, RetentionPolicy(), AuthPolicy()).run()
    assert report is not None
    assert await ProviderLinkTokenRow.all().count() == 0
    assert await ProviderSignInStateRow.all().count() == 1  # only the new one
    assert await ProviderSignInCodeRow.all().count() == 0
