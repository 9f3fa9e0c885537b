"""Every mail the gateway sends, as the domain asks for it; ``mail/`` renders the text.

``locale`` is the language the mail is written in: ``AuthPolicy.mail_locale`` chooses it.
Every security notice says when the change happened (``at``) and from where: the request's
``client`` (its address and a summary of its browser), or ``None`` for an operator's command.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from domain.devices import device_summary
from domain.entities import MailKind, OutgoingMail

if TYPE_CHECKING:
    from datetime import datetime

    from domain.entities import Client

UNKNOWN_ADDRESS = "an unknown address"


def when(moment: datetime) -> str:
    """A moment as every notice writes it: in UTC, the same in every language."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def circumstances(at: datetime, client: Client | None) -> dict[str, Any]:
    """The fields of a notice that say when and from where: the client's address and browser,
    or that an operator's command made the change (``client`` None)."""
    if client is None:
        return {"changed_at": when(at), "by_operator": True}
    return {
        "changed_at": when(at),
        "client_ip": client.ip or UNKNOWN_ADDRESS,
        "device": device_summary(client.user_agent),
    }


def code(
    to: str,
    kind: MailKind,
    product: str,
    code: str,
    lifetime_seconds: int,
    *,
    locale: str | None = None,
    provider: str | None = None,
    link: str | None = None,
) -> OutgoingMail:
    """A one-time code: VERIFY_EMAIL, RESET_PASSWORD, CHANGE_EMAIL, SIGN_IN_CODE (with ``link``,
    the sign-in link, when the gateway has one) or CONFIRM_PROVIDER_EMAIL (with ``provider``,
    the display name of the provider that gave the address)."""
    return OutgoingMail(
        to=to,
        kind=kind,
        product=product,
        code=code,
        code_lifetime_seconds=lifetime_seconds,
        locale=locale,
        provider=provider,
        link=link,
    )


def already_registered(to: str, product: str, *, locale: str | None = None) -> OutgoingMail:
    return OutgoingMail(to=to, kind=MailKind.ALREADY_REGISTERED, product=product, locale=locale)


def address_in_use(to: str, product: str, *, locale: str | None = None) -> OutgoingMail:
    return OutgoingMail(to=to, kind=MailKind.ADDRESS_IN_USE, product=product, locale=locale)


def password_changed(
    to: str, product: str, *, at: datetime, client: Client | None, reset: bool = False, locale: str | None = None
) -> OutgoingMail:
    """The password was changed by its owner, or (``reset``) reset with a code mailed to ``to``."""
    return OutgoingMail(
        to=to,
        kind=MailKind.PASSWORD_CHANGED,
        product=product,
        locale=locale,
        password_reset=True if reset else None,
        **circumstances(at, client),
    )


def email_changed(
    to: str, product: str, new_email: str, *, at: datetime, client: Client | None, locale: str | None = None
) -> OutgoingMail:
    """To the old address: the account moved to ``new_email``."""
    return OutgoingMail(
        to=to,
        kind=MailKind.EMAIL_CHANGED,
        product=product,
        new_email=new_email,
        locale=locale,
        **circumstances(at, client),
    )


def email_changed_here(
    to: str, product: str, old_email: str, *, at: datetime, client: Client | None, locale: str | None = None
) -> OutgoingMail:
    """To the new address: the account signs in with it now, instead of ``old_email``."""
    return OutgoingMail(
        to=to,
        kind=MailKind.EMAIL_CHANGED,
        product=product,
        old_email=old_email,
        locale=locale,
        **circumstances(at, client),
    )


SECOND_FACTOR_NOTICES = (
    MailKind.SECOND_FACTOR_ENABLED,
    MailKind.SECOND_FACTOR_REMOVED,
    MailKind.RECOVERY_CODES_REPLACED,
)


def second_factor_notice(
    to: str, kind: MailKind, product: str, *, at: datetime, client: Client | None, locale: str | None = None
) -> OutgoingMail:
    """One of ``SECOND_FACTOR_NOTICES``: the authenticator app was set up or removed (by an
    operator: ``client`` None), or the recovery codes replaced."""
    assert kind in SECOND_FACTOR_NOTICES, kind
    return OutgoingMail(to=to, kind=kind, product=product, locale=locale, **circumstances(at, client))


def recovery_code_used(
    to: str, product: str, remaining: int, *, at: datetime, client: Client | None, locale: str | None = None
) -> OutgoingMail:
    return OutgoingMail(
        to=to,
        kind=MailKind.RECOVERY_CODE_USED,
        product=product,
        remaining=remaining,
        locale=locale,
        **circumstances(at, client),
    )


def passkey_notice(
    to: str, kind: MailKind, product: str, *, at: datetime, client: Client | None, locale: str | None = None
) -> OutgoingMail:
    """A passkey was added to the account, or removed from it."""
    assert kind in (MailKind.PASSKEY_ADDED, MailKind.PASSKEY_REMOVED), kind
    return OutgoingMail(to=to, kind=kind, product=product, locale=locale, **circumstances(at, client))


def provider_notice(
    to: str,
    kind: MailKind,
    product: str,
    provider: str,
    *,
    at: datetime,
    client: Client | None,
    locale: str | None = None,
) -> OutgoingMail:
    """A provider's identity was linked to the account (it signs in to it now), or unlinked, or
    its first sign-in made the account."""
    assert kind in (MailKind.PROVIDER_LINKED, MailKind.PROVIDER_UNLINKED, MailKind.PROVIDER_ACCOUNT_CREATED), kind
    return OutgoingMail(
        to=to, kind=kind, product=product, provider=provider, locale=locale, **circumstances(at, client)
    )


def new_device_sign_in(
    to: str, product: str, signed_in_at: str, client_ip: str | None, device: str, locale: str | None = None
) -> OutgoingMail:
    """Someone signed in to the account from a browser or network it had not signed in from lately."""
    return OutgoingMail(
        to=to,
        kind=MailKind.NEW_DEVICE_SIGN_IN,
        product=product,
        signed_in_at=signed_in_at,
        client_ip=client_ip or UNKNOWN_ADDRESS,
        device=device,
        locale=locale,
    )
