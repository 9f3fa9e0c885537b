"""The text of every mail the gateway sends."""

from __future__ import annotations

from domain.entities import OutgoingMail


def lifetime_in_words(seconds: int) -> str:
    if seconds % 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def verification_code(to: str, product: str, code: str, lifetime_seconds: int) -> OutgoingMail:
    return OutgoingMail(
        to=to,
        subject=f"Your {product} verification code",
        text=(
            f"Your {product} verification code is {code}.\n\n"
            f"It is valid for {lifetime_in_words(lifetime_seconds)} and works once.\n\n"
            f"If you did not ask for it, someone typed your address by mistake; "
            f"you can ignore this message.\n"
        ),
    )


def already_registered(to: str, product: str) -> OutgoingMail:
    return OutgoingMail(
        to=to,
        subject=f"Someone tried to sign up to {product} with your address",
        text=(
            f"Someone just tried to create a {product} account with this address, "
            f"but you already have one.\n\n"
            f"If it was you, simply sign in; if you forgot your password, reset it.\n"
            f"If it was not you, you can ignore this message: your account is unchanged.\n"
        ),
    )
