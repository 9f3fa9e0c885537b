from __future__ import annotations

import pytest

from security.passwords import BcryptPasswordHasher

PASSWORD = "correct horse battery staple"


class TestHash:
    async def test_verifies_the_right_password_only(self, bcrypt_cost_4: BcryptPasswordHasher) -> None:
        password_hash = await bcrypt_cost_4.hash(PASSWORD)
        assert await bcrypt_cost_4.verify(PASSWORD, password_hash)
        assert not await bcrypt_cost_4.verify(PASSWORD + "!", password_hash)
        assert not await bcrypt_cost_4.verify(PASSWORD.upper(), password_hash)

    async def test_is_salted_and_keeps_no_plain_text(self, bcrypt_cost_4: BcryptPasswordHasher) -> None:
        first, second = await bcrypt_cost_4.hash(PASSWORD), await bcrypt_cost_4.hash(PASSWORD)
        assert first != second
        assert PASSWORD not in first

    async def test_uses_the_configured_cost(self, bcrypt_cost_4: BcryptPasswordHasher) -> None:
        assert (await bcrypt_cost_4.hash(PASSWORD)).startswith("$2b$04$")

    @pytest.mark.parametrize(
        ("password", "other"),
        [
            ("a" * 72 + "1", "a" * 72 + "2"),  # bcrypt alone reads only the first 72 bytes
            ("é" * 40 + "1", "é" * 40 + "2"),  # 80 bytes of UTF-8 before they differ
            ("x" * 128, "x" * 127 + "y"),
        ],
    )
    async def test_every_character_counts_beyond_72_bytes(
        self, bcrypt_cost_4: BcryptPasswordHasher, password: str, other: str
    ) -> None:
        password_hash = await bcrypt_cost_4.hash(password)
        assert await bcrypt_cost_4.verify(password, password_hash)
        assert not await bcrypt_cost_4.verify(other, password_hash)

    async def test_handles_any_unicode_and_nul(self, bcrypt_cost_4: BcryptPasswordHasher) -> None:
        password = "пароль\x00密码🔑"
        password_hash = await bcrypt_cost_4.hash(password)
        assert await bcrypt_cost_4.verify(password, password_hash)
        assert not await bcrypt_cost_4.verify("пароль", password_hash)


class TestVerify:
    @pytest.mark.parametrize("stored", ["", "not a bcrypt hash", "$2b$04$tooshort"])
    async def test_a_stored_value_that_is_no_hash_matches_nothing(
        self, bcrypt_cost_4: BcryptPasswordHasher, stored: str
    ) -> None:
        assert not await bcrypt_cost_4.verify(PASSWORD, stored)

    async def test_checks_hashes_of_another_cost(self, bcrypt_cost_4: BcryptPasswordHasher) -> None:
        stronger = BcryptPasswordHasher(cost=5)
        assert await bcrypt_cost_4.verify(PASSWORD, await stronger.hash(PASSWORD))


class TestVerifyDummy:
    @pytest.mark.parametrize("password", ["", PASSWORD, "dummy password", "é" * 128])
    async def test_completes_for_any_password(self, bcrypt_cost_4: BcryptPasswordHasher, password: str) -> None:
        # It exists to spend one bcrypt run when the account is unknown; it must never fail.
        await bcrypt_cost_4.verify_dummy(password)


class TestNeedsRehash:
    async def test_a_hash_of_lower_cost_needs_rehashing(self, bcrypt_cost_4: BcryptPasswordHasher) -> None:
        password_hash = await bcrypt_cost_4.hash(PASSWORD)
        assert BcryptPasswordHasher(cost=5).needs_rehash(password_hash)

    async def test_a_hash_of_the_same_or_higher_cost_does_not(self, bcrypt_cost_4: BcryptPasswordHasher) -> None:
        stronger = BcryptPasswordHasher(cost=5)
        assert not bcrypt_cost_4.needs_rehash(await bcrypt_cost_4.hash(PASSWORD))
        assert not bcrypt_cost_4.needs_rehash(await stronger.hash(PASSWORD))

    @pytest.mark.parametrize("stored", ["", "plain text", "$2b$xx$abc"])
    def test_an_unreadable_hash_needs_rehashing(self, bcrypt_cost_4: BcryptPasswordHasher, stored: str) -> None:
        assert bcrypt_cost_4.needs_rehash(stored)
