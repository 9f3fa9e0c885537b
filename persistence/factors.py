"""Second factors: the authenticator app, recovery codes, and the tickets of sign-ins waiting
for their second step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.entities import SignInTicket, TotpFactor
from persistence.models import RecoveryCodeRow, SignInTicketRow, TotpFactorRow

if TYPE_CHECKING:
    from uuid import UUID

    from tortoise.backends.base.client import BaseDBAsyncClient


def _totp(row: TotpFactorRow) -> TotpFactor:
    return TotpFactor(
        user_id=row.user_id,  # type: ignore[attr-defined]  # Tortoise adds the FK column attribute
        sealed_secret=bytes(row.sealed_secret),
        created_at=row.created_at,
        confirmed_at=row.confirmed_at,
        last_step=row.last_step,
    )


class TortoiseFactorRepository:
    def __init__(self, db: BaseDBAsyncClient) -> None:
        self._db = db

    async def get_totp_for_update(self, user_id: UUID) -> TotpFactor | None:
        row = await TotpFactorRow.filter(user_id=user_id).select_for_update().using_db(self._db).first()
        return _totp(row) if row else None

    async def put_totp(self, factor: TotpFactor) -> None:
        # One statement (INSERT … ON CONFLICT DO UPDATE): two set-ups begun at once leave one.
        row = TotpFactorRow(
            user_id=factor.user_id,
            sealed_secret=factor.sealed_secret,
            created_at=factor.created_at,
            confirmed_at=factor.confirmed_at,
            last_step=factor.last_step,
        )
        await TotpFactorRow.bulk_create(
            [row],
            on_conflict=["user_id"],
            update_fields=["sealed_secret", "created_at", "confirmed_at", "last_step"],
            using_db=self._db,
        )

    async def delete_totp(self, user_id: UUID) -> None:
        await TotpFactorRow.filter(user_id=user_id).using_db(self._db).delete()

    async def has_confirmed_totp(self, user_id: UUID) -> bool:
        return await TotpFactorRow.filter(user_id=user_id, confirmed_at__isnull=False).using_db(self._db).exists()

    async def replace_recovery_codes(self, user_id: UUID, code_hashes: list[str]) -> None:
        await RecoveryCodeRow.filter(user_id=user_id).using_db(self._db).delete()
        if code_hashes:
            rows = [RecoveryCodeRow(user_id=user_id, code_hash=code_hash) for code_hash in code_hashes]
            await RecoveryCodeRow.bulk_create(rows, using_db=self._db)

    async def use_recovery_code(self, user_id: UUID, code_hash: str) -> bool:
        # The DELETE decides: of two requests spending one code, only one deletes a row.
        deleted = await RecoveryCodeRow.filter(user_id=user_id, code_hash=code_hash).using_db(self._db).delete()
        return deleted > 0

    async def count_recovery_codes(self, user_id: UUID) -> int:
        return await RecoveryCodeRow.filter(user_id=user_id).using_db(self._db).count()

    async def add_ticket(self, ticket: SignInTicket) -> None:
        await SignInTicketRow.create(
            using_db=self._db,
            ticket_hash=ticket.ticket_hash,
            user_id=ticket.user_id,
            expires_at=ticket.expires_at,
            tries=ticket.tries,
        )

    async def get_ticket_for_update(self, ticket_hash: str) -> SignInTicket | None:
        row = await SignInTicketRow.filter(ticket_hash=ticket_hash).select_for_update().using_db(self._db).first()
        if row is None:
            return None
        user_id: UUID = row.user_id  # type: ignore[attr-defined]  # Tortoise adds the FK column attribute
        return SignInTicket(row.ticket_hash, user_id, row.expires_at, row.tries)

    async def save_ticket(self, ticket: SignInTicket) -> None:
        await SignInTicketRow.filter(ticket_hash=ticket.ticket_hash).using_db(self._db).update(tries=ticket.tries)

    async def delete_ticket(self, ticket_hash: str) -> None:
        await SignInTicketRow.filter(ticket_hash=ticket_hash).using_db(self._db).delete()
