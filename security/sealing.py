"""Secrets the gateway must read back (authenticator-app secrets), encrypted with AES-256-GCM
under a key derived from the server secret: a copy of the database alone does not reveal them."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
VERSION = b"\x01"  # the first byte of every sealed value: the scheme, so it can change later


class AesGcmSealer:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, secret: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, secret, VERSION + context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        if sealed[:1] != VERSION or len(sealed) < 1 + NONCE_BYTES + 16:
            raise ValueError("not a sealed secret of this gateway")
        nonce, ciphertext = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, VERSION + context)
        except InvalidTag:
            raise ValueError("the sealed secret or its context was changed, or another key sealed it") from None
