"""A first provider sign-in whose provider did not vouch for the address: the gateway mails a
code to it (EmailConfirmationRequired) and confirmProviderEmail finishes the sign-in; a real
provider process, real SMTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.support.client import Gateway
from tests.support.clock import AdjustableClock
from tests.support.processes import RunningProcess
from tests.support.provider_flow import (
    confirm_provider_email,
    id_token_from,
    provider_settings,
    provider_sign_in,
    sign_in_with_id_token,
    subjects_to,
)


def unverified(email: str) -> dict[str, Any]:
    return {"email": email, "email_verified": False}


async def test_the_mailed_code_makes_the_account_and_signs_in(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    from persistence.models import AuditEventRow, ProviderIdentityRow, UserRow

    gateway: Gateway = await start(mock=provider_settings(provider.url, display_name="Example SSO"))
    required = await provider_sign_in(gateway, provider.url, "new-sub", unverified("new@example.com"))
    assert required["__typename"] == "EmailConfirmationRequired", required
    assert required["email"] == "new@example.com"
    assert not await UserRow.filter(email_key="new@example.com").exists()
    code = await gateway.last_code("new@example.com")
    assert subjects_to(gateway, "new@example.com") == ["Your Auth Gateway confirmation code"]
    assert "with Example SSO, which gave this address" in " ".join(
        gateway.mailbox.bodies_to("new@example.com")[-1].split()
    )

    signed_in = await confirm_provider_email(gateway, required["ticket"], code)
    assert signed_in["__typename"] == "AuthPayload", signed_in
    assert signed_in["user"]["emailVerified"]
    row = await UserRow.get(email_key="new@example.com")
    assert row.password_hash == ""  # no password
    assert await ProviderIdentityRow.filter(subject="new-sub", user_id=row.id).exists()
    # The ticket and its code worked once.
    assert (await confirm_provider_email(gateway, required["ticket"], code))["__typename"] == "InvalidTicket"
    # The identity now signs in without a code.
    again = await provider_sign_in(gateway, provider.url, "new-sub")
    assert again["__typename"] == "AuthPayload", again
    assert again["user"]["id"] == signed_in["user"]["id"]

    await gateway.mail_settled()
    assert subjects_to(gateway, "new@example.com")[-1] == "Your Auth Gateway account was made with Example SSO"
    events = [event.event for event in await AuditEventRow.all()]
    assert events.count("account_created_by_provider") == 1


async def test_the_answer_does_not_tell_whether_the_address_has_an_account(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    from persistence.models import ProviderIdentityRow

    gateway: Gateway = await start(mock=provider_settings(provider.url, auto_link_verified_email=True))
    await gateway.signed_up("taken@example.com")
    taken = await provider_sign_in(gateway, provider.url, "taken-sub", unverified("taken@example.com"))
    free = await provider_sign_in(gateway, provider.url, "free-sub", unverified("free@example.com"))
    assert taken["__typename"] == free["__typename"] == "EmailConfirmationRequired"
    assert set(taken) == set(free)
    assert len(taken["ticket"]) == len(free["ticket"])
    # Both addresses got a code; only its owner learns, with it, that an account has the address.
    linked = await confirm_provider_email(gateway, taken["ticket"], await gateway.last_code("taken@example.com"))
    assert linked["__typename"] == "LinkRequired", linked
    assert linked["linkToken"]
    assert not await ProviderIdentityRow.filter(subject="taken-sub").exists()
    made = await confirm_provider_email(gateway, free["ticket"], await gateway.last_code("free@example.com"))
    assert made["__typename"] == "AuthPayload", made


async def test_a_ticket_has_five_tries_and_a_lifetime(start: Callable[..., Any], provider: RunningProcess) -> None:
    from persistence.models import UserRow

    clock = AdjustableClock()
    gateway: Gateway = await start(clock)
    required = await provider_sign_in(gateway, provider.url, "guess-sub", unverified("guess@example.com"))
    code = await gateway.last_code("guess@example.com")
    wrong = "000000" if code != "000000" else "111111"
    answers = [(await confirm_provider_email(gateway, required["ticket"], wrong))["__typename"] for _ in range(5)]
    assert answers == ["InvalidOtp"] * 4 + ["TooManyAttempts"]
    assert (await confirm_provider_email(gateway, required["ticket"], code))["__typename"] == "InvalidTicket"
    assert (await confirm_provider_email(gateway, "made-up", code))["__typename"] == "InvalidTicket"
    assert (await confirm_provider_email(gateway, required["ticket"], "12ab"))["__typename"] == "InvalidInput"

    required = await provider_sign_in(gateway, provider.url, "guess-sub")
    code = await gateway.last_code("guess@example.com")
    clock.advance(minutes=11)
    assert (await confirm_provider_email(gateway, required["ticket"], code))["__typename"] == "OtpExpired"
    assert not await UserRow.filter(email_key="guess@example.com").exists()


async def test_an_id_token_with_an_unverified_address_asks_for_the_code_too(
    start: Callable[..., Any], provider: RunningProcess
) -> None:
    gateway: Gateway = await start()
    id_token = await id_token_from(provider.url, "app-sub", "nonce-1", unverified("app@example.com"))
    required = await sign_in_with_id_token(gateway, id_token, "nonce-1")
    assert required["__typename"] == "EmailConfirmationRequired", required
    signed_in = await confirm_provider_email(gateway, required["ticket"], await gateway.last_code("app@example.com"))
    assert signed_in["__typename"] == "AuthPayload", signed_in


async def test_the_codes_to_an_address_are_budgeted(start: Callable[..., Any], provider: RunningProcess) -> None:
    gateway: Gateway = await start(settings={"rate_limit_codes_per_address": "2/1h"})
    claims = unverified("budget@example.com")
    answers = [(await provider_sign_in(gateway, provider.url, "budget-sub", claims))["__typename"] for _ in range(3)]
    assert answers == ["EmailConfirmationRequired"] * 2 + ["RateLimited"]
    await gateway.mail_settled()
    assert len(gateway.mailbox.bodies_to("budget@example.com")) == 2


async def test_a_code_sent_twice_at_once_signs_in_once(start: Callable[..., Any], provider: RunningProcess) -> None:
    from persistence.models import UserRow

    gateway: Gateway = await start()
    required = await provider_sign_in(gateway, provider.url, "twice-sub", unverified("twice@example.com"))
    code = await gateway.last_code("twice@example.com")
    answers = await asyncio.gather(*(confirm_provider_email(gateway, required["ticket"], code) for _ in range(4)))
    assert sorted(answer["__typename"] for answer in answers) == ["AuthPayload"] + ["InvalidTicket"] * 3
    assert await UserRow.filter(email_key="twice@example.com").count() == 1
