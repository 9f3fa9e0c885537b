"""The passwords people pick most often, from the list the ``zxcvbn`` package ships.

It is the 30 000 most frequent passwords of real leaks, ranked. It is loaded on
first use and kept; nothing is fetched over the network.
"""

from __future__ import annotations

import functools


@functools.cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    """True for a listed password, whatever its case (the list is lower-case)."""
    return password.casefold() in common_passwords()
