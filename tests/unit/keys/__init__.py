"""Signing keys for the unit tests. The RSA ones are committed (test keys, used nowhere else):
generating one takes a tenth of a second on a small machine, and the tests only need a key,
not a new one. The others are made once per run."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from security.signing_keys import generate_signing_key, load_signing_key

if TYPE_CHECKING:
    from security.signing_keys import AccessTokenKey, AsymmetricAlgorithm

COMMITTED = Path(__file__).parent


@functools.cache
def signing_key(algorithm: AsymmetricAlgorithm, number: int = 0) -> AccessTokenKey:
    """The ``number``-th key of ``algorithm``: the same object for the same arguments, distinct keys
    for distinct numbers (a rotation's old and new key, an impostor's)."""
    committed = COMMITTED / f"{algorithm.lower()}-{number}.pem"
    if committed.exists():
        return load_signing_key(committed.read_text(), str(committed), algorithm)
    return generate_signing_key(algorithm)
