"""The repository methods of the account lifecycle against real SQLite and PostgreSQL databases.

Signed-in checks, session lists and revocations, e-mail changes, account deletion
and forgetting an account in the audit log, each through the real unit of work.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.entities import AuditEvent, AuditEventType, OtpChallenge, OtpPurpose, RefreshTokenRecord, Session, User
from domain.errors import EmailAlreadyTaken
from persistence.models import AuditEventRow, OtpChallengeRow, RefreshTokenRow, SessionRow, UserRow
from persistence.unit_of_work import TortoiseUnitOfWork

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
IDLE_LIFETIME = timedelta(days=14)
USED_SINCE = NOW - IDLE_LIFETIME


def a_user(email: str) -> User:
    return User(
        id=uuid.uuid4(),
        email=email,
        password_hash="$2b$04$" + "x" * 53,
        first_name="Per",
        last_name=None,
        email_verified=True,
        created_at=NOW - timedelta(days=100),
    )


async def stored_user(email: str = "person@example.com") -> User:
    user = a_user(email)
    async with TortoiseUnitOfWork() as uow:
        await uow.users.add(user)
        await uow.commit()
    return user


def a_session(
    user: User,
    *,
    last_used_at: datetime = NOW - timedelta(hours=1),
    expires_at: datetime = NOW + timedelta(days=30),
    revoked_at: datetime | None = None,
    client_ip: str | None = "192.0.2.1",
    user_agent: str | None = "Browser/1.0",
) -> Session:
    return Session(
        id=uuid.uuid4(),
        user_id=user.id,
        family_seed=uuid.uuid4().bytes * 2,
        generation=0,
        created_at=last_used_at - timedelta(hours=1),
        last_used_at=last_used_at,
        expires_at=expires_at,
        revoked_at=revoked_at,
        client_ip=client_ip,
        user_agent=user_agent,
    )


async def stored_sessions(*sessions: Session) -> None:
    async with TortoiseUnitOfWork() as uow:
        for session in sessions:
            await uow.sessions.add(session)
        await uow.commit()


def a_challenge(user: User, purpose: OtpPurpose, new_email: str | None = None) -> OtpChallenge:
    return OtpChallenge(
        id=uuid.uuid4(),
        user_id=user.id,
        purpose=purpose,
        code_hmac="a" * 64,
        expires_at=NOW + timedelta(minutes=10),
        created_at=NOW,
        new_email=new_email,
    )


def an_event(user: User | None, client_ip: str = "198.51.100.7", user_agent: str = "Browser/1.0") -> AuditEvent:
    return AuditEvent(
        type=AuditEventType.LOGIN_SUCCEEDED,
        occurred_at=NOW,
        user_id=user.id if user else None,
        client_ip=client_ip,
        user_agent=user_agent,
        detail="password",
    )


async def signed_in(user: User, session: Session) -> User | None:
    async with TortoiseUnitOfWork() as uow:
        return await uow.users.get_signed_in(user.id, session.id, NOW, USED_SINCE)


@pytest.mark.usefixtures("database")
class TestGetForUpdate:
    async def test_returns_the_account_and_none_for_an_unknown_id(self) -> None:
        user = await stored_user()
        async with TortoiseUnitOfWork() as uow:
            assert await uow.users.get_for_update(user.id) == user
            assert await uow.users.get_for_update(uuid.uuid4()) is None


@pytest.mark.usefixtures("database")
class TestGetSignedIn:
    async def test_a_live_session_signs_its_account_in(self) -> None:
        user = await stored_user()
        session = a_session(user)
        await stored_sessions(session)
        assert await signed_in(user, session) == user

    async def test_a_session_used_just_inside_the_idle_limit_is_live(self) -> None:
        user = await stored_user()
        session = a_session(user, last_used_at=USED_SINCE + timedelta(microseconds=1))
        await stored_sessions(session)
        assert await signed_in(user, session) == user

    async def test_a_revoked_session_does_not(self) -> None:
        user = await stored_user()
        session = a_session(user, revoked_at=NOW - timedelta(minutes=1))
        await stored_sessions(session)
        assert await signed_in(user, session) is None

    async def test_an_expired_session_does_not(self) -> None:
        user = await stored_user()
        session = a_session(user, expires_at=NOW)  # expires_at <= now: over
        await stored_sessions(session)
        assert await signed_in(user, session) is None

    async def test_an_idle_session_does_not(self) -> None:
        user = await stored_user()
        session = a_session(user, last_used_at=USED_SINCE)
        await stored_sessions(session)
        assert await signed_in(user, session) is None

    async def test_a_session_of_another_account_does_not(self) -> None:
        user = await stored_user("person@example.com")
        other = await stored_user("other@example.com")
        others_session = a_session(other)
        await stored_sessions(others_session)
        assert await signed_in(user, others_session) is None

    async def test_an_unknown_session_or_account_does_not(self) -> None:
        user = await stored_user()
        session = a_session(user)
        await stored_sessions(session)
        async with TortoiseUnitOfWork() as uow:
            assert await uow.users.get_signed_in(user.id, uuid.uuid4(), NOW, USED_SINCE) is None
            assert await uow.users.get_signed_in(uuid.uuid4(), session.id, NOW, USED_SINCE) is None

    async def test_every_condition_holds_for_the_one_session_asked_about(self) -> None:
        # Another live session of the account must not lend its liveness to an ended one.
        user = await stored_user()
        live = a_session(user)
        revoked = a_session(user, revoked_at=NOW - timedelta(minutes=1))
        expired = a_session(user, expires_at=NOW - timedelta(minutes=1))
        idle = a_session(user, last_used_at=USED_SINCE - timedelta(days=1))
        await stored_sessions(live, revoked, expired, idle)
        assert await signed_in(user, live) == user
        for ended in (revoked, expired, idle):
            assert await signed_in(user, ended) is None


@pytest.mark.usefixtures("database")
class TestSaveUser:
    async def test_the_address_of_another_account_is_refused_and_nothing_changes(self) -> None:
        user = await stored_user("person@example.com")
        other = await stored_user("other@example.com")
        changed = a_user("OTHER@example.com")  # the same key, whatever the case
        changed.id = user.id
        changed.first_name = "Changed"
        with pytest.raises(EmailAlreadyTaken):
            async with TortoiseUnitOfWork() as uow:
                await uow.users.save(changed)
        async with TortoiseUnitOfWork() as uow:
            assert await uow.users.get(user.id) == user
            assert await uow.users.get(other.id) == other
            assert await uow.users.get_by_email("other@example.com") == other

    async def test_a_new_case_of_its_own_address_is_not_another_accounts(self) -> None:
        user = await stored_user("person@example.com")
        user.email = "Person@Example.com"
        async with TortoiseUnitOfWork() as uow:
            await uow.users.save(user)
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            assert await uow.users.get_by_email("person@example.com") == user

    async def test_the_address_of_an_account_deleted_in_the_same_transaction_is_free(self) -> None:
        # An e-mail change removes an unverified account waiting on the address, then takes it.
        user = await stored_user("person@example.com")
        waiting = await stored_user("new@example.com")
        user.email = "new@example.com"
        async with TortoiseUnitOfWork() as uow:
            await uow.users.delete(waiting.id)
            await uow.users.save(user)
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            assert await uow.users.get_by_email("new@example.com") == user
            assert await uow.users.get(waiting.id) is None


class Account:
    """A stored account with two sessions, a refresh token each, two codes and an audit event."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.sessions = [a_session(user), a_session(user, revoked_at=NOW)]
        self.tokens = [
            RefreshTokenRecord(token_hash=uuid.uuid4().hex * 2, session_id=session.id, generation=0, issued_at=NOW)
            for session in self.sessions
        ]
        self.challenges = [
            a_challenge(user, OtpPurpose.RESET_PASSWORD),
            a_challenge(user, OtpPurpose.CHANGE_EMAIL, new_email="moved@example.com"),
        ]

    @classmethod
    async def stored(cls, email: str) -> Account:
        account = cls(await stored_user(email))
        async with TortoiseUnitOfWork() as uow:
            for session in account.sessions:
                await uow.sessions.add(session)
            for token in account.tokens:
                await uow.sessions.add_token(token)
            for challenge in account.challenges:
                await uow.otps.replace(challenge)
            await uow.audit.add(an_event(account.user))
            await uow.commit()
        return account

    async def rows(self) -> tuple[int, int, int, int, int]:
        """How many rows of users, sessions, refresh tokens, codes and audit events name this account."""
        user_id = self.user.id
        session_ids = [session.id for session in self.sessions]
        return (
            await UserRow.filter(id=user_id).count(),
            await SessionRow.filter(user_id=user_id).count(),
            await RefreshTokenRow.filter(session_id__in=session_ids).count(),
            await OtpChallengeRow.filter(user_id=user_id).count(),
            await AuditEventRow.filter(user_id=user_id).count(),
        )


