"""Repositories and the unit of work against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.context import TortoiseContext

from domain.entities import (
    AuditEvent,
    AuditEventType,
    OtpChallenge,
    OtpPurpose,
    RefreshTokenRecord,
    Session,
    User,
)
from domain.errors import EmailAlreadyTaken
from persistence.models import OtpChallengeRow
from persistence.unit_of_work import TortoiseReadOnlyUnitOfWork, TortoiseUnitOfWork

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def a_user(email: str = "Person@example.com") -> User:
    return User(
        id=uuid.uuid4(),
        email=email,
        password_hash="$2b$04$" + "x" * 53,
        first_name="Per",
        last_name=None,
        email_verified=False,
        created_at=NOW,
    )


async def stored_user(email: str = "Person@example.com") -> User:
    user = a_user(email)
    async with TortoiseUnitOfWork() as uow:
        await uow.users.add(user)
        await uow.commit()
    return user


@pytest.mark.usefixtures("database")
class TestUnitOfWork:
    async def test_leaving_without_commit_rolls_back(self) -> None:
        user = a_user()
        async with TortoiseUnitOfWork() as uow:
            await uow.users.add(user)
        async with TortoiseUnitOfWork() as uow:
            assert await uow.users.get(user.id) is None

    async def test_an_exception_rolls_back(self) -> None:
        user = a_user()

        async def fail_half_way() -> None:
            async with TortoiseUnitOfWork() as uow:
                await uow.users.add(user)
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await fail_half_way()
        async with TortoiseUnitOfWork() as uow:
            assert await uow.users.get(user.id) is None

    async def test_commit_persists(self) -> None:
        user = await stored_user()
        async with TortoiseUnitOfWork() as uow:
            found = await uow.users.get(user.id)
        assert found == user


@pytest.mark.usefixtures("database")
class TestUserRepository:
    async def test_finds_by_email_ignoring_case(self) -> None:
        user = await stored_user("Mixed.Case@example.com")
        async with TortoiseUnitOfWork() as uow:
            found = await uow.users.get_by_email("mixed.case@EXAMPLE.com")
        assert found is not None
        assert found.id == user.id
        assert found.email == "Mixed.Case@example.com"

    async def test_one_account_per_address_whatever_the_case(self) -> None:
        await stored_user("dup@example.com")
        with pytest.raises(EmailAlreadyTaken):
            async with TortoiseUnitOfWork() as uow:
                await uow.users.add(a_user("DUP@example.com"))

    async def test_save_updates_the_row(self) -> None:
        user = await stored_user()
        user.email_verified = True
        user.last_name = "Son"
        async with TortoiseUnitOfWork() as uow:
            await uow.users.save(user)
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            assert await uow.users.get(user.id) == user


def a_challenge(user: User, code_hmac: str = "a" * 64) -> OtpChallenge:
    return OtpChallenge(
        id=uuid.uuid4(),
        user_id=user.id,
        purpose=OtpPurpose.VERIFY_EMAIL,
        code_hmac=code_hmac,
        expires_at=NOW + timedelta(minutes=10),
        created_at=NOW,
    )


@pytest.mark.usefixtures("database")
class TestOtpRepository:
    async def test_replace_voids_the_previous_code(self) -> None:
        user = await stored_user()
        async with TortoiseUnitOfWork() as uow:
            await uow.otps.replace(a_challenge(user, "a" * 64))
            await uow.otps.replace(a_challenge(user, "b" * 64))
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            current = await uow.otps.get_for_update(user.id, OtpPurpose.VERIFY_EMAIL)
        assert current is not None
        assert current.code_hmac == "b" * 64

    async def test_replacing_at_once_leaves_one_code_and_never_fails(self) -> None:
        # DELETE then INSERT let two requests both insert; the unique key on (user, purpose)
        # then refused one, which answered INTERNAL_SERVER_ERROR.
        user = await stored_user()
        hmacs = [f"{n:x}" * 64 for n in range(8)]

        async def replace(code_hmac: str) -> None:
            async with TortoiseUnitOfWork() as uow:
                await uow.otps.replace(a_challenge(user, code_hmac[:64]))
                await uow.commit()

        await asyncio.gather(*(replace(code_hmac) for code_hmac in hmacs))

        rows = await OtpChallengeRow.filter(user_id=user.id)
        assert len(rows) == 1
        assert rows[0].code_hmac in {code_hmac[:64] for code_hmac in hmacs}

    async def test_delete_removes(self) -> None:
        user = await stored_user()
        async with TortoiseUnitOfWork() as uow:
            await uow.otps.replace(a_challenge(user))
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            found = await uow.otps.get_for_update(user.id, OtpPurpose.VERIFY_EMAIL)
            assert found is not None
            await uow.otps.delete(found)
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            assert await uow.otps.get_for_update(user.id, OtpPurpose.VERIFY_EMAIL) is None


@pytest.mark.usefixtures("database")
class TestSessionRepository:
    async def test_sessions_and_tokens_round_trip(self) -> None:
        user = await stored_user()
        session = Session(
            id=uuid.uuid4(),
            user_id=user.id,
            family_seed=bytes(range(32)),
            generation=0,
            created_at=NOW,
            last_used_at=NOW,
            expires_at=NOW + timedelta(days=30),
        )
        record = RefreshTokenRecord(token_hash="c" * 64, session_id=session.id, generation=0, issued_at=NOW)
        async with TortoiseUnitOfWork() as uow:
            await uow.sessions.add(session)
            await uow.sessions.add_token(record)
            await uow.commit()
        session.generation = 1
        session.revoked_at = NOW + timedelta(hours=1)
        async with TortoiseUnitOfWork() as uow:
            await uow.sessions.save(session)
            await uow.commit()
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.get_for_update(session.id) == session
            assert await uow.sessions.find_token("c" * 64) == record
            assert await uow.sessions.find_token("d" * 64) is None
            assert await uow.sessions.find_for_rotation("c" * 64) == (record, session, user)
            assert await uow.sessions.find_for_rotation("d" * 64) is None

    async def test_a_rotation_is_written_only_onto_the_generation_it_follows(self) -> None:
        user = await stored_user()
        session = Session(uuid.uuid4(), user.id, b"\1" * 32, 0, NOW, NOW, NOW + timedelta(days=1))
        async with TortoiseUnitOfWork() as uow:
            await uow.sessions.add(session)
            await uow.commit()

        def rotation(generation: int, at: datetime) -> tuple[Session, RefreshTokenRecord, AuditEvent]:
            moved = dataclasses.replace(session, generation=generation, last_used_at=at, client_ip="192.0.2.7")
            record = RefreshTokenRecord(f"{generation:064d}", session.id, generation, at)
            return moved, record, AuditEvent(AuditEventType.TOKEN_REFRESHED, at, user.id, "192.0.2.7", None)

        later = NOW + timedelta(minutes=1)
        async with TortoiseReadOnlyUnitOfWork() as statements:
            assert await statements.sessions.rotate(*rotation(1, later))
            assert not await statements.sessions.rotate(*rotation(1, later))  # generation 0 is gone
            assert not await statements.sessions.rotate(*rotation(3, later))  # not the one after 1
        async with TortoiseUnitOfWork() as uow:
            stored = await uow.sessions.get_for_update(session.id)
            assert stored == dataclasses.replace(session, generation=1, last_used_at=later, client_ip="192.0.2.7")
            assert await uow.sessions.find_token(f"{1:064d}") is not None
            assert await uow.sessions.find_token(f"{3:064d}") is None
            assert [e.type for e in await uow.audit.list_for_account(user.id, NOW, 10)] == [
                AuditEventType.TOKEN_REFRESHED
            ]
            assert stored is not None
            stored.revoked_at = later
            await uow.sessions.save(stored)
            await uow.commit()
        async with TortoiseReadOnlyUnitOfWork() as statements:
            assert not await statements.sessions.rotate(*rotation(2, later))  # revoked
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.find_token(f"{2:064d}") is None

    async def test_rotations_at_once_write_one_successor(self) -> None:
        user = await stored_user()
        session = Session(uuid.uuid4(), user.id, b"\2" * 32, 0, NOW, NOW, NOW + timedelta(days=1))
        async with TortoiseUnitOfWork() as uow:
            await uow.sessions.add(session)
            await uow.commit()

        async def rotate(number: int) -> bool:
            moved = dataclasses.replace(session, generation=1, last_used_at=NOW)
            record = RefreshTokenRecord(f"{number:064d}", session.id, 1, NOW)
            event = AuditEvent(AuditEventType.TOKEN_REFRESHED, NOW, user.id, None, None)
            async with TortoiseReadOnlyUnitOfWork() as statements:
                return await statements.sessions.rotate(moved, record, event)

        assert sorted(await asyncio.gather(*(rotate(number) for number in range(10)))) == [False] * 9 + [True]

    async def test_deleting_the_user_removes_its_sessions(self, database: TortoiseContext) -> None:
        user = await stored_user()
        session = Session(uuid.uuid4(), user.id, b"\0" * 32, 0, NOW, NOW, NOW + timedelta(days=1))
        async with TortoiseUnitOfWork() as uow:
            await uow.sessions.add(session)
            await uow.commit()
        await database.db().execute_query("DELETE FROM users")
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.get_for_update(session.id) is None
