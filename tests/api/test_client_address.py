"""The client's address as the gateway records it: an IP address in canonical form, or unknown.

Behind a trusted proxy the address is whatever ``X-Forwarded-For`` says, and that is text
anyone upstream could have put there. The sessions and audit tables keep 45 characters.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from persistence.models import AuditEventRow
from tests.support.client import PASSWORD, Gateway, GatewayFactory
from web.request_log import JsonFormatter

NOT_ADDRESSES = [
    "a" * 46,
    "not-an-ip",
    "203.0.113.7.9",
    "2001:db8::" + "1" * 60,
    "unknown",  # what RFC 7239 proxies say when they do not know
]


def from_ip(address: str) -> dict[str, str]:
    """What a trusted reverse proxy adds for a client at ``address``."""
    return {"X-Forwarded-For": address}


@pytest.fixture
async def behind_a_proxy(gateway_factory: GatewayFactory) -> Gateway:
    started: Gateway = await gateway_factory(trusted_proxies="127.0.0.1")
    return started


async def audited_addresses() -> list[str | None]:
    return [row.client_ip for row in await AuditEventRow.all().order_by("id")]


class TestWhatIsNotAnAddress:
    @pytest.mark.parametrize("forwarded", NOT_ADDRESSES)
    async def test_login_answers_and_the_address_is_unknown(self, behind_a_proxy: Gateway, forwarded: str) -> None:
        await behind_a_proxy.signed_up("ann@example.com")
        wrong = await behind_a_proxy.login("ann@example.com", "wrong password", headers=from_ip(forwarded))
        assert wrong["__typename"] == "InvalidCredentials"
        right = await behind_a_proxy.login("ann@example.com", PASSWORD, headers=from_ip(forwarded))
        assert right["__typename"] == "AuthPayload"
        sessions = await behind_a_proxy.sessions(right["accessToken"])
        assert [s["clientIp"] for s in sessions if s["current"]] == [None]
        assert (await audited_addresses())[-2:] == [None, None]

    @pytest.mark.parametrize("forwarded", NOT_ADDRESSES)
    async def test_register_answers(self, behind_a_proxy: Gateway, forwarded: str) -> None:
        answer = await behind_a_proxy.register("bob@example.com", headers=from_ip(forwarded))
        assert answer["__typename"] == "OtpSent"
        verified = await behind_a_proxy.verify("bob@example.com", await behind_a_proxy.last_code("bob@example.com"))
        assert verified["__typename"] == "AuthPayload"
        assert None in await audited_addresses()

    async def test_the_request_log_says_unknown_too(
        self, behind_a_proxy: Gateway, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="gateway.request")
        await behind_a_proxy.post("{ __typename }", headers=from_ip("a" * 46))
        formatter = JsonFormatter()
        [line] = [formatter.format(r) for r in caplog.records if r.name == "gateway.request"]
        assert '"client_ip": null' in line


class TestAddresses:
    @pytest.mark.parametrize(
        ("forwarded", "recorded"),
        [
            ("203.0.113.7", "203.0.113.7"),
            ("203.0.113.7:4711", "203.0.113.7"),
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            ("[2001:db8:0000::7]:443", "2001:db8::7"),
            ("fe80::1%eth0", "fe80::1"),
            ("fe80::1%" + "z" * 60, "fe80::1"),  # a zone is the sender's to make as long as they like
        ],
    )
    async def test_are_kept_in_canonical_form(
        self, behind_a_proxy: Gateway, forwarded: str, recorded: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="gateway.request")
        payload = await behind_a_proxy.signed_up("cy@example.com")
        signed_in = await behind_a_proxy.login("cy@example.com", headers=from_ip(forwarded))
        sessions: list[dict[str, Any]] = await behind_a_proxy.sessions(signed_in["accessToken"])
        assert [s["clientIp"] for s in sessions if s["current"]] == [recorded]
        assert (await audited_addresses())[-1] == recorded
        assert payload["user"]["email"] == "cy@example.com"
        formatter = JsonFormatter()
        logged = [formatter.format(r) for r in caplog.records if r.name == "gateway.request"]
        assert f'"client_ip": "{recorded}"' in logged[-2]  # the login's line