@pytest.mark.usefixtures("database")
class TestDeleteUser:
    async def test_removes_the_account_its_sessions_tokens_and_codes(self) -> None:
        account = await Account.stored("person@example.com")
        async with TortoiseUnitOfWork() as uow:
            await uow.users.delete(account.user.id)
            await uow.commit()
        assert await account.rows() == (0, 0, 0, 0, 0)
        async with TortoiseUnitOfWork() as uow:
            assert await uow.users.get(account.user.id) is None
            assert await uow.users.get_by_email("person@example.com") is None
            assert await uow.sessions.get_for_update(account.sessions[0].id) is None
            assert await uow.sessions.find_token(account.tokens[0].token_hash) is None
            assert await uow.otps.get_for_update(account.user.id, OtpPurpose.CHANGE_EMAIL) is None

    async def test_leaves_another_account_untouched(self) -> None:
        account = await Account.stored("person@example.com")
        other = await Account.stored("other@example.com")
        async with TortoiseUnitOfWork() as uow:
            await uow.users.delete(account.user.id)
            await uow.commit()
        assert await other.rows() == (1, 2, 2, 2, 1)
        async with TortoiseUnitOfWork() as uow:
            assert await uow.users.get(other.user.id) == other.user
            for session in other.sessions:
                assert await uow.sessions.get_for_update(session.id) == session
            for token in other.tokens:
                assert await uow.sessions.find_token(token.token_hash) == token
            for challenge in other.challenges:
                assert await uow.otps.get_for_update(other.user.id, challenge.purpose) == challenge

    async def test_its_audit_events_stay_without_the_account(self) -> None:
        # An e-mail change deletes an unverified account without forgetting its events first.
        account = await Account.stored("person@example.com")
        async with TortoiseUnitOfWork() as uow:
            await uow.users.delete(account.user.id)
            await uow.commit()
        row = await AuditEventRow.get()
        assert row.user_id is None  # type: ignore[attr-defined]  # FK column
        assert row.event == "login_succeeded"

    async def test_an_account_without_sessions_or_codes_is_deleted_too(self) -> None:
        user = await stored_user()
        async with TortoiseUnitOfWork() as uow:
            await uow.users.delete(user.id)
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            assert await uow.users.get(user.id) is None

    async def test_an_uncommitted_delete_leaves_everything_in_place(self) -> None:
        account = await Account.stored("person@example.com")
        async with TortoiseUnitOfWork() as uow:
            await uow.users.delete(account.user.id)
            assert await uow.users.get(account.user.id) is None  # gone inside the transaction
        assert await account.rows() == (1, 2, 2, 2, 1)
        async with TortoiseUnitOfWork() as uow:
            assert await uow.users.get(account.user.id) == account.user
            assert await uow.sessions.find_token(account.tokens[1].token_hash) == account.tokens[1]


