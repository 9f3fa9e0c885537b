"""Every mail the gateway sends, as the domain asks for it; ``mail/`` renders the text.

``locale`` is the language the mail is written in: ``AuthPolicy.mail_locale`` chooses it.
"""

from __future__ import annotations

from domain.entities import MailKind, OutgoingMail


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


def password_changed(to: str, product: str, *, locale: str | None = None) -> OutgoingMail:
    return OutgoingMail(to=to, kind=MailKind.PASSWORD_CHANGED, product=product, locale=locale)


def email_changed(to: str, product: str, new_email: str, *, locale: str | None = None) -> OutgoingMail:
    return OutgoingMail(to=to, kind=MailKind.EMAIL_CHANGED, product=product, new_email=new_email, locale=locale)


SECOND_FACTOR_NOTICES = (
    MailKind.SECOND_FACTOR_ENABLED,
    MailKind.SECOND_FACTOR_REMOVED,
    MailKind.RECOVERY_CODES_REPLACED,
)


def second_factor_notice(to: str, kind: MailKind, product: str, *, locale: str | None = None) -> OutgoingMail:
    """One of ``SECOND_FACTOR_NOTICES``: the authenticator app was set up or removed, or the recovery codes replaced."""
    assert kind in SECOND_FACTOR_NOTICES, kind
    return OutgoingMail(to=to, kind=kind, product=product, locale=locale)


def recovery_code_used(to: str, product: str, remaining: int, *, locale: str | None = None) -> OutgoingMail:
    return OutgoingMail(to=to, kind=MailKind.RECOVERY_CODE_USED, product=product, remaining=remaining, locale=locale)


def passkey_notice(to: str, kind: MailKind, product: str, *, locale: str | None = None) -> OutgoingMail:
    """A passkey was added to the account, or removed from it."""
    assert kind in (MailKind.PASSKEY_ADDED, MailKind.PASSKEY_REMOVED), kind
    return OutgoingMail(to=to, kind=kind, product=product, locale=locale)


def provider_notice(to: str, kind: MailKind, product: str, provider: str, *, locale: str | None = None) -> OutgoingMail:
    """A provider's identity was linked to the account (it signs in to it now), or unlinked, or
    its first sign-in made the account."""
    assert kind in (MailKind.PROVIDER_LINKED, MailKind.PROVIDER_UNLINKED, MailKind.PROVIDER_ACCOUNT_CREATED), kind
    return OutgoingMail(to=to, kind=kind, product=product, provider=provider, locale=locale)


def new_device_sign_in(
    to: str, product: str, signed_in_at: str, client_ip: str | None, device: str, locale: str | None = None
) -> OutgoingMail:
    """Someone signed in to the account from a browser or network it had not signed in from lately."""
    return OutgoingMail(
        to=to,
        kind=MailKind.NEW_DEVICE_SIGN_IN,
        product=product,
        signed_in_at=signed_in_at,
        client_ip=client_ip or "an unknown address",
        device=device,
        locale=locale,
    )
