"""WebAuthn ceremonies (passkeys) with py_webauthn: the options a browser's
``navigator.credentials`` needs, and the checks of what the authenticator answers.

Every credential must come from one of the configured origins, for the configured
relying-party ID, with the person verified (a PIN, a fingerprint, a face): a passkey is
then a whole sign-in on its own. Attestation is not asked for (``none``): the gateway
trusts the person's choice of authenticator, as browsers and password managers expect.
"""

from __future__ import annotations

import json
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, parse_authentication_credential_json, parse_client_data_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from domain.entities import NewPasskey, PasskeyAssertion
from domain.errors import InvalidPasskey

TIMEOUT_MS = 5 * 60 * 1000  # the challenge's lifetime on the server is the same
MAX_CREDENTIAL_JSON = 64 * 1024  # far above any real authenticator's answer


class WebAuthnCeremonies:
    def __init__(self, rp_id: str, rp_name: str, origins: list[str]) -> None:
        self.rp_id = rp_id
        self._rp_name = rp_name
        self._origins = origins

    @property
    def enabled(self) -> bool:
        return bool(self._origins)

    def registration_options(self, user_handle: bytes, user_name: str, exclude: list[bytes]) -> tuple[str, bytes]:
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name=self._rp_name,
            user_id=user_handle,
            user_name=user_name,
            timeout=TIMEOUT_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=credential) for credential in exclude],
        )
        return options_to_json(options), options.challenge

    def authentication_options(self, allow: list[bytes] | None = None) -> tuple[str, bytes]:
        options = generate_authentication_options(
            rp_id=self.rp_id,
            timeout=TIMEOUT_MS,
            user_verification=UserVerificationRequirement.REQUIRED,
            allow_credentials=[PublicKeyCredentialDescriptor(id=credential) for credential in allow or []],
        )
        return options_to_json(options), options.challenge

    def challenge_of(self, credential_json: str) -> bytes:
        """The challenge the browser says it signed: which ceremony the answer belongs to."""
        try:
            client_data = _parsed(credential_json)["response"]["clientDataJSON"]
            return parse_client_data_json(_base64url(client_data)).challenge
        except (KeyError, TypeError, ValueError, WebAuthnException):
            raise InvalidPasskey from None

    def credential_id_of(self, credential_json: str) -> tuple[bytes, bytes | None]:
        """The credential's id, and the user handle the authenticator returned (if any)."""
        try:
            credential = parse_authentication_credential_json(_parsed(credential_json))
        except (KeyError, TypeError, ValueError, WebAuthnException):
            raise InvalidPasskey from None
        return credential.raw_id, credential.response.user_handle

    def verify_registration(self, credential_json: str, challenge: bytes) -> NewPasskey:
        try:
            verified = verify_registration_response(
                credential=_parsed(credential_json),
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self._origins,
                require_user_verification=True,
            )
        except (KeyError, TypeError, ValueError, WebAuthnException):
            raise InvalidPasskey from None
        return NewPasskey(
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            backed_up=verified.credential_backed_up,
            synced=verified.credential_device_type == "multi_device",
        )

    def verify_authentication(self, credential_json: str, challenge: bytes, public_key: bytes) -> PasskeyAssertion:
        try:
            verified = verify_authentication_response(
                credential=_parsed(credential_json),
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self._origins,
                credential_public_key=public_key,
                # the counter is compared by the service, after the signature is known good,
                # so that a cloned authenticator is told apart from a forged answer
                credential_current_sign_count=0,
                require_user_verification=True,
            )
        except (KeyError, TypeError, ValueError, WebAuthnException):
            raise InvalidPasskey from None
        return PasskeyAssertion(sign_count=verified.new_sign_count, backed_up=verified.credential_backed_up)


def _parsed(credential_json: str) -> dict[str, Any]:
    if len(credential_json) > MAX_CREDENTIAL_JSON:
        raise ValueError("too long")
    parsed = json.loads(credential_json)
    if not isinstance(parsed, dict):
        raise ValueError("not an object")
    return parsed


def _base64url(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not base64url text")
    return base64url_to_bytes(value)