@pytest.mark.usefixtures("database")
class TestListLive:
    async def test_the_accounts_live_sessions_most_recently_used_first(self) -> None:
        user = await stored_user("person@example.com")
        other = await stored_user("other@example.com")
        oldest = a_session(user, last_used_at=USED_SINCE + timedelta(microseconds=1))
        newest = a_session(user, last_used_at=NOW - timedelta(seconds=1))
        middle = a_session(user, last_used_at=NOW - timedelta(days=2))
        await stored_sessions(
            oldest,
            newest,
            middle,
            a_session(user, revoked_at=NOW - timedelta(minutes=1)),
            a_session(user, expires_at=NOW),
            a_session(user, last_used_at=USED_SINCE),
            a_session(other),
        )
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.list_live(user.id, NOW, USED_SINCE) == [newest, middle, oldest]

    async def test_an_account_without_live_sessions_has_an_empty_list(self) -> None:
        user = await stored_user()
        await stored_sessions(a_session(user, revoked_at=NOW))
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.list_live(user.id, NOW, USED_SINCE) == []
            assert await uow.sessions.list_live(uuid.uuid4(), NOW, USED_SINCE) == []

    async def test_the_client_of_a_session_round_trips_through_add_and_save(self) -> None:
        user = await stored_user()
        session = a_session(user, client_ip="2001:db8::1", user_agent="Browser/1.0 " + "x" * 500)
        unknown_client = a_session(user, client_ip=None, user_agent=None)
        await stored_sessions(session, unknown_client)
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.get_for_update(session.id) == session
            assert await uow.sessions.get_for_update(unknown_client.id) == unknown_client
        session.client_ip = "203.0.113.9"
        session.user_agent = "Phone/2.0"
        session.last_used_at = NOW
        session.generation = 1
        async with TortoiseUnitOfWork() as uow:
            await uow.sessions.save(session)
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.list_live(user.id, NOW, USED_SINCE) == [session, unknown_client]


