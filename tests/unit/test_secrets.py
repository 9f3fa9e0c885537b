from __future__ import annotations

from domain.secrets import KeyRing

SECRET = b"a server secret of at least thirty-two bytes"


def test_derives_one_distinct_256_bit_key_per_purpose() -> None:
    keys = KeyRing.from_secret(SECRET)
    derived = {keys.access_token, keys.otp, keys.refresh_token}
    assert len(derived) == 3
    assert all(len(key) == 32 for key in derived)
    assert SECRET not in derived


def test_the_same_secret_gives_the_same_keys() -> None:
    # Restarting the server must not sign everyone out or void mailed codes.
    assert KeyRing.from_secret(SECRET) == KeyRing.from_secret(SECRET)


def test_another_secret_gives_other_keys() -> None:
    keys, others = KeyRing.from_secret(SECRET), KeyRing.from_secret(SECRET + b"!")
    assert keys.access_token != others.access_token
    assert keys.otp != others.otp
    assert keys.refresh_token != others.refresh_token
