"""Whether a mutation takes or mints a credential: ``schema.limits`` lets a request carry at
most one such field, so that one request is one guess. Every mutation declares one of these
as its field's ``metadata``; the schema refuses to build when one says neither."""

from __future__ import annotations

SENSITIVITY = "sensitive"
SENSITIVE: dict[str, bool] = {SENSITIVITY: True}
"""Field metadata of a credential mutation: at most one of them per request, so one request is one guess."""
NOT_SENSITIVE: dict[str, bool] = {SENSITIVITY: False}
"""Field metadata of a mutation that may be sent any number of times per request."""
