"""The server secret and the access-token keys, from the settings or, in development,
generated once into ``DATA_DIR`` (development only: production must name them)."""

from __future__ import annotations

import json
import logging
import os
import secrets
from typing import TYPE_CHECKING

from security.signing_keys import (
    AccessTokenKey,
    AccessTokenKeys,
    generate_signing_key,
    keys_by_kid,
    load_keys,
    load_signing_key,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from settings import Settings

logger = logging.getLogger("gateway")


def server_secret(settings: Settings) -> bytes:
    """JWT_SECRET, or in development one generated once and kept under DATA_DIR."""
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value().encode()
    path = settings.data_dir / "jwt_secret"
    if _generated_once(path, lambda: secrets.token_urlsafe(48)):
        logger.warning("JWT_SECRET is not set: generated one in %s (development only)", path)
    return path.read_text().strip().encode()


def _generated_once(path: Path, content: Callable[[], str]) -> bool:
    """Write ``content()`` to ``path`` (0600) unless it exists; True if this call wrote it.

    Written aside, then linked into place: a second process starting at the same
    moment reads a whole file, whichever of the two won.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content())
    try:
        os.link(draft, path)
    except FileExistsError:
        return False
    finally:
        draft.unlink()
    return True


def configured_signing_keys(settings: Settings) -> tuple[AccessTokenKey | None, list[AccessTokenKey]]:
    """The signing key and the verification keys the settings give, read and checked.

    Raises:
        ValueError: naming the variable, for a key that is unreadable, unfit for
            JWT_ALGORITHM, public where it must sign, or sharing a kid with another.
    """
    algorithm = settings.jwt_algorithm
    given = {
        "JWT_SIGNING_KEY": settings.jwt_signing_key is not None,
        "JWT_SIGNING_KEY_FILE": settings.jwt_signing_key_file is not None,
        "JWT_VERIFICATION_KEYS": settings.jwt_verification_keys is not None,
        "JWT_VERIFICATION_KEY_FILES": bool(settings.jwt_verification_key_files),
    }
    if algorithm == "HS256":
        if any(given.values()):
            names = ", ".join(name for name, is_set in given.items() if is_set)
            raise ValueError(f"{names}: JWT_ALGORITHM=HS256 signs with a key derived from JWT_SECRET, not with keys")
        return None, []
    if settings.jwt_signing_key is not None and settings.jwt_signing_key_file is not None:
        raise ValueError("set JWT_SIGNING_KEY or JWT_SIGNING_KEY_FILE, not both")
    signer = None
    if settings.jwt_signing_key is not None:
        signer = load_signing_key(settings.jwt_signing_key.get_secret_value(), "JWT_SIGNING_KEY", algorithm)
    elif settings.jwt_signing_key_file is not None:
        source = f"JWT_SIGNING_KEY_FILE {settings.jwt_signing_key_file}"
        signer = load_signing_key(_read_key_file(settings.jwt_signing_key_file, source), source, algorithm)
    verification = []
    if settings.jwt_verification_keys is not None:
        text = settings.jwt_verification_keys.get_secret_value()
        verification += load_keys(text, "JWT_VERIFICATION_KEYS", algorithm)
    for path in settings.jwt_verification_key_files:
        source = f"JWT_VERIFICATION_KEY_FILES {path}"
        verification += load_keys(_read_key_file(path, source), source, algorithm)
    keys_by_kid([signer, *verification] if signer else verification)  # one kid, one key
    return signer, verification


def _read_key_file(path: Path, source: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{source}: cannot read it ({exc})") from None


def access_token_keys(settings: Settings, access_token_secret: bytes) -> AccessTokenKeys:
    """The keys of JWT_ALGORITHM: HS256 signs with ``access_token_secret``; the others with
    JWT_SIGNING_KEY(_FILE), or in development with one generated once under DATA_DIR."""
    if settings.jwt_algorithm == "HS256":
        return AccessTokenKeys.symmetric(access_token_secret, "the access-token key derived from JWT_SECRET")
    signer, verification = configured_signing_keys(settings)
    return AccessTokenKeys(signer or _development_signing_key(settings), verification)


def _development_signing_key(settings: Settings) -> AccessTokenKey:
    algorithm = settings.jwt_algorithm
    assert algorithm != "HS256"
    path = settings.data_dir / f"jwt_signing_key.{algorithm}.json"
    if _generated_once(path, lambda: json.dumps(generate_signing_key(algorithm).private_jwk()) + "\n"):
        logger.warning("JWT_SIGNING_KEY is not set: generated an %s key in %s (development only)", algorithm, path)
    return load_signing_key(path.read_text(encoding="utf-8"), str(path), algorithm)
