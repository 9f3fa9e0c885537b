"""The keys that sign and verify access tokens: reading them, their kids, and what may be published.

Keys arrive as text: PEM (one or more blocks), a JWK, a JWK Set or a JSON array of
JWKs. ``server.py`` reads that text from the settings and the files they name;
nothing here touches the file system.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from joserfc.errors import InvalidKeyCurveError, JoseError
from joserfc.jwa import EdDSAAlgorithm
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey
from joserfc.jwk import import_key as import_jwk
from joserfc.jws import JWSRegistry

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from joserfc.jwk import DictKey, Key

Algorithm = Literal["EdDSA", "ES256", "RS256", "HS256"]
AsymmetricAlgorithm = Literal["EdDSA", "ES256", "RS256"]

MIN_RSA_BITS = 2048  # NIST SP 800-131A: nothing shorter after 2013
GENERATED_RSA_BITS = 3072  # good beyond 2030 (SP 800-57); signing a token takes about 1 ms

_NEEDS = {
    "EdDSA": "an Ed25519 key (JWK kty OKP, crv Ed25519)",
    "ES256": "an EC key on the P-256 curve",
    "RS256": f"an RSA key of {MIN_RSA_BITS} bits or more",
}
# The members of a public JWK (RFC 7518 section 6, RFC 8037 section 2). Only these are
# ever published, whatever else a configured JWK carries: never d, p, q, dp, dq, qi or k.
_PUBLIC_MEMBERS = ("kty", "crv", "x", "y", "n", "e")
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.DOTALL)


class InvalidSigningKey(ValueError):
    """A configured key that cannot do what it is configured for; the message says where it came from."""


@dataclass(frozen=True, eq=False)
class AccessTokenKey:
    """One key, the algorithm it is used with, and its ``kid``.

    The kid is the JWK's own ``kid`` when it has one, else its RFC 7638 thumbprint,
    which a private key and its public half share.
    """

    kid: str
    algorithm: Algorithm
    key: Key
    source: str  # where it came from, for error messages: a variable, a file

    @property
    def is_private(self) -> bool:
        return bool(self.key.is_private)

    @property
    def symmetric(self) -> bool:
        return isinstance(self.key, OctKey)

    def same_key_as(self, other: AccessTokenKey) -> bool:
        return type(self.key) is type(other.key) and self.key.thumbprint() == other.key.thumbprint()

    def public(self) -> AccessTokenKey:
        """This key without its private members (a symmetric key stays itself: it has no public half)."""
        if self.symmetric:
            return self
        members: DictKey = dict(_public_members(self.key))
        key = type(self.key).import_key(members)
        return AccessTokenKey(self.kid, self.algorithm, key, self.source)

    def public_jwk(self) -> dict[str, str]:
        """The public JWK, as a JWK Set publishes it (RFC 7517), with ``kid``, ``alg`` and ``use``."""
        if self.symmetric:
            raise InvalidSigningKey("a symmetric key has no public half")
        return {**_public_members(self.key), "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def private_jwk(self) -> dict[str, Any]:
        """The whole key as a JWK, with ``kid``, ``alg`` and ``use``: what ``generate-key`` hands out."""
        return {**self.key.as_dict(private=True), "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def public_pem(self) -> str:
        """The public key as PEM (SubjectPublicKeyInfo), e.g. for a verifier that takes no JWKs."""
        if isinstance(self.key, OctKey):
            raise InvalidSigningKey("a symmetric key has no public half")
        return self.key.as_pem(private=False).decode("ascii")

    def private_pem(self) -> str:
        """The private key as PKCS#8 PEM (its kid is then the thumbprint)."""
        if isinstance(self.key, OctKey):
            raise InvalidSigningKey("a symmetric key has no PEM form")
        return self.key.as_pem(private=True).decode("ascii")


def _public_members(key: Key) -> dict[str, str]:
    public = key.as_dict(private=False)
    return {name: cast("str", public[name]) for name in _PUBLIC_MEMBERS if name in public}


