"""The rule that the owner always keeps a way in: a password, a passkey, or a provider identity.

An account a provider sign-in or a mailed code made may have no password; its passkeys and
linked identities are then all that signs in to it without a password reset. Removing the
last of them is refused (``LastSignInMethod``): the owner sets a password, adds a passkey or
links a provider first. Callers hold the account's row lock (``users.get_for_update``) while
they check and remove, so two removals at once cannot each leave the other as the last way in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.errors import LastSignInMethod

if TYPE_CHECKING:
    from domain.entities import User
    from domain.ports import UnitOfWork


async def keep_a_way_in(
    uow: UnitOfWork, user: User, *, without_provider: str | None = None, without_passkey: bytes | None = None
) -> None:
    """Raise ``LastSignInMethod`` when ``user`` would have no password, no passkey and no provider
    identity left once the identity at ``without_provider`` or the passkey ``without_passkey`` is gone."""
    if user.password_hash:
        return
    identities = await uow.providers.list_identities(user.id)
    if any(identity.provider != without_provider for identity in identities):
        return
    passkeys = await uow.factors.list_passkeys(user.id)
    if any(passkey.credential_id != without_passkey for passkey in passkeys):
        return
    raise LastSignInMethod
