from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from domain.entities import Client, MailKind
from domain.errors import InvalidAccessToken, InvalidCredentials, InvalidInput, RateLimited
from domain.services.account import UNCHANGED
from tests.unit.gateway import (
    BOB,
    BOB_PASSWORD,
    assert_signed_out,
    assert_still_signed_in,
    principal_of,
    sign_up,
    signed,
)

if TYPE_CHECKING:
    from domain.entities import Principal, SignedIn
    from tests.unit.fakes import CountingPasswordHasher, FakeDatabase, FakeMailer, FixedClock
    from tests.unit.gateway import VerifiedUser, WiredServices

NEW_PASSWORD = "a freshly chosen passphrase"
ALICES_PHONE = Client(ip="198.51.100.23", user_agent="AlicePhone/2.1")


@pytest.fixture
async def laptop(gateway: WiredServices, verified_user: VerifiedUser) -> SignedIn:
    """Alice signed in on a second device."""
    return signed(await gateway.login.login(verified_user.email, verified_user.password))


@pytest.fixture
async def bob(gateway: WiredServices, mailer: FakeMailer) -> SignedIn:
    """Another person's verified account, signed in."""
    return await sign_up(gateway, mailer, BOB, BOB_PASSWORD)


class TestChangePassword:
    async def test_the_new_password_signs_in_and_the_old_one_no_longer(
        self, gateway: WiredServices, verified_user: VerifiedUser, principal: Principal
    ) -> None:
        await gateway.account.change_password(principal, verified_user.password, NEW_PASSWORD)

        await gateway.login.login(verified_user.email, NEW_PASSWORD)
        with pytest.raises(InvalidCredentials):
            await gateway.login.login(verified_user.email, verified_user.password)

    async def test_keeps_the_current_session_and_ends_the_others(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        signed_in: SignedIn,
        laptop: SignedIn,
        principal: Principal,
        bob: SignedIn,
    ) -> None:
        phone = signed(await gateway.login.login(verified_user.email, verified_user.password))

        ended = await gateway.account.change_password(principal, verified_user.password, NEW_PASSWORD)

        assert ended == 2
        await assert_still_signed_in(gateway, signed_in)
        await assert_signed_out(gateway, laptop)
        await assert_signed_out(gateway, phone)
        await assert_still_signed_in(gateway, bob)

    async def test_counts_only_other_sessions_that_were_still_live(
        self, gateway: WiredServices, verified_user: VerifiedUser, signed_in: SignedIn, clock: FixedClock
    ) -> None:
        clock.advance(timedelta(days=15))  # the first session has been idle too long: it ended by itself
        later = signed(await gateway.login.login(verified_user.email, verified_user.password))

        ended = await gateway.account.change_password(
            await principal_of(gateway, later), verified_user.password, NEW_PASSWORD
        )

        assert ended == 0

    async def test_mails_a_notice_of_the_change(
        self, gateway: WiredServices, verified_user: VerifiedUser, principal: Principal, mailer: FakeMailer
    ) -> None:
        await gateway.account.change_password(principal, verified_user.password, NEW_PASSWORD)

        assert mailer.kinds_sent_to(verified_user.email) == [MailKind.PASSWORD_CHANGED]

    async def test_is_audited_with_the_sessions_ended(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        laptop: SignedIn,
        principal: Principal,
        database: FakeDatabase,
    ) -> None:
        await gateway.account.change_password(principal, verified_user.password, NEW_PASSWORD)

        last = database.state.audit_events[-1]
        assert (last.type.value, last.user_id, last.detail) == ("password_changed", principal.user.id, "ended:1")

    async def test_a_wrong_current_password(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        laptop: SignedIn,
        principal: Principal,
        mailer: FakeMailer,
        database: FakeDatabase,
    ) -> None:
        with pytest.raises(InvalidCredentials):
            await gateway.account.change_password(principal, "not my password", NEW_PASSWORD)

        assert database.audit_events()[-1] == "password_check_failed"
        assert mailer.sent == []
        await assert_still_signed_in(gateway, laptop)
        await gateway.login.login(verified_user.email, verified_user.password)

    async def test_wrong_current_passwords_count_towards_the_sign_in_lockout(
        self, gateway: WiredServices, verified_user: VerifiedUser, principal: Principal
    ) -> None:
        for _ in range(5):  # LockoutPolicy.free_failures
            with pytest.raises(InvalidCredentials):
                await gateway.account.change_password(principal, "not my password", NEW_PASSWORD)

        with pytest.raises(RateLimited) as refused:
            await gateway.account.change_password(principal, verified_user.password, NEW_PASSWORD)
        assert refused.value.retry_after_seconds == 30
        with pytest.raises(RateLimited):
            await gateway.login.login(verified_user.email, verified_user.password)

    async def test_the_right_current_password_ends_the_failure_streak(
        self, gateway: WiredServices, verified_user: VerifiedUser, principal: Principal, clock: FixedClock
    ) -> None:
        for _ in range(5):
            with pytest.raises(InvalidCredentials):
                await gateway.login.login(verified_user.email, "not my password")
        clock.advance(timedelta(seconds=30))

        await gateway.account.change_password(principal, verified_user.password, NEW_PASSWORD)

        with pytest.raises(InvalidCredentials):  # a fresh streak: no wait before this one
            await gateway.login.login(verified_user.email, "not my password")

    @pytest.mark.parametrize(
        "weak_password",
        ["password1", "short", "x" * 129, "alice@example.com is me"],
        ids=["common", "too short", "too long", "contains the address"],
    )
    async def test_a_new_password_breaking_the_rules_costs_no_password_check(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        principal: Principal,
        password_hasher: CountingPasswordHasher,
        weak_password: str,
    ) -> None:
        checks = password_hasher.verifications
        with pytest.raises(InvalidInput) as raised:
            await gateway.account.change_password(principal, verified_user.password, weak_password)

        assert [error.field for error in raised.value.errors] == ["new_password"]
        assert password_hasher.verifications == checks
        await gateway.login.login(verified_user.email, verified_user.password)

    async def test_an_empty_current_password_is_bad_input(
        self, gateway: WiredServices, principal: Principal, password_hasher: CountingPasswordHasher
    ) -> None:
        checks = password_hasher.verifications
        with pytest.raises(InvalidInput) as raised:
            await gateway.account.change_password(principal, "", NEW_PASSWORD)

        assert [error.field for error in raised.value.errors] == ["current_password"]
        assert password_hasher.verifications == checks


