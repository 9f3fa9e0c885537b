"""The mail an account's owner gets when it is signed in to from a browser or network it has
not signed in from lately, over HTTP, on SQLite and PostgreSQL, with the real SMTP sink."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.client import Gateway

OWNER = "owner@example.com"
FIREFOX_ON_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
FIREFOX_UPDATED = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
NOTICE = "signed in to from a device"


def client(user_agent: str, ip: str = "198.51.100.7") -> dict[str, str]:
    """A request from ``user_agent`` at ``ip`` (the gateway trusts the test's proxy)."""
    return {"User-Agent": user_agent, "X-Forwarded-For": ip}


def notices(gateway: Gateway) -> list[str]:
    """The text of each new-device notice to the owner, on one line (the text wraps)."""
    bodies = (" ".join(body.split()) for body in gateway.mailbox.bodies_to(OWNER))
    return [body for body in bodies if NOTICE in body]


async def signed_up_on(gateway: Gateway, headers: dict[str, str]) -> dict[str, Any]:
    await gateway.register(OWNER, headers=headers)
    payload = await gateway.verify(OWNER, await gateway.last_code(OWNER), headers=headers)
    assert payload["__typename"] == "AuthPayload", payload
    return payload


async def test_the_sign_up_and_sign_ins_from_the_same_browser_send_nothing(gateway_factory: Any) -> None:
    gateway: Gateway = await gateway_factory(trusted_proxies="127.0.0.1")
    await signed_up_on(gateway, client(FIREFOX_ON_WINDOWS))
    # the same browser, updated, from another address of the same /24
    await gateway.login(OWNER, headers=client(FIREFOX_UPDATED, "198.51.100.200"))
    await gateway.login(OWNER, headers=client(FIREFOX_ON_WINDOWS))
    await gateway.mail_settled()
    assert notices(gateway) == []


async def test_another_browser_is_told_of_once_with_when_where_and_what_to_do(gateway_factory: Any) -> None:
    gateway: Gateway = await gateway_factory(trusted_proxies="127.0.0.1")
    await signed_up_on(gateway, client(FIREFOX_ON_WINDOWS))

    signed_in = await gateway.login(OWNER, headers=client(SAFARI_ON_IPHONE))
    await gateway.login(OWNER, headers=client(SAFARI_ON_IPHONE))
    await gateway.mail_settled()

    [notice] = notices(gateway)
    assert "Safari on iOS" in notice
    assert "198.51.100.7" in notice
    assert re.search(r"\d{2}:\d{2} UTC", notice), notice
    assert "sign out everywhere" in notice
    assert "change your password" in notice
    for secret in (signed_in["accessToken"], signed_in["refreshToken"]):
        assert secret not in notice
    assert not re.search(r"\b\d{6}\b", notice), "a notice carries no code"
    [html] = [body for body in gateway.mailbox.html_bodies_to(OWNER) if "Safari on iOS" in body]
    assert signed_in["refreshToken"] not in html


async def test_another_network_is_told_of(gateway_factory: Any) -> None:
    gateway: Gateway = await gateway_factory(trusted_proxies="127.0.0.1")
    await signed_up_on(gateway, client(FIREFOX_ON_WINDOWS))

    await gateway.login(OWNER, headers=client(FIREFOX_ON_WINDOWS, "203.0.113.9"))
    await gateway.mail_settled()

    [notice] = notices(gateway)
    assert "Firefox on Windows" in notice
    assert "203.0.113.9" in notice


async def test_a_sign_in_code_from_a_new_browser_is_told_of_too(gateway_factory: Any) -> None:
    gateway: Gateway = await gateway_factory(trusted_proxies="127.0.0.1")
    await signed_up_on(gateway, client(FIREFOX_ON_WINDOWS))

    await gateway.request_sign_in_code(OWNER, headers=client(SAFARI_ON_IPHONE))
    code = await gateway.last_code(OWNER)
    signed_in = await gateway.sign_in_with_code(OWNER, code, headers=client(SAFARI_ON_IPHONE))
    assert signed_in["__typename"] == "AuthPayload", signed_in
    await gateway.mail_settled()

    [notice] = notices(gateway)
    assert code not in notice


async def test_the_setting_off_sends_none(gateway_factory: Any) -> None:
    gateway: Gateway = await gateway_factory(trusted_proxies="127.0.0.1", new_device_notices=False)
    await signed_up_on(gateway, client(FIREFOX_ON_WINDOWS))

    await gateway.login(OWNER, headers=client(SAFARI_ON_IPHONE, "203.0.113.9"))
    await gateway.mail_settled()

    assert notices(gateway) == []
