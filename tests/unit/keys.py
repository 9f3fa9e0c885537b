"""Signing keys for the unit tests, made once per run: an RSA key takes a tenth of a second
to generate, and most tests only need a key, not a new one."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from security.signing_keys import generate_signing_key

if TYPE_CHECKING:
    from security.signing_keys import AccessTokenKey, AsymmetricAlgorithm


@functools.cache
def signing_key(algorithm: AsymmetricAlgorithm, number: int = 0) -> AccessTokenKey:
    """The ``number``-th key of ``algorithm``: the same object for the same arguments, distinct keys
    for distinct numbers (a rotation's old and new key, an impostor's)."""
    return generate_signing_key(algorithm)