@pytest.mark.usefixtures("database")
class TestRevokeAll:
    async def test_revokes_every_live_session_and_counts_them(self) -> None:
        user = await stored_user()
        live = [a_session(user), a_session(user, last_used_at=USED_SINCE + timedelta(microseconds=1))]
        await stored_sessions(*live)
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.revoke_all(user.id, NOW, USED_SINCE) == 2
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            for session in live:
                found = await uow.sessions.get_for_update(session.id)
                assert found is not None
                assert found.revoked_at == NOW
            assert await uow.sessions.list_live(user.id, NOW, USED_SINCE) == []
        for session in live:
            assert await signed_in(user, session) is None

    async def test_sessions_that_have_already_ended_are_neither_counted_nor_touched(self) -> None:
        user = await stored_user()
        live = a_session(user)
        ended = [
            a_session(user, revoked_at=NOW - timedelta(days=1)),
            a_session(user, expires_at=NOW),
            a_session(user, last_used_at=USED_SINCE),
        ]
        await stored_sessions(live, *ended)
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.revoke_all(user.id, NOW, USED_SINCE) == 1
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            for session in ended:
                assert await uow.sessions.get_for_update(session.id) == session

    async def test_a_second_call_revokes_nothing(self) -> None:
        user = await stored_user()
        await stored_sessions(a_session(user), a_session(user))
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.revoke_all(user.id, NOW, USED_SINCE) == 2
            assert await uow.sessions.revoke_all(user.id, NOW + timedelta(seconds=1), USED_SINCE) == 0
            await uow.commit()

    async def test_keeps_the_session_it_is_asked_to_keep(self) -> None:
        user = await stored_user()
        current = a_session(user, last_used_at=NOW)
        elsewhere = a_session(user)
        await stored_sessions(current, elsewhere)
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.revoke_all(user.id, NOW, USED_SINCE, keep=current.id) == 1
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.list_live(user.id, NOW, USED_SINCE) == [current]
        assert await signed_in(user, current) == user

    async def test_leaves_other_accounts_alone(self) -> None:
        user = await stored_user("person@example.com")
        other = await stored_user("other@example.com")
        others_session = a_session(other)
        await stored_sessions(a_session(user), others_session)
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.revoke_all(user.id, NOW, USED_SINCE) == 1
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.list_live(other.id, NOW, USED_SINCE) == [others_session]
        assert await signed_in(other, others_session) == other

    async def test_an_uncommitted_revocation_is_forgotten(self) -> None:
        user = await stored_user()
        session = a_session(user)
        await stored_sessions(session)
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.revoke_all(user.id, NOW, USED_SINCE) == 1
        assert await signed_in(user, session) == user