class TestUpdateProfile:
    async def test_sets_both_names(
        self, gateway: WiredServices, signed_in: SignedIn, principal: Principal, database: FakeDatabase
    ) -> None:
        user = await gateway.account.update_profile(principal, "Alicia", "Hargreaves")

        assert (user.first_name, user.last_name) == ("Alicia", "Hargreaves")
        stored = database.state.users[principal.user.id]
        assert (stored.first_name, stored.last_name) == ("Alicia", "Hargreaves")
        assert (await principal_of(gateway, signed_in)).user.first_name == "Alicia"

    async def test_surrounding_space_is_trimmed(
        self, gateway: WiredServices, principal: Principal, database: FakeDatabase
    ) -> None:
        await gateway.account.update_profile(principal, "  Alicia ", UNCHANGED)

        assert database.state.users[principal.user.id].first_name == "Alicia"

    async def test_none_clears_a_name(
        self, gateway: WiredServices, principal: Principal, database: FakeDatabase
    ) -> None:
        await gateway.account.update_profile(principal, first_name=None)

        stored = database.state.users[principal.user.id]
        assert (stored.first_name, stored.last_name) == (None, "Liddell")

    async def test_a_name_left_out_keeps_its_value(
        self, gateway: WiredServices, principal: Principal, database: FakeDatabase
    ) -> None:
        await gateway.account.update_profile(principal, last_name="Hargreaves")
        await gateway.account.update_profile(principal, first_name=UNCHANGED, last_name=UNCHANGED)

        stored = database.state.users[principal.user.id]
        assert (stored.first_name, stored.last_name) == ("Alice", "Hargreaves")

    @pytest.mark.parametrize(
        "bad_name",
        ["", "   ", "Al\x00ice", "Alice\x1b[31m", "x" * 129, "\ud800"],
        ids=["empty", "only spaces", "NUL", "escape sequence", "too long", "lone surrogate"],
    )
    async def test_a_bad_name_is_bad_input_and_nothing_changes(
        self, gateway: WiredServices, principal: Principal, database: FakeDatabase, bad_name: str
    ) -> None:
        with pytest.raises(InvalidInput) as raised:
            await gateway.account.update_profile(principal, "Alicia", bad_name)

        assert [error.field for error in raised.value.errors] == ["last_name"]
        stored = database.state.users[principal.user.id]
        assert (stored.first_name, stored.last_name) == ("Alice", "Liddell")

    async def test_both_bad_names_are_named(self, gateway: WiredServices, principal: Principal) -> None:
        with pytest.raises(InvalidInput) as raised:
            await gateway.account.update_profile(principal, "", "x" * 129)
        assert [error.field for error in raised.value.errors] == ["first_name", "last_name"]

    async def test_is_audited(self, gateway: WiredServices, principal: Principal, database: FakeDatabase) -> None:
        await gateway.account.update_profile(principal, "Alicia")

        last = database.state.audit_events[-1]
        assert (last.type.value, last.user_id) == ("profile_updated", principal.user.id)


