"""The caller's language, from ``Accept-Language`` (RFC 9110, 12.5.4), among the ones mails ship in.

The header is the caller's to write: anything that is not a language range with an
optional weight is skipped, never an error, and only its first ``MAX_RANGES`` ranges count.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from babel.core import negotiate_locale

if TYPE_CHECKING:
    from collections.abc import Sequence

MAX_RANGES = 20
_RANGE = re.compile(r"^([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$")
_WEIGHT = re.compile(r"^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$", re.IGNORECASE)


def preferred_languages(header: str | None) -> list[str]:
    """The language ranges of ``header``, most wanted first (a weight of 0 and ``*`` are left out)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:MAX_RANGES]):
        tag, _, parameters = part.strip().partition(";")
        if not _RANGE.match(tag.strip()):
            continue
        weight = 1.0
        if parameters:
            found = _WEIGHT.match(parameters.strip().replace(" ", ""))
            if found is None:
                continue
            weight = float(found.group(1))
        if weight > 0:
            weighted.append((-weight, position, tag.strip().lower()))
    return [tag for _, _, tag in sorted(weighted)]


def negotiated_locale(header: str | None, available: Sequence[str]) -> str | None:
    """The locale of ``available`` (spelled as there: ``pt_BR``) that ``header`` prefers, with Babel's
    negotiation (``de-CH`` finds ``de``); ``None`` when it names none of them."""
    spelled = {locale.replace("_", "-").lower(): locale for locale in available}
    chosen = negotiate_locale(preferred_languages(header), list(spelled), sep="-")
    return spelled.get(chosen.lower()) if chosen else None
