from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from domain.errors import InvalidAccessToken
from domain.refresh_tokens import RefreshTokenMinter, hash_refresh_token
from security import access_tokens
from security.access_tokens import AccessTokenCodec
from security.signing_keys import (
    AccessTokenKey,
    AccessTokenKeys,
    AsymmetricAlgorithm,
    generate_signing_key,
    jws_registry,
)
from tests.unit.keys import signing_key

KEY = b"an access-token key of 32 bytes!"
ISSUER = "https://auth.example.com"
AUDIENCE = "https://api.example.com"
LIFETIME = 900
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
USER_ID = uuid.UUID("0b6a4f9e-6a55-4b8e-9d38-4f0f6f1d2c11")
SESSION_ID = uuid.UUID("5c1d1f64-23e4-4d0b-8b7e-8f4d1b0b9a22")


def b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode("ascii")


def valid_claims() -> dict[str, Any]:
    issued_at = int(NOW.timestamp())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(USER_ID),
        "sid": str(SESSION_ID),
        "iat": issued_at,
        "exp": issued_at + LIFETIME,
        "jti": uuid.uuid4().hex,
    }


def forge(
    claims: dict[str, Any], header: dict[str, Any] | None = None, key: bytes = KEY, algorithm: str = "HS256"
) -> str:
    header = header if header is not None else {"alg": algorithm, "typ": "at+jwt"}
    return jwt.encode(header, claims, OctKey.import_key(key), algorithms=[algorithm])


@pytest.fixture
def codec() -> AccessTokenCodec:
    return AccessTokenCodec(KEY, issuer=ISSUER, audience=AUDIENCE, lifetime_seconds=LIFETIME)


class TestIssue:
    def test_is_an_at_jwt_with_every_claim(self, codec: AccessTokenCodec) -> None:
        token = codec.issue(USER_ID, SESSION_ID, NOW)
        decoded = jwt.decode(token, OctKey.import_key(KEY), algorithms=["HS256"])
        assert decoded.header == {"alg": "HS256", "typ": "at+jwt", "kid": OctKey.import_key(KEY).thumbprint()}
        issued_at = int(NOW.timestamp())
        assert decoded.claims == {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(USER_ID),
            "sid": str(SESSION_ID),
            "iat": issued_at,
            "exp": issued_at + LIFETIME,
            "jti": decoded.claims["jti"],
            "amr": ["pwd"],
            "auth_time": issued_at,
        }
        assert re.fullmatch(r"[0-9a-f]{32}", decoded.claims["jti"])

    def test_says_how_and_when_the_session_signed_in(self, codec: AccessTokenCodec) -> None:
        signed_in_at = NOW - timedelta(hours=3)
        token = codec.issue(USER_ID, SESSION_ID, NOW, amr=["pwd", "otp", "mfa"], auth_time=signed_in_at)
        claims = jwt.decode(token, OctKey.import_key(KEY), algorithms=["HS256"]).claims
        assert (claims["amr"], claims["auth_time"]) == (["pwd", "otp", "mfa"], int(signed_in_at.timestamp()))

    def test_each_token_has_its_own_id(self, codec: AccessTokenCodec) -> None:
        first = codec.decode(codec.issue(USER_ID, SESSION_ID, NOW), NOW)
        second = codec.decode(codec.issue(USER_ID, SESSION_ID, NOW), NOW)
        assert first.token_id != second.token_id


