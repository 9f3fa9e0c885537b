from __future__ import annotations

import enum
import re
import uuid
from typing import cast

import pytest

from domain.entities import OtpPurpose
from domain.otp import OtpCodes

KEY = b"k" * 32
CODE = "042917"


class _FuturePurpose(enum.StrEnum):
    # OtpPurpose has one member today; a second one (password reset) must not share codes.
    RESET_PASSWORD = "reset_password"


RESET_PASSWORD = cast("OtpPurpose", _FuturePurpose.RESET_PASSWORD)


@pytest.fixture
def codes() -> OtpCodes:
    return OtpCodes(KEY)


class TestGenerate:
    def test_draws_six_ascii_digits(self) -> None:
        drawn = [OtpCodes.generate() for _ in range(200)]
        assert all(re.fullmatch(r"[0-9]{6}", code) for code in drawn)
        assert len(set(drawn)) > 150  # 200 draws from a million: repeats are rare


class TestDigest:
    def test_keeps_no_plain_code(self, codes: OtpCodes) -> None:
        user_id = uuid.uuid4()
        digest = codes.digest(user_id, OtpPurpose.VERIFY_EMAIL, CODE)
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert CODE not in digest

    def test_is_stable(self, codes: OtpCodes) -> None:
        user_id = uuid.uuid4()
        assert codes.digest(user_id, OtpPurpose.VERIFY_EMAIL, CODE) == OtpCodes(KEY).digest(
            user_id, OtpPurpose.VERIFY_EMAIL, CODE
        )

    def test_is_bound_to_the_user(self, codes: OtpCodes) -> None:
        user_id, other_user_id = uuid.uuid4(), uuid.uuid4()
        digest = codes.digest(user_id, OtpPurpose.VERIFY_EMAIL, CODE)
        assert not codes.matches(other_user_id, OtpPurpose.VERIFY_EMAIL, CODE, digest)

    def test_is_bound_to_the_purpose(self, codes: OtpCodes) -> None:
        user_id = uuid.uuid4()
        digest = codes.digest(user_id, OtpPurpose.VERIFY_EMAIL, CODE)
        assert not codes.matches(user_id, RESET_PASSWORD, CODE, digest)

    def test_is_bound_to_the_server_key(self, codes: OtpCodes) -> None:
        user_id = uuid.uuid4()
        digest = OtpCodes(b"another key" * 3).digest(user_id, OtpPurpose.VERIFY_EMAIL, CODE)
        assert not codes.matches(user_id, OtpPurpose.VERIFY_EMAIL, CODE, digest)


class TestMatches:
    def test_the_right_code_matches(self, codes: OtpCodes) -> None:
        user_id = uuid.uuid4()
        digest = codes.digest(user_id, OtpPurpose.VERIFY_EMAIL, CODE)
        assert codes.matches(user_id, OtpPurpose.VERIFY_EMAIL, CODE, digest)

    @pytest.mark.parametrize("wrong", ["042918", "42917", "0429170", "", " 042917"])
    def test_any_other_code_does_not(self, codes: OtpCodes, wrong: str) -> None:
        user_id = uuid.uuid4()
        digest = codes.digest(user_id, OtpPurpose.VERIFY_EMAIL, CODE)
        assert not codes.matches(user_id, OtpPurpose.VERIFY_EMAIL, wrong, digest)
