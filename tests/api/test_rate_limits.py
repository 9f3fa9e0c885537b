"""Rate limits and the sign-in lockout, over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from persistence.models import AuditEventRow, ThrottleRow
from tests.support.client import PASSWORD, Gateway, GatewayFactory
from tests.support.clock import AdjustableClock
from tests.support.processes import server_command
from tests.support.settings import JWT_SECRET


def from_ip(address: str) -> dict[str, str]:
    """What a trusted reverse proxy adds for a client at ``address``."""
    return {"X-Forwarded-For": address}


def assert_rate_limited(result: dict[str, Any], code: str = "RATE_LIMITED") -> int:
    assert result["__typename"] == "RateLimited", result
    assert result["code"] == code
    retry_after: int = result["retryAfterSeconds"]
    assert retry_after >= 1
    return retry_after


class TestLoginPerIp:
    async def test_password_spraying_from_one_address_is_stopped(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_login_per_ip="5/10m")
        answers = [await gateway.login(f"victim{n}@example.com", "Summer2026!") for n in range(7)]

        assert [a["__typename"] for a in answers[:5]] == ["InvalidCredentials"] * 5
        retry_after = assert_rate_limited(answers[5])
        assert 0 < retry_after <= 600
        assert_rate_limited(answers[6])

    async def test_the_limit_is_per_address_behind_a_trusted_proxy(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_login_per_ip="2/10m", trusted_proxies="127.0.0.1")
        for _ in range(2):
            await gateway.login("someone@example.com", "wrong password", headers=from_ip("203.0.113.7"))
        assert_rate_limited(await gateway.login("a@example.com", "x", headers=from_ip("203.0.113.7")))
        other = await gateway.login("a@example.com", "wrong password", headers=from_ip("198.51.100.9"))
        assert other["__typename"] == "InvalidCredentials"

    async def test_ipv6_clients_are_counted_by_their_64(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_login_per_ip="2/10m", trusted_proxies="127.0.0.1")
        for host in ("2001:db8:7:7::1", "2001:db8:7:7::2"):
            await gateway.login("someone@example.com", "wrong password", headers=from_ip(host))
        assert_rate_limited(await gateway.login("a@example.com", "x", headers=from_ip("2001:db8:7:7:ffff::3")))
        other = await gateway.login("a@example.com", "wrong password", headers=from_ip("2001:db8:7:8::1"))
        assert other["__typename"] == "InvalidCredentials"

    async def test_a_forged_forwarded_for_is_ignored_without_trusted_proxies(
        self, gateway_factory: GatewayFactory
    ) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_login_per_ip="2/10m")
        for n in range(2):
            await gateway.login("someone@example.com", "wrong password", headers=from_ip(f"203.0.113.{n}"))
        assert_rate_limited(await gateway.login("a@example.com", "x", headers=from_ip("198.51.100.200")))

    async def test_the_window_slides(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock, rate_limit_login_per_ip="3/1m")
        for _ in range(3):
            await gateway.login("someone@example.com", "wrong password")
        retry_after = assert_rate_limited(await gateway.login("someone@example.com", "wrong password"))
        clock.advance(seconds=retry_after)
        assert (await gateway.login("someone@example.com", "wrong password"))["__typename"] == "InvalidCredentials"


class TestLoginLockout:
    """Failures in a row on one address, from any number of client addresses."""

    SETTINGS: dict[str, Any] = {  # noqa: RUF012 - read-only test constant
        "trusted_proxies": "127.0.0.1",
        "lockout_free_failures": 3,
        "lockout_first_delay_seconds": 30,
        "lockout_max_delay_seconds": 120,
    }

    async def test_one_account_from_many_addresses_is_slowed_down(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock(frozen=True)  # the waits are asserted to the second
        gateway: Gateway = await gateway_factory(clock=clock, **self.SETTINGS)
        await gateway.signed_up("target@example.com")

        for n in range(3):
            wrong = await gateway.login("target@example.com", "guess", headers=from_ip(f"203.0.113.{n}"))
            assert wrong["__typename"] == "InvalidCredentials"
        # The fourth guess, from yet another address, must wait; so must the owner.
        assert assert_rate_limited(await gateway.login("target@example.com", "g", headers=from_ip("192.0.2.1"))) == 30
        assert_rate_limited(await gateway.login("target@example.com", PASSWORD, headers=from_ip("192.0.2.2")))

        clock.advance(seconds=30)
        assert (await gateway.login("target@example.com", "guess"))["__typename"] == "InvalidCredentials"
        # Each further failure doubles the wait, up to the cap.
        assert assert_rate_limited(await gateway.login("target@example.com", "guess")) == 60
        clock.advance(seconds=60)
        assert (await gateway.login("target@example.com", "guess"))["__typename"] == "InvalidCredentials"
        assert assert_rate_limited(await gateway.login("target@example.com", "guess")) == 120
        clock.advance(seconds=120)
        assert (await gateway.login("target@example.com", "guess"))["__typename"] == "InvalidCredentials"
        assert assert_rate_limited(await gateway.login("target@example.com", "guess")) == 120

        # The owner gets in once the wait is over, and that ends the streak.
        clock.advance(seconds=120)
        assert (await gateway.login("target@example.com", PASSWORD))["__typename"] == "AuthPayload"
        for _ in range(3):
            assert (await gateway.login("target@example.com", "guess"))["__typename"] == "InvalidCredentials"

    async def test_an_unknown_address_is_throttled_exactly_alike(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(**self.SETTINGS)
        await gateway.signed_up("known@example.com")
        known = [await gateway.login("known@example.com", "guess") for _ in range(5)]
        unknown = [await gateway.login("nobody@example.com", "guess") for _ in range(5)]
        assert known == unknown
        assert [a["__typename"] for a in known] == ["InvalidCredentials"] * 3 + ["RateLimited"] * 2

    async def test_concurrent_guesses_are_each_counted(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(**self.SETTINGS)
        await gateway.signed_up("target@example.com")
        answers = await asyncio.gather(*(gateway.login("target@example.com", f"guess {n}") for n in range(10)))
        kinds = sorted(a["__typename"] for a in answers)
        assert kinds == ["InvalidCredentials"] * 3 + ["RateLimited"] * 7

    async def test_the_hard_limit_locks_until_an_operator_unlocks(
        self, gateway_factory: GatewayFactory, database_url: str, tmp_path: Path
    ) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(
            clock=clock,
            lockout_free_failures=2,
            lockout_first_delay_seconds=1,
            lockout_max_delay_seconds=1,
            lockout_hard_limit=4,
        )
        await gateway.signed_up("target@example.com")
        for _ in range(4):
            assert (await gateway.login("target@example.com", "guess"))["__typename"] == "InvalidCredentials"
            clock.advance(seconds=1)
        clock.advance(days=1)
        locked = await gateway.login("target@example.com", PASSWORD)
        assert_rate_limited(locked, code="ACCOUNT_LOCKED")
        assert "locked" in locked["message"]

        events = await AuditEventRow.filter(event="account_locked").count()
        assert events == 1

        env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET, "DATA_DIR": str(tmp_path)}
        unlocked = await server_command("unlock-account", "Target@Example.com", env=env)
        assert unlocked.status == 0, unlocked.stderr
        assert "lockout cleared" in unlocked.stdout
        assert (await gateway.login("target@example.com", PASSWORD))["__typename"] == "AuthPayload"


class TestVerifyOtpLimits:
    async def test_guessing_a_code_five_times_then_the_sixth(self, gateway: Gateway) -> None:
        await gateway.register("pending@example.com")
        code = await gateway.last_code("pending@example.com")
        wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 6)]
        answers = [(await gateway.verify("pending@example.com", guess))["__typename"] for guess in wrong]
        assert answers == ["InvalidOtp"] * 4 + ["TooManyAttempts"]
        # The sixth, even the right code, is refused: this code is spent.
        assert (await gateway.verify("pending@example.com", code))["__typename"] == "TooManyAttempts"

    async def test_per_account_limit_spans_fresh_codes(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_verify_per_account="6/10m")
        await gateway.register("pending@example.com")
        for _ in range(5):
            await gateway.verify("pending@example.com", "000000")
        await gateway.register("pending@example.com")  # a fresh code with five fresh tries
        assert (await gateway.verify("pending@example.com", "000000"))["__typename"] in {"InvalidOtp", "AuthPayload"}
        assert_rate_limited(await gateway.verify("pending@example.com", await gateway.last_code("pending@example.com")))

    async def test_per_ip_limit(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_verify_per_ip="3/10m")
        for n in range(3):
            assert (await gateway.verify(f"p{n}@example.com", "123456"))["__typename"] == "InvalidOtp"
        assert_rate_limited(await gateway.verify("p9@example.com", "123456"))


class TestRegisterLimits:
    async def test_mails_to_one_address_are_bounded(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_codes_per_account="2/1h")
        await gateway.signed_up("owner@example.com")  # one mail: the code
        assert (await gateway.register("owner@example.com"))["__typename"] == "OtpSent"  # a notice
        assert_rate_limited(await gateway.register("Owner@Example.com"))
        assert len(gateway.mailbox.bodies_to("owner@example.com")) == 2

    async def test_code_resends_through_login_share_the_budget(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_codes_per_account="2/1h")
        await gateway.register("late@example.com")
        assert (await gateway.login("late@example.com"))["__typename"] == "EmailNotVerified"
        assert_rate_limited(await gateway.login("late@example.com"))
        assert len(gateway.mailbox.bodies_to("late@example.com")) == 2

    async def test_per_ip_limit(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_register_per_ip="2/1h")
        assert (await gateway.register("one@example.com"))["__typename"] == "OtpSent"
        assert (await gateway.register("two@example.com"))["__typename"] == "OtpSent"
        assert_rate_limited(await gateway.register("three@example.com"))
        assert gateway.mailbox.bodies_to("three@example.com") == []


class TestRefreshLimits:
    async def test_per_ip_limit(self, gateway_factory: GatewayFactory) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_refresh_per_ip="2/1m")
        for _ in range(2):
            assert (await gateway.refresh("not a token"))["__typename"] == "InvalidRefreshToken"
        assert_rate_limited(await gateway.refresh("not a token"))

    async def test_per_ip_limit_counts_real_refreshes_and_a_refused_one_spends_nothing(
        self, gateway_factory: GatewayFactory
    ) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock, rate_limit_refresh_per_ip="2/1m")
        refresh_token = (await gateway.signed_up("tabs@example.com"))["refreshToken"]
        for _ in range(2):
            refresh_token = (await gateway.refresh(refresh_token))["refreshToken"]
        retry_after = assert_rate_limited(await gateway.refresh(refresh_token))
        refusal = await AuditEventRow.get(event="rate_limited")
        assert refusal.detail == "refresh:ip"
        clock.advance(seconds=retry_after)
        assert (await gateway.refresh(refresh_token))["__typename"] == "AuthPayload"  # not spent, not revoked

    async def test_per_account_limit_leaves_the_session_usable(self, gateway_factory: GatewayFactory) -> None:
        clock = AdjustableClock()
        gateway: Gateway = await gateway_factory(clock=clock, rate_limit_refresh_per_account="2/1m")
        refresh_token = (await gateway.signed_up("busy@example.com"))["refreshToken"]
        for _ in range(2):
            refresh_token = (await gateway.refresh(refresh_token))["refreshToken"]
        retry_after = assert_rate_limited(await gateway.refresh(refresh_token))
        refusal = await AuditEventRow.get(event="rate_limited")
        assert refusal.detail == "refresh:account"
        assert refusal.user_id is not None  # type: ignore[attr-defined]  # FK column
        clock.advance(seconds=retry_after)
        assert (await gateway.refresh(refresh_token))["__typename"] == "AuthPayload"


class TestAuditLog:
    async def test_every_event_is_recorded_without_secrets(
        self, gateway_factory: GatewayFactory, caplog: pytest.LogCaptureFixture
    ) -> None:
        gateway: Gateway = await gateway_factory(rate_limit_login_per_ip="4/10m", trusted_proxies="127.0.0.1")
        client = {"X-Forwarded-For": "203.0.113.5", "User-Agent": "AuditTest/1.0"}
        caplog.set_level("INFO", logger="gateway.audit")

        await gateway.register("audited@example.com", headers=client)
        code = await gateway.last_code("audited@example.com")
        await gateway.verify("audited@example.com", "000000" if code != "000000" else "111111", headers=client)
        signed_in = await gateway.verify("audited@example.com", code, headers=client)
        await gateway.login("audited@example.com", "wrong password", headers=client)
        await gateway.login("audited@example.com", headers=client)
        refreshed = await gateway.refresh(signed_in["refreshToken"], headers=client)
        await gateway.refresh(refreshed["refreshToken"], headers=client)
        gateway_reuse = await gateway.refresh(signed_in["refreshToken"], headers=client)  # long spent: reuse
        assert gateway_reuse["__typename"] == "InvalidRefreshToken"
        await gateway.login("audited@example.com", headers=client)
        await gateway.login("audited@example.com", headers=client)
        await gateway.login("audited@example.com", headers=client)  # the fifth from this address

        rows = await AuditEventRow.all().order_by("id")
        assert [row.event for row in rows] == [
            "registered",
            "code_sent",
            "verify_failed",
            "verify_succeeded",
            "login_failed",
            "login_succeeded",
            "token_refreshed",
            "token_refreshed",
            "refresh_token_reused",
            "login_succeeded",
            "login_succeeded",
            "rate_limited",
        ]
        user_id = signed_in["user"]["id"]
        owners = {str(row.user_id) for row in rows if row.event != "rate_limited"}  # type: ignore[attr-defined]  # FK column
        assert owners == {user_id}
        assert {row.client_ip for row in rows} == {"203.0.113.5"}
        assert {row.user_agent for row in rows} == {"AuditTest/1.0"}
        assert [row.detail for row in rows if row.detail] == [
            "verify_email",
            "InvalidOtp",
            "wrong_password",
            "login:ip",
        ]

        logged = [record.getMessage() for record in caplog.records if record.name == "gateway.audit"]
        assert len(logged) == len(rows)
        assert all('"audit": ' in line and '"client_ip": "203.0.113.5"' in line for line in logged)
        secrets = [PASSWORD, "wrong password", code, signed_in["refreshToken"], signed_in["accessToken"], "audited@"]
        stored = " ".join(str(value) for row in rows for value in row.__dict__.values())
        for secret in secrets:
            assert secret not in stored
            assert not any(secret in line for line in logged)

    async def test_counters_hold_no_addresses(self, gateway: Gateway) -> None:
        await gateway.login("private@example.com", "wrong password")
        keys = await ThrottleRow.all().values_list("key", flat=True)
        assert keys
        assert all(len(key) == 64 and "private" not in key and "127.0.0.1" not in key for key in keys)


class TestConcurrentSignIns:
    async def test_simultaneous_logins_to_one_account_are_not_told_to_wait(self, gateway: Gateway) -> None:
        """Each waits for the lockout row in turn; none may judge it by a time read before its turn."""
        await gateway.signed_up("busy@example.com")
        for _ in range(3):
            answers = await asyncio.gather(*(gateway.login("busy@example.com") for _ in range(8)))
            assert [a["__typename"] for a in answers] == ["AuthPayload"] * 8, answers
