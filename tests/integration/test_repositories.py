"""Repositories and the unit of work against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.context import TortoiseContext

from domain.entities import OtpChallenge, OtpPurpose, RefreshTokenRecord, Session, User
from domain.errors import EmailAlreadyTaken
from persistence.models import OtpChallengeRow
from persistence.unit_of_work import TortoiseUnitOfWork

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

    async def test_deleting_the_user_removes_its_sessions(self, database: TortoiseContext) -> None:
        user = await stored_user()
        session = Session(uuid.uuid4(), user.id, b"\0" * 32, 0, NOW, NOW, NOW + timedelta(days=1))
        async with TortoiseUnitOfWork() as uow:
            await uow.sessions.add(session)
            await uow.commit()
        await database.db().execute_query("DELETE FROM users")
        async with TortoiseUnitOfWork() as uow:
            assert await uow.sessions.get_for_update(session.id) is None
