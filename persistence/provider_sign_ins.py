"""Provider sign-ins under way, their one-time codes, the link tokens of LinkRequired, and the
identities linked to accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError

from domain.entities import (
    ProviderEmailConfirmation,
    ProviderIdentity,
    ProviderLinkToken,
    ProviderSignInCode,
    ProviderSignInState,
)
from domain.errors import EmailAlreadyTaken
from persistence.models import (
    ProviderEmailConfirmationRow,
    ProviderIdentityRow,
    ProviderLinkTokenRow,
    ProviderSignInCodeRow,
    ProviderSignInStateRow,
    SpentIdTokenRow,
)

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from tortoise.backends.base.client import BaseDBAsyncClient


class TortoiseProviderSignInRepository:
    def __init__(self, db: BaseDBAsyncClient) -> None:
        self._db = db

    async def add_state(self, state: ProviderSignInState) -> None:
        await ProviderSignInStateRow.create(
            using_db=self._db,
            state_hash=state.state_hash,
            provider=state.provider,
            browser_hash=state.browser_hash,
            nonce_hash=state.nonce_hash,
            code_verifier=state.code_verifier,
            return_url=state.return_url,
            expires_at=state.expires_at,
        )

    async def take_state(self, state_hash: str) -> ProviderSignInState | None:
        row = await ProviderSignInStateRow.filter(state_hash=state_hash).using_db(self._db).first()
        # The DELETE decides: of two callbacks with one state, only one deletes its row.
        if row is None or not await ProviderSignInStateRow.filter(state_hash=state_hash).using_db(self._db).delete():
            return None
        return ProviderSignInState(
            state_hash=row.state_hash,
            provider=row.provider,
            browser_hash=row.browser_hash,
            nonce_hash=row.nonce_hash,
            code_verifier=row.code_verifier,
            return_url=row.return_url,
            expires_at=row.expires_at,
        )

    async def add_code(self, code: ProviderSignInCode) -> None:
        await ProviderSignInCodeRow.create(
            using_db=self._db,
            code_hash=code.code_hash,
            provider=code.provider,
            subject=code.subject,
            email=code.email,
            email_verified=code.email_verified,
            expires_at=code.expires_at,
            given_name=code.given_name,
            family_name=code.family_name,
        )

    async def take_code(self, code_hash: str) -> ProviderSignInCode | None:
        row = await ProviderSignInCodeRow.filter(code_hash=code_hash).using_db(self._db).first()
        if row is None or not await ProviderSignInCodeRow.filter(code_hash=code_hash).using_db(self._db).delete():
            return None
        return ProviderSignInCode(
            code_hash=row.code_hash,
            provider=row.provider,
            subject=row.subject,
            email=row.email,
            email_verified=row.email_verified,
            expires_at=row.expires_at,
            given_name=row.given_name,
            family_name=row.family_name,
        )

    async def get_identity(self, provider: str, subject: str) -> ProviderIdentity | None:
        row = await ProviderIdentityRow.filter(provider=provider, subject=subject).using_db(self._db).first()
        return None if row is None else _identity(row)

    async def list_identities(self, user_id: UUID) -> list[ProviderIdentity]:
        rows = await ProviderIdentityRow.filter(user_id=user_id).using_db(self._db).order_by("created_at", "id")
        return [_identity(row) for row in rows]

    async def delete_identity(self, user_id: UUID, provider: str) -> bool:
        return bool(await ProviderIdentityRow.filter(user_id=user_id, provider=provider).using_db(self._db).delete())

    async def add_link_token(self, token: ProviderLinkToken) -> None:
        await ProviderLinkTokenRow.create(
            using_db=self._db,
            token_hash=token.token_hash,
            provider=token.provider,
            subject=token.subject,
            email=token.email,
            user_id=token.user_id,
            expires_at=token.expires_at,
        )

    async def take_link_token(self, token_hash: str) -> ProviderLinkToken | None:
        row = await ProviderLinkTokenRow.filter(token_hash=token_hash).using_db(self._db).first()
        if row is None or not await ProviderLinkTokenRow.filter(token_hash=token_hash).using_db(self._db).delete():
            return None
        user_id: UUID = row.user_id  # type: ignore[attr-defined]  # Tortoise adds the FK column attribute
        return ProviderLinkToken(row.token_hash, row.provider, row.subject, row.email, user_id, row.expires_at)

    async def spend_id_token(self, token_hash: str, expires_at: datetime) -> bool:
        try:
            await SpentIdTokenRow.create(using_db=self._db, token_hash=token_hash, expires_at=expires_at)
        except IntegrityError:  # the primary key: given before (or by a concurrent request)
            return False
        return True

    async def add_email_confirmation(self, confirmation: ProviderEmailConfirmation) -> None:
        await ProviderEmailConfirmationRow.create(
            using_db=self._db,
            ticket_hash=confirmation.ticket_hash,
            provider=confirmation.provider,
            subject=confirmation.subject,
            email=confirmation.email,
            code_hmac=confirmation.code_hmac,
            failed_tries=confirmation.failed_tries,
            expires_at=confirmation.expires_at,
            given_name=confirmation.given_name,
            family_name=confirmation.family_name,
        )

    async def get_email_confirmation_for_update(self, ticket_hash: str) -> ProviderEmailConfirmation | None:
        row = (
            await ProviderEmailConfirmationRow.filter(ticket_hash=ticket_hash)
            .select_for_update()
            .using_db(self._db)
            .first()
        )
        if row is None:
            return None
        return ProviderEmailConfirmation(
            ticket_hash=row.ticket_hash,
            provider=row.provider,
            subject=row.subject,
            email=row.email,
            code_hmac=row.code_hmac,
            expires_at=row.expires_at,
            failed_tries=row.failed_tries,
            given_name=row.given_name,
            family_name=row.family_name,
        )

    async def save_email_confirmation(self, confirmation: ProviderEmailConfirmation) -> None:
        await (
            ProviderEmailConfirmationRow.filter(ticket_hash=confirmation.ticket_hash)
            .using_db(self._db)
            .update(failed_tries=confirmation.failed_tries)
        )

    async def delete_email_confirmation(self, ticket_hash: str) -> None:
        await ProviderEmailConfirmationRow.filter(ticket_hash=ticket_hash).using_db(self._db).delete()

    async def add_identity(self, identity: ProviderIdentity) -> None:
        try:
            await ProviderIdentityRow.create(
                using_db=self._db,
                user_id=identity.user_id,
                provider=identity.provider,
                subject=identity.subject,
                email=identity.email,
                created_at=identity.created_at,
                last_used_at=identity.last_used_at,
            )
        except IntegrityError:
            raise EmailAlreadyTaken from None

    async def save_identity(self, identity: ProviderIdentity) -> None:
        await (
            ProviderIdentityRow.filter(provider=identity.provider, subject=identity.subject)
            .using_db(self._db)
            .update(email=identity.email, last_used_at=identity.last_used_at)
        )


def _identity(row: ProviderIdentityRow) -> ProviderIdentity:
    user_id: UUID = row.user_id  # type: ignore[attr-defined]  # Tortoise adds the FK column attribute
    return ProviderIdentity(row.provider, row.subject, user_id, row.email, row.created_at, row.last_used_at)