@pytest.mark.usefixtures("database")
class TestEmailChangeChallenge:
    async def test_the_new_address_round_trips(self) -> None:
        user = await stored_user()
        challenge = a_challenge(user, OtpPurpose.CHANGE_EMAIL, new_email="New.Address@example.com")
        async with TortoiseUnitOfWork() as uow:
            await uow.otps.replace(challenge)
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            assert await uow.otps.get_for_update(user.id, OtpPurpose.CHANGE_EMAIL) == challenge
            assert await uow.otps.get_for_update(user.id, OtpPurpose.RESET_PASSWORD) is None

    async def test_a_new_request_replaces_the_address_of_the_previous_one(self) -> None:
        user = await stored_user()
        first = a_challenge(user, OtpPurpose.CHANGE_EMAIL, new_email="first@example.com")
        second = a_challenge(user, OtpPurpose.CHANGE_EMAIL, new_email="second@example.com")
        reset = a_challenge(user, OtpPurpose.RESET_PASSWORD)
        async with TortoiseUnitOfWork() as uow:
            await uow.otps.replace(first)
            await uow.otps.replace(reset)
            await uow.otps.replace(second)
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            assert await uow.otps.get_for_update(user.id, OtpPurpose.CHANGE_EMAIL) == second
            assert await uow.otps.get_for_update(user.id, OtpPurpose.RESET_PASSWORD) == reset


@pytest.mark.usefixtures("database")
class TestForgetAccount:
    async def test_blanks_the_account_and_client_of_its_events_only(self) -> None:
        user = await stored_user("person@example.com")
        other = await stored_user("other@example.com")
        async with TortoiseUnitOfWork() as uow:
            await uow.audit.add(an_event(user, "192.0.2.1", "Mine/1.0"))
            await uow.audit.add(an_event(user, "192.0.2.2", "Mine/2.0"))
            await uow.audit.add(an_event(other, "198.51.100.7", "Theirs/1.0"))
            await uow.audit.add(an_event(None, "203.0.113.5", "Anonymous/1.0"))
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            await uow.audit.forget_account(user.id)
            await uow.commit()
        rows = await AuditEventRow.all().order_by("id")
        kept = [(row.user_id, row.client_ip, row.user_agent, row.event, row.detail) for row in rows]  # type: ignore[attr-defined]  # FK column
        assert kept == [
            (None, None, None, "login_succeeded", "password"),
            (None, None, None, "login_succeeded", "password"),
            (other.id, "198.51.100.7", "Theirs/1.0", "login_succeeded", "password"),
            (None, "203.0.113.5", "Anonymous/1.0", "login_succeeded", "password"),
        ]

    async def test_forgotten_events_let_the_account_be_deleted(self) -> None:
        account = await Account.stored("person@example.com")
        async with TortoiseUnitOfWork() as uow:
            await uow.audit.forget_account(account.user.id)
            await uow.users.delete(account.user.id)
            await uow.commit()
        assert await account.rows() == (0, 0, 0, 0, 0)
        assert await AuditEventRow.all().count() == 1

    async def test_an_uncommitted_forgetting_is_forgotten(self) -> None:
        user = await stored_user()
        async with TortoiseUnitOfWork() as uow:
            await uow.audit.add(an_event(user))
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            await uow.audit.forget_account(user.id)
        row = await AuditEventRow.get()
        assert (row.user_id, row.client_ip) == (user.id, "198.51.100.7")  # type: ignore[attr-defined]  # FK column
