"""Input rules shared by the services: e-mail, password and names."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

from domain.common_passwords import is_common
from domain.errors import FieldError, InvalidInput

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
# A local part this short ("al@…") is too common a string to forbid inside passwords.
LOCAL_PART_MIN_LENGTH = 3
NAME_MAX_LENGTH = 128
EMAIL_MAX_LENGTH = 254


class InputCollector:
    """Gathers every field problem of one request so the client sees them all at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


def is_text(raw: str) -> bool:
    """False for strings no database can store, e.g. a lone surrogate JSON let through."""
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def normalise_email(raw: str, errors: InputCollector, field: str = "email") -> str:
    """Trim the address and lower-case its domain; record a problem if it is not one."""
    candidate = raw.strip()
    if not is_text(candidate):
        errors.add(field, "This is not a valid e-mail address.")
        return candidate
    if not candidate:
        errors.add(field, "Enter an e-mail address.")
        return candidate
    if len(candidate) > EMAIL_MAX_LENGTH:
        errors.add(field, f"An e-mail address has at most {EMAIL_MAX_LENGTH} characters.")
        return candidate
    try:
        # Deliverability needs DNS; the code we mail is what proves the address.
        return validate_email(candidate, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        errors.add(field, str(exc))
        return candidate


def normalise_password(raw: str) -> str:
    """NFKC, as NIST SP 800-63B advises, so the same password typed anywhere matches."""
    return unicodedata.normalize("NFKC", raw)


def check_new_password(raw: str, errors: InputCollector, email: str, field: str = "password") -> str:
    """The rules for a password someone chooses: length, not a common one, not their address.

    No composition rules (NIST SP 800-63B): "Password1!" is weak, a long phrase is not.
    """
    password = normalise_password(raw)
    if not is_text(password):
        errors.add(field, "The password contains characters that cannot be stored (a broken emoji?).")
    elif len(password) < PASSWORD_MIN_LENGTH:
        errors.add(field, f"Use at least {PASSWORD_MIN_LENGTH} characters.")
    elif len(password) > PASSWORD_MAX_LENGTH:
        errors.add(field, f"Use at most {PASSWORD_MAX_LENGTH} characters.")
    elif is_common(password):
        errors.add(
            field, "This is one of the most common passwords, so it is among the first ones guessed. Choose another."
        )
    elif _contains_address(password, email):
        errors.add(field, "The password must not contain your e-mail address or its name part. Choose another.")
    return password


def _contains_address(password: str, email: str) -> bool:
    folded = password.casefold()
    local_part = email.rpartition("@")[0].casefold()
    if not local_part:
        return False
    if folded == local_part or email.casefold() in folded:
        return True
    return len(local_part) >= LOCAL_PART_MIN_LENGTH and local_part in folded


def check_locale(raw: str | None, supported: tuple[str, ...], errors: InputCollector) -> str | None:
    """One of the ``supported`` mail languages, as spelled there (``de``, ``pt_BR``); None stays None.

    Case and a hyphen for the underscore are forgiven (``DE``, ``pt-br``); anything else is a field error.
    """
    if raw is None:
        return None
    wanted = raw.strip().replace("-", "_").lower()
    for locale in supported:
        if locale.lower() == wanted:
            return locale
    errors.add("locale", f"Use one of the languages mails are written in: {', '.join(supported)}.")
    return None


def check_name(raw: str | None, errors: InputCollector, field: str) -> str | None:
    if raw is None:
        return None
    name = raw.strip()
    if not is_text(name):
        errors.add(field, "The name contains characters that cannot be stored.")
    elif not name:
        errors.add(field, "Leave the name out or give at least one character.")
    elif len(name) > NAME_MAX_LENGTH:
        errors.add(field, f"Use at most {NAME_MAX_LENGTH} characters.")
    elif any(unicodedata.category(ch) == "Cc" for ch in name):
        errors.add(field, "Names cannot contain control characters.")
    return name
