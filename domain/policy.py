from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from domain.entities import Client, User


@dataclass(frozen=True)
class AuthPolicy:
    """The tunable rules; ``server.py`` fills it from the settings."""

    product_name: str = "Auth Gateway"
    otp_lifetime: timedelta = timedelta(minutes=10)
    otp_max_attempts: int = 5  # wrong codes per code and requesting network
    otp_max_attempts_all_networks: int = 10  # wrong codes per code from every network together
    # a sign-up nobody confirms is forgotten after this long (counted from its last register)
    unverified_account_lifetime: timedelta = timedelta(days=7)
    refresh_idle_lifetime: timedelta = timedelta(days=14)
    refresh_absolute_lifetime: timedelta = timedelta(days=30)
    refresh_reuse_grace: timedelta = timedelta(seconds=10)
    # a session of an account with a second factor may change what matters (password,
    # address, factors, the account's existence) this long after it last proved that factor
    reauthentication_window: timedelta = timedelta(minutes=5)
    # "off": no new authenticator apps; "required": an account without one may only set one up
    second_factors: Literal["off", "optional", "required"] = "optional"
    # where a provider sign-in may send the browser back to (OIDC_RETURN_URLS); the first is
    # where a callback goes that cannot tell which sign-in it belongs to
    provider_return_urls: tuple[str, ...] = ()
    # whether asking for a sign-in code for an address without an account makes one
    # (SIGN_IN_CODE_CREATES_ACCOUNTS): the code then confirms the address
    sign_in_code_creates_accounts: bool = False
    # the SPA's page that signs in with the token of a sign-in code's mail (SIGN_IN_LINK_URL):
    # the mail carries ``{sign_in_link_url}#token=…``; None: codes only
    sign_in_link_url: str | None = None
    # mail the owner when a sign-in comes from a device not among those of the account's
    # sign-ins within ``known_device_memory`` (NEW_DEVICE_NOTICES)
    new_device_notices: bool = True
    known_device_memory: timedelta = timedelta(days=90)
    # the languages mails are written in (the shipped catalogs) and the one used when neither
    # the account nor the request names one of them (DEFAULT_LOCALE)
    mail_locales: tuple[str, ...] = ("en",)
    default_locale: str = "en"

    def mail_locale(self, account_locale: str | None, client: Client | None = None) -> str:
        """The language of a mail: the account's, else the caller's Accept-Language, else the default.

        ``account_locale`` is None for an address without an account: such a mail is in the
        caller's language, which tells the caller nothing about the address.
        """
        for locale in (account_locale, client.locale if client else None):
            if locale is not None and locale in self.mail_locales:
                return locale
        return self.default_locale

    def idle_cutoff(self, now: datetime) -> datetime:
        """Sessions last used at or before this have ended by idling (``Session.is_live``)."""
        return now - self.refresh_idle_lifetime

    def account(self, user: User | None, now: datetime) -> User | None:
        """``user`` as the rules see it: a sign-up left unconfirmed too long is no account at all."""
        if user is None or user.email_verified or now < user.created_at + self.unverified_account_lifetime:
            return user
        return None