class AccessTokenKeys:
    """The key that signs access tokens, and every key that verifies them, by kid.

    Several keys verify while one signs, so a new key can be published, then sign,
    while the old one still verifies the tokens it signed until they expire.
    Verification holds public keys only, even when a private one was configured.
    """

    def __init__(self, signer: AccessTokenKey, verification: Sequence[AccessTokenKey] = ()) -> None:
        if not signer.is_private:
            raise InvalidSigningKey(f"{signer.source}: a public key cannot sign; give the private key")
        for key in verification:
            if key.algorithm != signer.algorithm:
                raise InvalidSigningKey(f"{key.source}: a {key.algorithm} key, but tokens are {signer.algorithm}")
        self.signer = signer
        self.algorithm: Algorithm = signer.algorithm
        self._verifiers = keys_by_kid([signer, *verification])

    @classmethod
    def symmetric(cls, key: bytes, source: str = "the access-token key") -> AccessTokenKeys:
        """HS256 with ``key`` (the one derived from the server secret): it signs and verifies alone."""
        octet_key = OctKey.import_key(key)
        return cls(AccessTokenKey(octet_key.thumbprint(), "HS256", octet_key, source))

    def verifier(self, kid: object) -> Key | None:
        """The key for a token whose header names ``kid``; no kid is the signer's (tokens from before kids)."""
        if kid is None:
            return self._verifiers[self.signer.kid].key
        found = self._verifiers.get(kid) if isinstance(kid, str) else None
        return found.key if found else None

    @property
    def kids(self) -> list[str]:
        return list(self._verifiers)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public JWK Set (RFC 7517) of every verifying key, the signer first; empty for HS256."""
        return {"keys": [key.public_jwk() for key in self._verifiers.values() if not key.symmetric]}


def keys_by_kid(keys: Iterable[AccessTokenKey]) -> dict[str, AccessTokenKey]:
    """Public halves by kid, in order. The same key twice is kept once (e.g. the signer also
    left among the verification keys); one kid for two different keys is refused."""
    by_kid: dict[str, AccessTokenKey] = {}
    for key in keys:
        earlier = by_kid.get(key.kid)
        if earlier is None:
            by_kid[key.kid] = key.public()
        elif not earlier.same_key_as(key):
            raise InvalidSigningKey(
                f"kid {key.kid!r} names two different keys ({earlier.source} and {key.source}): give each its own kid"
            )
    return by_kid


def load_signing_key(text: str, source: str, algorithm: AsymmetricAlgorithm) -> AccessTokenKey:
    """The one private key in ``text``, checked for ``algorithm``.

    Raises:
        InvalidSigningKey: unreadable, not exactly one key, public only, or not fit for ``algorithm``.
    """
    keys = load_keys(text, source, algorithm)
    if len(keys) != 1:
        raise InvalidSigningKey(
            f"{source}: holds {len(keys)} keys; the signing key must be one key (others go in the verification keys)"
        )
    [key] = keys
    if not key.is_private:
        raise InvalidSigningKey(
            f"{source}: a public key cannot sign; give the private key (its public half is published in the JWK Set)"
        )
    operations = key.key.get("key_ops")
    if operations is not None and "sign" not in operations:
        raise InvalidSigningKey(f"{source}: the JWK's key_ops {operations} do not include 'sign'")
    return key


def load_keys(text: str, source: str, algorithm: AsymmetricAlgorithm) -> list[AccessTokenKey]:
    """Every key in ``text`` (PEM blocks, a JWK, a JWK Set or an array of JWKs), each checked for ``algorithm``.

    Raises:
        InvalidSigningKey: nothing readable, or a key unfit for ``algorithm``.
    """
    raw_keys = _parse(text.strip(), source)
    if not raw_keys:
        raise InvalidSigningKey(f"{source}: holds no key")
    labelled = [(source if len(raw_keys) == 1 else f"{source}, key {n}", key) for n, key in enumerate(raw_keys, 1)]
    return [_checked(key, label, algorithm) for label, key in labelled]


def generate_signing_key(algorithm: AsymmetricAlgorithm) -> AccessTokenKey:
    """A new private key for ``algorithm``, its kid its thumbprint."""
    key: Key
    if algorithm == "EdDSA":
        key = OKPKey.generate_key("Ed25519")
    elif algorithm == "ES256":
        key = ECKey.generate_key("P-256")
    else:
        key = RSAKey.generate_key(GENERATED_RSA_BITS)
    return AccessTokenKey(key.thumbprint(), algorithm, key, "a generated key")


def _parse(text: str, source: str) -> list[Key]:
    if text.startswith(("{", "[")):
        try:
            document = json.loads(text)
        except ValueError:
            raise InvalidSigningKey(f"{source}: not valid JSON") from None
        members = document.get("keys") if isinstance(document, dict) and "keys" in document else document
        jwks = members if isinstance(members, list) else [members]
        return [_from_jwk(jwk, source) for jwk in jwks]
    blocks = [(match.group(1), match.group(0)) for match in _PEM_BLOCK.finditer(text)]
    if not blocks:
        raise InvalidSigningKey(f"{source}: neither PEM (-----BEGIN …) nor a JWK (JSON)")
    return [_from_pem(label, block, source) for label, block in blocks]


def _from_jwk(jwk: object, source: str) -> Key:
    if not isinstance(jwk, dict):
        raise InvalidSigningKey(f"{source}: a JWK is a JSON object")
    kty = jwk.get("kty")
    if kty == "oct":
        raise InvalidSigningKey(f"{source}: a symmetric (oct) key; HS256 signs with the key derived from JWT_SECRET")
    if kty == "RSA":
        _check_rsa_size(_rsa_bits(jwk.get("n")), source)  # before joserfc, which only warns
    if "kid" in jwk and not (isinstance(jwk["kid"], str) and jwk["kid"]):
        raise InvalidSigningKey(f"{source}: the JWK's kid is not a non-empty string")
    try:
        return import_jwk(cast("DictKey", jwk))
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise InvalidSigningKey(f"{source}: not a usable JWK ({exc})") from None


def _from_pem(label: str, block: str, source: str) -> Key:
    if label == "ENCRYPTED PRIVATE KEY":
        raise InvalidSigningKey(f"{source}: the PEM key is encrypted; give it unencrypted and protect the file")
    if label not in ("PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "PUBLIC KEY", "RSA PUBLIC KEY"):
        raise InvalidSigningKey(f"{source}: PEM {label!r} is not a key (PRIVATE KEY or PUBLIC KEY)")
    data = block.encode("ascii", errors="replace")
    native: Any
    try:
        native = load_pem_private_key(data, password=None) if "PRIVATE" in label else load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InvalidSigningKey(f"{source}: an unreadable PEM key ({exc})") from None
    if isinstance(native, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return OKPKey.import_key(native)
    if isinstance(native, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        try:
            return ECKey.import_key(native)
        except (JoseError, KeyError, ValueError):  # a curve JOSE has no name for
            raise InvalidSigningKey(f"{source}: an EC key on {native.curve.name}, but {_NEEDS['ES256']}") from None
    if isinstance(native, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        _check_rsa_size(native.key_size, source)
        return RSAKey.import_key(native)
    raise InvalidSigningKey(f"{source}: a {type(native).__name__}, which signs no JWT this gateway issues")


def _rsa_bits(modulus: object) -> int:
    if not isinstance(modulus, str):
        return 0
    try:
        return int.from_bytes(base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4)), "big").bit_length()
    except (binascii.Error, ValueError):
        return 0


def _check_rsa_size(bits: int, source: str) -> None:
    if bits < MIN_RSA_BITS:
        raise InvalidSigningKey(f"{source}: an RSA key of {bits} bits; RS256 needs {MIN_RSA_BITS} bits or more")


def _describe(key: Key) -> str:
    if isinstance(key, OKPKey):
        return f"an {key.curve_name} key (OKP)"
    if isinstance(key, ECKey):
        return f"an EC key on {key.curve_name}"
    if isinstance(key, RSAKey):
        return "an RSA key"
    return "a symmetric key"


def _fits(key: Key, algorithm: AsymmetricAlgorithm) -> bool:
    if algorithm == "EdDSA":
        return isinstance(key, OKPKey) and key.curve_name == "Ed25519"
    if algorithm == "ES256":
        return isinstance(key, ECKey) and key.curve_name == "P-256"
    return isinstance(key, RSAKey)


def _checked(key: Key, source: str, algorithm: AsymmetricAlgorithm) -> AccessTokenKey:
    if not _fits(key, algorithm):
        raise InvalidSigningKey(f"{source}: {_describe(key)}, but {algorithm} needs {_NEEDS[algorithm]}")
    declared = key.get("alg")
    if declared is not None and declared != algorithm:
        raise InvalidSigningKey(f"{source}: the JWK is for alg {declared}, but tokens are {algorithm}")
    use = key.get("use")
    if use is not None and use != "sig":
        raise InvalidSigningKey(f"{source}: the JWK's use is {use!r}; a token key has use 'sig' or none")
    kid = key.kid or key.thumbprint()
    return AccessTokenKey(kid, algorithm, key, source)


class _Ed25519EdDSA(EdDSAAlgorithm):
    """RFC 8037's ``EdDSA``, on Ed25519 keys only, and without joserfc's deprecation warning.

    RFC 9864 deprecates ``EdDSA`` for the fully specified ``Ed25519``, which few
    verifiers know yet; ``EdDSA`` is what downstream libraries accept. The ambiguity
    RFC 9864 removes (which curve?) cannot arise: only Ed25519 keys are accepted,
    when a key is loaded and here again.
    """

    security_warning = ""  # joserfc warns when this is set

    def check_key(self, key: Any) -> None:
        super().check_key(key)
        if key.curve_name != "Ed25519":
            raise InvalidKeyCurveError("EdDSA here is Ed25519 only")


class _TokenRegistry(JWSRegistry):
    algorithms = {**JWSRegistry.algorithms, "EdDSA": _Ed25519EdDSA()}  # noqa: RUF012 - joserfc's own shape


def jws_registry(algorithm: Algorithm) -> JWSRegistry:
    """joserfc's registry allowing ``algorithm`` alone: nothing else, ``none`` least of all."""
    return _TokenRegistry(algorithms=[algorithm])
