"""A software WebAuthn authenticator for API tests: it answers the gateway's options the way a
browser and a passkey would (``navigator.credentials.create`` and ``get``, as JSON), with
an ES256 key per credential, ``none`` attestation, and knobs to misbehave (another origin
or site, no user verification, a counter that goes backwards)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

USER_PRESENT, USER_VERIFIED, BACKUP_ELIGIBLE, BACKED_UP, ATTESTED = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    counter: int = 0


@dataclass
class SoftAuthenticator:
    origin: str
    synced: bool = False  # a passkey its provider syncs (backup eligible and backed up)
    credentials: list[Credential] = field(default_factory=list)

    def _flags(self, verified: bool, attested: bool = False) -> int:
        flags = USER_PRESENT | (USER_VERIFIED if verified else 0)
        if self.synced:
            flags |= BACKUP_ELIGIBLE | BACKED_UP
        return flags | (ATTESTED if attested else 0)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}
        ).encode()

    def create(
        self, options_json: str, *, origin: str | None = None, rp_id: str | None = None, verified: bool = True
    ) -> str:
        """Answer registration options: a new credential, as ``JSON.stringify(credential)``."""
        options: dict[str, Any] = json.loads(options_json)
        rp = rp_id or options["rp"]["id"]
        credential = Credential(
            os.urandom(32), ec.generate_private_key(ec.SECP256R1()), rp, unb64url(options["user"]["id"])
        )
        self.credentials.append(credential)
        numbers = credential.key.public_key().public_numbers()
        cose_key = cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([self._flags(verified, attested=True)])
            + struct.pack(">I", credential.counter)
            + bytes(16)  # AAGUID: none
            + struct.pack(">H", len(credential.credential_id))
            + credential.credential_id
            + cose_key
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return json.dumps(
            {
                "id": b64url(credential.credential_id),
                "rawId": b64url(credential.credential_id),
                "type": "public-key",
                "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation)},
                "clientExtensionResults": {},
            }
        )

    def get(
        self,
        options_json: str,
        *,
        credential: Credential | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        verified: bool = True,
        counter: int | None = None,
    ) -> str:
        """Answer authentication options with ``credential`` (the first one by default), its counter
        moved on by one (or set to ``counter``), as ``JSON.stringify(credential)``."""
        options: dict[str, Any] = json.loads(options_json)
        chosen = credential or self.credentials[0]
        chosen.counter = counter if counter is not None else chosen.counter + 1
        rp = rp_id or options.get("rpId") or chosen.rp_id
        auth_data = (
            hashlib.sha256(rp.encode()).digest() + bytes([self._flags(verified)]) + struct.pack(">I", chosen.counter)
        )
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = chosen.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "id": b64url(chosen.credential_id),
                "rawId": b64url(chosen.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "authenticatorData": b64url(auth_data),
                    "signature": b64url(signature),
                    "userHandle": b64url(chosen.user_handle),
                },
                "clientExtensionResults": {},
            }
        )