class TestDecode:
    def test_returns_the_claims_it_was_issued_with(self, codec: AccessTokenCodec) -> None:
        claims = codec.decode(codec.issue(USER_ID, SESSION_ID, NOW), NOW + timedelta(seconds=LIFETIME - 1))
        assert claims.user_id == USER_ID
        assert claims.session_id == SESSION_ID
        assert claims.expires_at == int(NOW.timestamp()) + LIFETIME

    def test_accepts_a_token_built_elsewhere_with_the_same_key(self, codec: AccessTokenCodec) -> None:
        # The control for the forgeries below: only the one thing each changes is wrong.
        assert codec.decode(forge(valid_claims()), NOW).user_id == USER_ID

    def test_rejects_an_expired_token(self, codec: AccessTokenCodec) -> None:
        token = codec.issue(USER_ID, SESSION_ID, NOW)
        with pytest.raises(InvalidAccessToken):
            codec.decode(token, NOW + timedelta(seconds=LIFETIME))

    def test_rejects_alg_none(self, codec: AccessTokenCodec) -> None:
        token = f"{b64url({'alg': 'none', 'typ': 'at+jwt'})}.{b64url(valid_claims())}."
        with pytest.raises(InvalidAccessToken):
            codec.decode(token, NOW)

    def test_rejects_another_algorithm_with_the_same_key(self, codec: AccessTokenCodec) -> None:
        with pytest.raises(InvalidAccessToken):
            codec.decode(forge(valid_claims(), algorithm="HS512"), NOW)

    def test_rejects_another_key(self, codec: AccessTokenCodec) -> None:
        with pytest.raises(InvalidAccessToken):
            codec.decode(forge(valid_claims(), key=b"somebody else's 32-byte key....."), NOW)

    def test_rejects_a_tampered_payload(self, codec: AccessTokenCodec) -> None:
        header, _, signature = codec.issue(USER_ID, SESSION_ID, NOW).split(".")
        tampered = valid_claims() | {"sub": str(uuid.uuid4())}
        with pytest.raises(InvalidAccessToken):
            codec.decode(f"{header}.{b64url(tampered)}.{signature}", NOW)

    @pytest.mark.parametrize(
        "changes",
        [
            {"iss": "https://evil.example.com"},
            {"aud": "https://another-api.example.com"},
            {"sub": "not-a-uuid"},
            {"iat": int(NOW.timestamp()) + 60},
        ],
        ids=["wrong issuer", "wrong audience", "subject not a uuid", "issued in the future"],
    )
    def test_rejects_wrong_claims(self, codec: AccessTokenCodec, changes: dict[str, Any]) -> None:
        with pytest.raises(InvalidAccessToken):
            codec.decode(forge(valid_claims() | changes), NOW)

    @pytest.mark.parametrize("missing", ["iss", "aud", "exp", "sub", "sid", "jti"])
    def test_rejects_a_missing_claim(self, codec: AccessTokenCodec, missing: str) -> None:
        claims = valid_claims()
        del claims[missing]
        with pytest.raises(InvalidAccessToken):
            codec.decode(forge(claims), NOW)

    @pytest.mark.parametrize("header", [{"alg": "HS256", "typ": "JWT"}, {"alg": "HS256"}], ids=["typ JWT", "no typ"])
    def test_rejects_another_token_type(self, codec: AccessTokenCodec, header: dict[str, Any]) -> None:
        # e.g. an ID token from the same issuer must not open the API.
        with pytest.raises(InvalidAccessToken):
            codec.decode(forge(valid_claims(), header=header), NOW)

    @pytest.mark.parametrize("garbage", ["", "garbage", "a.b.c", "..", "a.b.c.d.e", "ä.ö.ü"])
    def test_rejects_garbage(self, codec: AccessTokenCodec, garbage: str) -> None:
        with pytest.raises(InvalidAccessToken):
            codec.decode(garbage, NOW)

    def test_rejects_a_refresh_token(self, codec: AccessTokenCodec) -> None:
        refresh_token = RefreshTokenMinter(KEY).token(b"seed" * 8, 0)
        with pytest.raises(InvalidAccessToken):
            codec.decode(refresh_token, NOW)


ASYMMETRIC: list[AsymmetricAlgorithm] = ["EdDSA", "ES256", "RS256"]
SIGNING_KEYS = {algorithm: signing_key(algorithm) for algorithm in ASYMMETRIC}


def asymmetric_codec(signer: AccessTokenKey, *verification: AccessTokenKey) -> AccessTokenCodec:
    keys = AccessTokenKeys(signer, verification)
    return AccessTokenCodec(keys, issuer=ISSUER, audience=AUDIENCE, lifetime_seconds=LIFETIME)


def signed(key: AccessTokenKey, header: dict[str, Any] | None = None) -> str:
    header = header if header is not None else {"alg": key.algorithm, "typ": "at+jwt", "kid": key.kid}
    return jwt.encode(header, valid_claims(), key.key, registry=jws_registry(key.algorithm))


