"""Every query of the gateway, each repository turning rows into domain entities."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, TypeVar

from tortoise.exceptions import IntegrityError

from domain.entities import AuditEvent, OtpChallenge, OtpPurpose, RefreshTokenRecord, Session, User, email_key
from domain.errors import EmailAlreadyTaken
from domain.rate_limiting import CounterRefused
from persistence import audit_log, rate_counters, written_out
from persistence.models import AuditEventRow, KnownDeviceRow, OtpChallengeRow, RefreshTokenRow, SessionRow, UserRow

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from tortoise.backends.base.client import BaseDBAsyncClient
    from tortoise.models import Model

    from domain.rate_limiting import CounterHit
    from persistence.rate_counters import TortoiseThrottleRepository


M = TypeVar("M", bound="Model")


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        email=row.email,
        password_hash=row.password_hash or None,  # "": no password (see UserRow.password_hash)
        first_name=row.first_name,
        last_name=row.last_name,
        email_verified=row.email_verified,
        created_at=row.created_at,
        locale=row.locale,
    )


_SIGNED_IN_SQL = (
    'SELECT "users".* FROM "users" JOIN "sessions" ON "sessions"."user_id" = "users"."id" '
    'WHERE "users"."id" = {0} AND "sessions"."id" = {1} AND "sessions"."revoked_at" IS NULL '
    'AND "sessions"."expires_at" > {2} AND "sessions"."last_used_at" > {3} LIMIT 1'
)
_SIGNED_IN = {
    "postgres": _SIGNED_IN_SQL.format("$1", "$2", "$3", "$4"),
    "sqlite": _SIGNED_IN_SQL.format("?", "?", "?", "?"),
}


def _columns(model: type[Model], prefix: str) -> str:
    """Every column of ``model``'s table, each as ``<prefix><column>``: rows of several tables in one result."""
    table = model._meta.db_table
    return ", ".join(f'"{table}"."{column}" AS "{prefix}{column}"' for column in sorted(model._meta.db_fields))


def _row_of(model: type[M], prefix: str, result: Any) -> M:
    """The ``model`` row within a result made with ``_columns(model, prefix)``."""
    return model._init_from_db(**{column: result[prefix + column] for column in model._meta.db_fields})


@functools.cache
def _rotation_sql(dialect: str) -> str:
    """A refresh runs this first: the token, its session and its account in one query instead
    of one per table. Nothing is locked: the rotation's write goes through only if the session
    is still at the generation read here (``rotate``). Made on first use: the foreign-key
    columns are known once Tortoise has started."""
    placeholder = "$1" if dialect == "postgres" else "?"
    return (
        f"SELECT {_columns(RefreshTokenRow, 't_')}, {_columns(SessionRow, 's_')}, {_columns(UserRow, 'u_')} "  # noqa: S608 - column names from the models, the value a parameter
        'FROM "refresh_tokens" JOIN "sessions" ON "sessions"."id" = "refresh_tokens"."session_id" '
        'JOIN "users" ON "users"."id" = "sessions"."user_id" '
        f'WHERE "refresh_tokens"."token_hash" = {placeholder}'
    )


@functools.cache
def _counted_rotation_sql() -> str:
    """PostgreSQL: ``_rotation_sql`` and a counter's hit (parameters from $2) in one statement:
    always one row, whether the hit was admitted and, when the token is known, what it finds."""
    return (
        f"WITH hit AS ({rate_counters.hit_statement(2)}) "  # noqa: S608 - the statements above, no input
        "SELECT (SELECT count(*) FROM hit) AS admitted, found.* FROM (SELECT 1) AS one "
        f"LEFT JOIN ({_rotation_sql('postgres')}) AS found ON true"
    )


def _db_value(model: type[Model], field: str, value: object) -> Any:
    """``value`` as Tortoise writes it to ``model.field`` on this engine (UUIDs as text, datetimes in UTC)."""
    return model._meta.fields_map[field].to_db_value(value, model)


