"""Whether a mutation takes or mints a credential: ``schema.limits`` lets a request carry at
most one such field, so that one request is one guess. Every mutation declares one of these
as its field's ``metadata``; the schema refuses to build when one says neither."""

from __future__ import annotations

from typing import Any

import strawberry

SENSITIVITY = "sensitive"
SENSITIVE: dict[str, bool] = {SENSITIVITY: True}
"""Field metadata of a credential mutation: at most one of them per request, so one request is one guess."""
NOT_SENSITIVE: dict[str, bool] = {SENSITIVITY: False}
"""Field metadata of a mutation that may be sent any number of times per request."""


def password_again() -> Any:
    """The input field of an operation that needs a recent proof of who is signed in."""
    return strawberry.field(
        default=None,
        description=(
            "The account's password. It may be left out when this session proved its owner within the "
            "reauthentication window (REAUTHENTICATION_WINDOW_SECONDS): by signing in, or with reauthenticate. "
            "An account with a second factor needs that factor proved within the window either way; without a "
            "recent enough proof the answer is ReauthenticationRequired."
        ),
    )