class TestAsymmetricSigning:
    @pytest.mark.parametrize("algorithm", ASYMMETRIC)
    def test_the_header_names_the_algorithm_and_the_signing_key(self, algorithm: AsymmetricAlgorithm) -> None:
        key = SIGNING_KEYS[algorithm]
        token = asymmetric_codec(key).issue(USER_ID, SESSION_ID, NOW)
        decoded = jwt.decode(token, key.public().key, registry=jws_registry(algorithm))
        assert decoded.header == {"alg": algorithm, "typ": "at+jwt", "kid": key.kid}
        assert decoded.claims["sub"] == str(USER_ID)

    @pytest.mark.parametrize("algorithm", ASYMMETRIC)
    def test_a_token_it_issued_decodes(self, algorithm: AsymmetricAlgorithm) -> None:
        codec = asymmetric_codec(SIGNING_KEYS[algorithm])
        assert codec.decode(codec.issue(USER_ID, SESSION_ID, NOW), NOW).session_id == SESSION_ID

    def test_a_token_without_kid_is_checked_against_the_signing_key(self) -> None:
        key, old = SIGNING_KEYS["EdDSA"], generate_signing_key("EdDSA")
        codec = asymmetric_codec(key, old)
        assert codec.decode(signed(key, {"alg": "EdDSA", "typ": "at+jwt"}), NOW).user_id == USER_ID
        with pytest.raises(InvalidAccessToken):
            codec.decode(signed(old, {"alg": "EdDSA", "typ": "at+jwt"}), NOW)

    def test_refuses_a_kid_it_does_not_know_even_with_a_good_signature(self) -> None:
        key = SIGNING_KEYS["EdDSA"]
        with pytest.raises(InvalidAccessToken):
            asymmetric_codec(key).decode(signed(key, {"alg": "EdDSA", "typ": "at+jwt", "kid": "other"}), NOW)

    def test_refuses_a_signature_by_another_key_under_a_known_kid(self) -> None:
        key, impostor = SIGNING_KEYS["EdDSA"], generate_signing_key("EdDSA")
        with pytest.raises(InvalidAccessToken):
            asymmetric_codec(key).decode(signed(impostor, {"alg": "EdDSA", "typ": "at+jwt", "kid": key.kid}), NOW)

    def test_refuses_hs256_keyed_with_the_public_key(self) -> None:
        # Algorithm confusion: the public key is public, so an HMAC keyed with it is anyone's.
        key = SIGNING_KEYS["ES256"]
        header = b64url({"alg": "HS256", "typ": "at+jwt", "kid": key.kid})
        signing_input = f"{header}.{b64url(valid_claims())}"
        mac = hmac.new(key.public_pem().encode(), signing_input.encode(), hashlib.sha256).digest()
        forged = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
        with pytest.raises(InvalidAccessToken):
            asymmetric_codec(key).decode(forged, NOW)

    def test_refuses_another_asymmetric_algorithm(self) -> None:
        with pytest.raises(InvalidAccessToken):
            asymmetric_codec(SIGNING_KEYS["EdDSA"]).decode(signed(SIGNING_KEYS["ES256"]), NOW)

    def test_refuses_alg_none(self) -> None:
        key = SIGNING_KEYS["EdDSA"]
        token = f"{b64url({'alg': 'none', 'typ': 'at+jwt', 'kid': key.kid})}.{b64url(valid_claims())}."
        with pytest.raises(InvalidAccessToken):
            asymmetric_codec(key).decode(token, NOW)


class TestRotation:
    @pytest.mark.parametrize("algorithm", ASYMMETRIC)
    def test_a_token_of_the_old_key_lives_while_the_old_key_verifies(self, algorithm: AsymmetricAlgorithm) -> None:
        old, new = SIGNING_KEYS[algorithm], signing_key(algorithm, 1)
        token = asymmetric_codec(old).issue(USER_ID, SESSION_ID, NOW)

        rotated = asymmetric_codec(new, old.public())
        assert rotated.decode(token, NOW).user_id == USER_ID
        assert jwt.decode(rotated.issue(USER_ID, SESSION_ID, NOW), new.public().key, registry=jws_registry(algorithm))

        with pytest.raises(InvalidAccessToken):
            asymmetric_codec(new).decode(token, NOW)