def _session_changes(session: Session) -> dict[str, Any]:
    """What a session's save writes: everything that changes after it started."""
    return {
        "generation": session.generation,
        "last_used_at": session.last_used_at,
        "revoked_at": session.revoked_at,
        "client_ip": session.client_ip,
        "user_agent": session.user_agent,
        "amr": session.amr,
        "authenticated_at": session.authenticated_at,
    }


def _rotation_changes(session: Session) -> dict[str, Any]:
    """What a rotation changes in the session."""
    return {
        "generation": session.generation,
        "last_used_at": session.last_used_at,
        "client_ip": session.client_ip,
        "user_agent": session.user_agent,
    }


def _token_values(record: RefreshTokenRecord) -> dict[str, Any]:
    return {
        "token_hash": record.token_hash,
        "session_id": record.session_id,
        "generation": record.generation,
        "issued_at": record.issued_at,
    }


class TortoiseUserRepository:
    def __init__(self, db: BaseDBAsyncClient) -> None:
        self._db = db

    async def get(self, user_id: UUID) -> User | None:
        row = await UserRow.filter(id=user_id).using_db(self._db).first()
        return _user(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = await UserRow.filter(email_key=email_key(email)).using_db(self._db).first()
        return _user(row) if row else None

    async def add(self, user: User) -> None:
        try:
            await UserRow.create(
                using_db=self._db,
                id=user.id,
                email=user.email,
                email_key=user.email_key,
                password_hash=user.password_hash or "",
                first_name=user.first_name,
                last_name=user.last_name,
                email_verified=user.email_verified,
                created_at=user.created_at,
                locale=user.locale,
            )
        except IntegrityError as exc:
            raise EmailAlreadyTaken from exc

    async def get_for_update(self, user_id: UUID) -> User | None:
        row = await UserRow.filter(id=user_id).select_for_update().using_db(self._db).first()
        return _user(row) if row else None

    async def get_signed_in(self, user_id: UUID, session_id: UUID, now: datetime, used_since: datetime) -> User | None:
        # Every signed-in request runs this: written out once, as building it with the
        # query builder took longer than the database took to answer it.
        sql = _SIGNED_IN[self._db.capabilities.dialect]
        values = [
            _db_value(UserRow, "id", user_id),
            _db_value(SessionRow, "id", session_id),
            _db_value(SessionRow, "expires_at", now),
            _db_value(SessionRow, "last_used_at", used_since),
        ]
        _, rows = await self._db.execute_query(sql, values)
        return _user(UserRow._init_from_db(**dict(rows[0]))) if rows else None

    async def save(self, user: User) -> None:
        try:
            await (
                UserRow.filter(id=user.id)
                .using_db(self._db)
                .update(
                    email=user.email,
                    email_key=user.email_key,
                    password_hash=user.password_hash or "",
                    first_name=user.first_name,
                    last_name=user.last_name,
                    email_verified=user.email_verified,
                    created_at=user.created_at,
                    locale=user.locale,
                )
            )
        except IntegrityError as exc:
            raise EmailAlreadyTaken from exc

    async def delete(self, user_id: UUID) -> None:
        # Explicit, child tables first, rather than trusting every engine's ON DELETE CASCADE.
        sessions = SessionRow.filter(user_id=user_id).using_db(self._db)
        session_ids = await sessions.values_list("id", flat=True)
        if session_ids:
            await RefreshTokenRow.filter(session_id__in=session_ids).using_db(self._db).delete()
        await sessions.delete()
        await OtpChallengeRow.filter(user_id=user_id).using_db(self._db).delete()
        await UserRow.filter(id=user_id).using_db(self._db).delete()


def _challenge(row: OtpChallengeRow) -> OtpChallenge:
    return OtpChallenge(
        id=row.id,
        user_id=row.user_id,  # type: ignore[attr-defined]  # Tortoise adds the FK column attribute
        purpose=OtpPurpose(row.purpose),
        code_hmac=row.code_hmac,
        expires_at=row.expires_at,
        created_at=row.created_at,
        new_email=row.new_email,
        link_hash=row.link_hash,
    )


class TortoiseOtpRepository:
    def __init__(self, db: BaseDBAsyncClient) -> None:
        self._db = db

    async def replace(self, challenge: OtpChallenge) -> None:
        # One statement (INSERT … ON CONFLICT DO UPDATE on both engines): two requests
        # replacing the same code at once cannot both insert, and neither sees a gap.
        row = OtpChallengeRow(
            id=challenge.id,
            user_id=challenge.user_id,
            purpose=challenge.purpose.value,
            code_hmac=challenge.code_hmac,
            expires_at=challenge.expires_at,
            created_at=challenge.created_at,
            new_email=challenge.new_email,
            link_hash=challenge.link_hash,
        )
        await OtpChallengeRow.bulk_create(
            [row],
            on_conflict=["user_id", "purpose"],
            update_fields=["id", "code_hmac", "expires_at", "created_at", "new_email", "link_hash"],
            using_db=self._db,
        )

    async def get_for_update(self, user_id: UUID, purpose: OtpPurpose) -> OtpChallenge | None:
        row = (
            await OtpChallengeRow.filter(user_id=user_id, purpose=purpose.value)
            .select_for_update()
            .using_db(self._db)
            .first()
        )
        return _challenge(row) if row else None

    async def delete(self, challenge: OtpChallenge) -> None:
        await OtpChallengeRow.filter(id=challenge.id).using_db(self._db).delete()

    async def get_by_link_for_update(self, link_hash: str) -> OtpChallenge | None:
        row = await OtpChallengeRow.filter(link_hash=link_hash).select_for_update().using_db(self._db).first()
        return _challenge(row) if row else None


def _session(row: SessionRow) -> Session:
    return Session(
        id=row.id,
        user_id=row.user_id,  # type: ignore[attr-defined]  # Tortoise adds the FK column attribute
        family_seed=bytes.fromhex(row.family_seed),
        generation=row.generation,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        client_ip=row.client_ip,
        user_agent=row.user_agent,
        amr=row.amr or "pwd",
        authenticated_at=row.authenticated_at,
    )


def _token(row: RefreshTokenRow) -> RefreshTokenRecord:
    return RefreshTokenRecord(
        token_hash=row.token_hash,
        session_id=row.session_id,  # type: ignore[attr-defined]  # Tortoise adds the FK column attribute
        generation=row.generation,
        issued_at=row.issued_at,
    )


class TortoiseSessionRepository:
    def __init__(self, db: BaseDBAsyncClient, counters: TortoiseThrottleRepository) -> None:
        """``counters``: the unit of work's, for a rotation's rate-limit hits."""
        self._db = db
        self._counters = counters

    async def add(self, session: Session) -> None:
        await SessionRow.create(
            using_db=self._db,
            id=session.id,
            user_id=session.user_id,
            family_seed=session.family_seed.hex(),
            generation=session.generation,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            revoked_at=session.revoked_at,
            client_ip=session.client_ip,
            user_agent=session.user_agent,
            amr=session.amr,
            authenticated_at=session.authenticated_at,
        )

    async def get_for_update(self, session_id: UUID) -> Session | None:
        row = await SessionRow.filter(id=session_id).select_for_update().using_db(self._db).first()
        return _session(row) if row else None

    async def save(self, session: Session) -> None:
        await written_out.update(self._db, SessionRow, session.id, _session_changes(session))

    async def list_live(self, user_id: UUID, now: datetime, used_since: datetime) -> list[Session]:
        rows = (
            await SessionRow.filter(
                user_id=user_id, revoked_at__isnull=True, expires_at__gt=now, last_used_at__gt=used_since
            )
            .order_by("-last_used_at", "-created_at")
            .using_db(self._db)
        )
        return [_session(row) for row in rows]

    async def revoke_all(self, user_id: UUID, now: datetime, used_since: datetime, keep: UUID | None = None) -> int:
        # A session that has ended on its own cannot come back: only live ones need revoking.
        query = SessionRow.filter(
            user_id=user_id, revoked_at__isnull=True, expires_at__gt=now, last_used_at__gt=used_since
        )
        if keep is not None:
            query = query.exclude(id=keep)
        return await query.using_db(self._db).update(revoked_at=now)

    async def known_devices(self, user_id: UUID, seen_since: datetime) -> set[str] | None:
        rows = (
            await KnownDeviceRow.filter(user_id=user_id).using_db(self._db).values_list("device_hash", "last_seen_at")
        )
        if not rows:
            return None
        return {device_hash for device_hash, last_seen_at in rows if last_seen_at >= seen_since}

    async def remember_device(self, user_id: UUID, device_hash: str, now: datetime) -> None:
        # One statement (INSERT … ON CONFLICT DO UPDATE): two sign-ins at once keep one row.
        await KnownDeviceRow.bulk_create(
            [KnownDeviceRow(user_id=user_id, device_hash=device_hash, last_seen_at=now)],
            on_conflict=["user_id", "device_hash"],
            update_fields=["last_seen_at"],
            using_db=self._db,
        )

    async def rotate(
        self, session: Session, successor: RefreshTokenRecord, event: AuditEvent, counting: CounterHit | None = None
    ) -> bool:
        gate = None
        if counting is not None:
            if self._postgres:
                gate = written_out.Gate(rate_counters.hit_statement, rate_counters.hit_arguments(counting))
            else:
                await self._count(counting)
        rotated = await written_out.update_if_then_insert(
            self._db,
            SessionRow,
            session.id,
            {"generation": successor.generation - 1, "revoked_at": None},
            _rotation_changes(session),
            [(RefreshTokenRow, _token_values(successor)), (AuditEventRow, audit_log.row_values(event))],
            gate,
        )
        if rotated is None:
            assert counting is not None
            raise CounterRefused(await self._counters.refused_wait(counting))
        if rotated:
            audit_log.log_written(event)
        return rotated

    @property
    def _postgres(self) -> bool:
        return self._db.capabilities.dialect == "postgres"

    async def _count(self, counting: CounterHit) -> None:
        wait = await self._counters.hit(counting.key, counting.rate, counting.now)
        if wait is not None:
            raise CounterRefused(wait)

    async def add_token(self, record: RefreshTokenRecord) -> None:
        await written_out.insert(self._db, RefreshTokenRow, _token_values(record))

    async def find_token(self, token_hash: str) -> RefreshTokenRecord | None:
        row = await RefreshTokenRow.filter(token_hash=token_hash).using_db(self._db).first()
        return _token(row) if row else None

    async def find_for_rotation(
        self, token_hash: str, counting: CounterHit | None = None
    ) -> tuple[RefreshTokenRecord, Session, User] | None:
        if counting is not None and self._postgres:
            _, rows = await self._db.execute_query(
                _counted_rotation_sql(), [token_hash, *rate_counters.hit_arguments(counting)]
            )
            if not rows[0]["admitted"]:
                raise CounterRefused(await self._counters.refused_wait(counting))
            if rows[0]["t_token_hash"] is None:
                return None
        else:
            if counting is not None:
                await self._count(counting)
            _, rows = await self._db.execute_query(_rotation_sql(self._db.capabilities.dialect), [token_hash])
            if not rows:
                return None
        found = rows[0]
        return (
            _token(_row_of(RefreshTokenRow, "t_", found)),
            _session(_row_of(SessionRow, "s_", found)),
            _user(_row_of(UserRow, "u_", found)),
        )
