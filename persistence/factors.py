"""Second factors: the authenticator app, recovery codes, and the tickets of sign-ins waiting
for their second step."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from domain.entities import Passkey, PasskeyChallenge, SignInTicket, TotpFactor
from persistence.models import PasskeyChallengeRow, PasskeyRow, RecoveryCodeRow, SignInTicketRow, TotpFactorRow

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


def _b64(credential_id: bytes) -> str:
    return base64.urlsafe_b64encode(credential_id).decode("ascii").rstrip("=")


def _passkey(row: PasskeyRow) -> Passkey:
    return Passkey(
        credential_id=base64.urlsafe_b64decode(row.credential_id + "=" * (-len(row.credential_id) % 4)),
        user_id=row.user_id,  # type: ignore[attr-defined]  # Tortoise adds the FK column attribute
        public_key=bytes(row.public_key),
        sign_count=row.sign_count,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        backed_up=row.backed_up,
        synced=row.synced,
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
            first_factor=ticket.first_factor,
        )

    async def get_ticket_for_update(self, ticket_hash: str) -> SignInTicket | None:
        row = await SignInTicketRow.filter(ticket_hash=ticket_hash).select_for_update().using_db(self._db).first()
        if row is None:
            return None
        user_id: UUID = row.user_id  # type: ignore[attr-defined]  # Tortoise adds the FK column attribute
        return SignInTicket(row.ticket_hash, user_id, row.expires_at, row.tries, row.first_factor)

    async def save_ticket(self, ticket: SignInTicket) -> None:
        await SignInTicketRow.filter(ticket_hash=ticket.ticket_hash).using_db(self._db).update(tries=ticket.tries)

    async def delete_ticket(self, ticket_hash: str) -> None:
        await SignInTicketRow.filter(ticket_hash=ticket_hash).using_db(self._db).delete()

    async def add_passkey(self, passkey: Passkey) -> None:
        await PasskeyRow.create(
            using_db=self._db,
            credential_id=_b64(passkey.credential_id),
            user_id=passkey.user_id,
            public_key=passkey.public_key,
            sign_count=passkey.sign_count,
            name=passkey.name,
            created_at=passkey.created_at,
            last_used_at=passkey.last_used_at,
            backed_up=passkey.backed_up,
            synced=passkey.synced,
        )

    async def get_passkey_for_update(self, credential_id: bytes) -> Passkey | None:
        query = PasskeyRow.filter(credential_id=_b64(credential_id)).select_for_update()
        row = await query.using_db(self._db).first()
        return _passkey(row) if row else None

    async def list_passkeys(self, user_id: UUID) -> list[Passkey]:
        rows = await PasskeyRow.filter(user_id=user_id).order_by("created_at").using_db(self._db)
        return [_passkey(row) for row in rows]

    async def save_passkey(self, passkey: Passkey) -> None:
        await (
            PasskeyRow.filter(credential_id=_b64(passkey.credential_id))
            .using_db(self._db)
            .update(
                sign_count=passkey.sign_count,
                name=passkey.name,
                last_used_at=passkey.last_used_at,
                backed_up=passkey.backed_up,
            )
        )

    async def delete_passkey(self, user_id: UUID, credential_id: bytes) -> bool:
        query = PasskeyRow.filter(user_id=user_id, credential_id=_b64(credential_id))
        return await query.using_db(self._db).delete() > 0

    async def add_challenge(self, challenge: PasskeyChallenge) -> None:
        await PasskeyChallengeRow.create(
            using_db=self._db,
            challenge_hash=challenge.challenge_hash,
            purpose=challenge.purpose,
            expires_at=challenge.expires_at,
            user_id=challenge.user_id,
        )

    async def take_challenge(self, challenge_hash: str) -> PasskeyChallenge | None:
        row = await PasskeyChallengeRow.filter(challenge_hash=challenge_hash).using_db(self._db).first()
        # The DELETE decides: of two answers to one challenge, only one deletes its row.
        if (
            row is None
            or not await PasskeyChallengeRow.filter(challenge_hash=challenge_hash).using_db(self._db).delete()
        ):
            return None
        user_id: UUID | None = row.user_id  # type: ignore[attr-defined]  # Tortoise adds the FK column attribute
        return PasskeyChallenge(row.challenge_hash, row.purpose, row.expires_at, user_id)