class TestRefreshTokenMinter:
    SEED = b"s" * 32

    def test_is_43_url_safe_characters(self) -> None:
        token = RefreshTokenMinter(KEY).token(self.SEED, 0)
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)

    def test_is_deterministic_per_seed_and_generation(self) -> None:
        assert RefreshTokenMinter(KEY).token(self.SEED, 3) == RefreshTokenMinter(KEY).token(self.SEED, 3)

    def test_differs_per_generation_seed_and_key(self) -> None:
        minter = RefreshTokenMinter(KEY)
        tokens = {
            minter.token(self.SEED, 0),
            minter.token(self.SEED, 1),
            minter.token(b"t" * 32, 0),
            RefreshTokenMinter(b"another refresh key, 32 bytes..").token(self.SEED, 0),
        }
        assert len(tokens) == 4

    def test_new_family_seeds_are_256_random_bits(self) -> None:
        seeds = {RefreshTokenMinter.new_family_seed() for _ in range(20)}
        assert len(seeds) == 20
        assert all(len(seed) == 32 for seed in seeds)


def test_a_refresh_token_is_stored_as_its_sha256() -> None:
    token = RefreshTokenMinter(KEY).token(b"s" * 32, 0)
    stored = hash_refresh_token(token)
    assert re.fullmatch(r"[0-9a-f]{64}", stored)
    assert stored == hash_refresh_token(token)
    assert stored != hash_refresh_token(RefreshTokenMinter(KEY).token(b"s" * 32, 1))


class TestRememberedTokens:
    """A token that passed is remembered: the same text again skips the signature, never the time."""

    @pytest.fixture
    def verifications(self, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        """The tokens whose signature was checked, in order."""
        checked: list[str] = []
        real_decode = jwt.decode

        def counted(token: str, *args: Any, **kwargs: Any) -> Any:
            checked.append(token)
            return real_decode(token, *args, **kwargs)

        monkeypatch.setattr(jwt, "decode", counted)  # the module the codec calls
        return checked

    def test_the_same_token_again_is_not_verified_again(
        self, codec: AccessTokenCodec, verifications: list[str]
    ) -> None:
        token = codec.issue(USER_ID, SESSION_ID, NOW)
        first = codec.decode(token, NOW)
        assert codec.decode(token, NOW + timedelta(seconds=LIFETIME - 1)) == first
        assert verifications == [token]

    def test_a_remembered_token_expires_all_the_same(self, codec: AccessTokenCodec) -> None:
        token = codec.issue(USER_ID, SESSION_ID, NOW)
        codec.decode(token, NOW)
        with pytest.raises(InvalidAccessToken):
            codec.decode(token, NOW + timedelta(seconds=LIFETIME))
        with pytest.raises(InvalidAccessToken):
            codec.decode(token, NOW - timedelta(seconds=1))  # before it was issued

    def test_a_token_that_differs_by_one_character_is_checked_in_full(self, codec: AccessTokenCodec) -> None:
        token = codec.issue(USER_ID, SESSION_ID, NOW)
        codec.decode(token, NOW)
        header, claims, signature = token.split(".")
        flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
        with pytest.raises(InvalidAccessToken):
            codec.decode(f"{header}.{claims}.{flipped}", NOW)
        forged_claims = b64url({**valid_claims(), "sub": str(uuid.uuid4())})
        with pytest.raises(InvalidAccessToken):
            codec.decode(f"{header}.{forged_claims}.{signature}", NOW)

    def test_only_so_many_are_remembered(
        self, codec: AccessTokenCodec, verifications: list[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(access_tokens, "VERIFIED_TOKENS_KEPT", 2)
        first, second, third = (codec.issue(USER_ID, SESSION_ID, NOW) for _ in range(3))
        for token in (first, second, third, third, first):
            codec.decode(token, NOW)
        assert verifications == [first, second, third, first]  # the oldest gave way to the third