class TestDeleteAccount:
    async def test_a_wrong_password_deletes_nothing(
        self, gateway: WiredServices, signed_in: SignedIn, principal: Principal, database: FakeDatabase
    ) -> None:
        with pytest.raises(InvalidCredentials):
            await gateway.account.delete_account(principal, "not my password")

        assert principal.user.id in database.state.users
        assert database.audit_events()[-1] == "password_check_failed"
        await assert_still_signed_in(gateway, signed_in)

    async def test_wrong_passwords_count_towards_the_sign_in_lockout(
        self, gateway: WiredServices, verified_user: VerifiedUser, principal: Principal, database: FakeDatabase
    ) -> None:
        for _ in range(5):
            with pytest.raises(InvalidCredentials):
                await gateway.account.delete_account(principal, "not my password")
        with pytest.raises(RateLimited):
            await gateway.account.delete_account(principal, verified_user.password)

        assert principal.user.id in database.state.users

    async def test_removes_the_account_with_its_sessions_tokens_and_codes(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        laptop: SignedIn,
        principal: Principal,
        database: FakeDatabase,
    ) -> None:
        await gateway.password_reset.request(verified_user.email)  # a pending code of the account
        await gateway.refresh.refresh(laptop.refresh_token)  # a spent token as well as live ones

        deleted = await gateway.account.delete_account(principal, verified_user.password)

        assert deleted == principal.user.id
        state = database.state
        assert state.users == {}
        assert state.sessions == {}
        assert state.refresh_tokens == {}
        assert state.challenges == {}

    async def test_leaves_other_accounts_alone(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        principal: Principal,
        bob: SignedIn,
        database: FakeDatabase,
    ) -> None:
        await gateway.account.delete_account(principal, verified_user.password)

        assert list(database.state.users) == [bob.user.id]
        await assert_still_signed_in(gateway, bob)
        await gateway.login.login(BOB, BOB_PASSWORD)

    async def test_the_audit_log_keeps_nothing_that_identifies_the_owner(
        self, gateway: WiredServices, verified_user: VerifiedUser, bob: SignedIn, database: FakeDatabase
    ) -> None:
        on_phone = signed(await gateway.login.login(verified_user.email, verified_user.password, ALICES_PHONE))
        principal = await principal_of(gateway, on_phone)
        with pytest.raises(InvalidCredentials):
            await gateway.account.delete_account(principal, "not my password", ALICES_PHONE)

        await gateway.account.delete_account(principal, verified_user.password, ALICES_PHONE)

        events = database.state.audit_events
        assert all(event.user_id != principal.user.id for event in events)
        assert all(ALICES_PHONE.ip not in (event.client_ip, event.user_agent) for event in events)
        assert all(ALICES_PHONE.user_agent not in (event.client_ip, event.user_agent) for event in events)
        anonymous = [event for event in events if event.user_id is None]
        assert len(anonymous) > 2  # her events are still there, without her id
        assert any(event.user_id == bob.user.id for event in events)  # others' events keep theirs

    async def test_an_account_deleted_event_names_no_one(
        self, gateway: WiredServices, verified_user: VerifiedUser, database: FakeDatabase
    ) -> None:
        on_phone = signed(await gateway.login.login(verified_user.email, verified_user.password, ALICES_PHONE))

        await gateway.account.delete_account(await principal_of(gateway, on_phone), verified_user.password)

        last = database.state.audit_events[-1]
        assert last.type.value == "account_deleted"
        assert (last.user_id, last.client_ip, last.user_agent) == (None, None, None)

    async def test_afterwards_neither_tokens_nor_the_password_work(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        signed_in: SignedIn,
        laptop: SignedIn,
        principal: Principal,
    ) -> None:
        claims = gateway.identity.read_access_token(laptop.access_token)

        await gateway.account.delete_account(principal, verified_user.password)

        with pytest.raises(InvalidAccessToken):
            await gateway.identity.authenticate(claims)
        await assert_signed_out(gateway, signed_in)
        with pytest.raises(InvalidCredentials):
            await gateway.login.login(verified_user.email, verified_user.password)

    async def test_the_address_can_sign_up_again(
        self,
        gateway: WiredServices,
        verified_user: VerifiedUser,
        principal: Principal,
        mailer: FakeMailer,
        clock: FixedClock,
    ) -> None:
        await gateway.account.delete_account(principal, verified_user.password)
        clock.advance(timedelta(minutes=1))  # past the cooldown of the sign-up mail

        again = await sign_up(gateway, mailer, verified_user.email, NEW_PASSWORD)

        assert again.user.id != principal.user.id
        assert (again.user.first_name, again.user.last_name) == (None, None)
