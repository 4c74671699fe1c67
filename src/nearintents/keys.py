"""Public keys, signatures and secret keys of the three curves the Verifier knows, the implicit
account ids derived from public keys (PROTOCOL.md §2.1), and the low-level sign/verify primitives
the signing standards are built on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from typing import Self

import coincurve
import nacl.exceptions
import nacl.signing
from Crypto.Hash import keccak
from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from nearintents.encoding import EncodingError, b58decode, b58encode


class Curve(StrEnum):
    ED25519 = "ed25519"
    SECP256K1 = "secp256k1"
    P256 = "p256"


class KeyFormatError(ValueError):
    """A key or signature string (or its bytes) is not in the exact form the Verifier accepts."""


# Exact byte lengths (PROTOCOL.md §2.1): secp256k1/p256 keys are uncompressed without the 0x04
# tag; a secp256k1 signature is r‖s‖v, a p256 signature r‖s.
_PUBLIC_KEY_LENGTH = {Curve.ED25519: 32, Curve.SECP256K1: 64, Curve.P256: 64}
_SIGNATURE_LENGTH = {Curve.ED25519: 64, Curve.SECP256K1: 65, Curve.P256: 64}

# Group orders; ECDSA signatures with s > n/2 are malleable twins and the Verifier rejects them.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _split_curve(text: object) -> tuple[Curve, str]:
    if not isinstance(text, str):
        raise KeyFormatError("expected a '<curve>:<base58>' string")
    prefix, sep, data = text.partition(":")
    if not sep:
        raise KeyFormatError("missing '<curve>:' prefix")
    try:
        curve = Curve(prefix)
    except ValueError as exc:
        raise KeyFormatError(f"unknown curve {prefix!r}") from exc
    return curve, data


def _decode(curve: Curve, data: str, length: int) -> bytes:
    try:
        return b58decode(data, length=length)
    except EncodingError as exc:
        raise KeyFormatError(f"bad {curve} base58 data: {exc}") from exc


@dataclass(frozen=True, slots=True)
class PublicKey:
    curve: Curve
    data: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes) or len(self.data) != _PUBLIC_KEY_LENGTH[self.curve]:
            raise KeyFormatError(
                f"{self.curve} public key must be {_PUBLIC_KEY_LENGTH[self.curve]} bytes"
            )

    @classmethod
    def parse(cls, text: str) -> Self:
        curve, data = _split_curve(text)
        return cls(curve, _decode(curve, data, _PUBLIC_KEY_LENGTH[curve]))

    def __str__(self) -> str:
        return f"{self.curve}:{b58encode(self.data)}"


@dataclass(frozen=True, slots=True)
class Signature:
    curve: Curve
    data: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes) or len(self.data) != _SIGNATURE_LENGTH[self.curve]:
            raise KeyFormatError(
                f"{self.curve} signature must be {_SIGNATURE_LENGTH[self.curve]} bytes"
            )
        # v must already be the recovery id; Ethereum-style 27/28 has to be converted by the
        # client (PROTOCOL.md §2.1).
        if self.curve is Curve.SECP256K1 and self.data[64] not in (0, 1):
            raise KeyFormatError("secp256k1 signature v must be 0 or 1")

    @classmethod
    def parse(cls, text: str) -> Self:
        curve, data = _split_curve(text)
        return cls(curve, _decode(curve, data, _SIGNATURE_LENGTH[curve]))

    def __str__(self) -> str:
        return f"{self.curve}:{b58encode(self.data)}"


def keccak256(data: bytes) -> bytes:
    """Original Keccak-256 (Ethereum), not NIST SHA3-256."""
    return keccak.new(digest_bits=256, data=data).digest()


def implicit_account_id(pk: PublicKey) -> str:
    """The account id a key owns without registration (PROTOCOL.md §2.1)."""
    if pk.curve is Curve.ED25519:
        return pk.data.hex()
    if pk.curve is Curve.SECP256K1:
        return "0x" + keccak256(pk.data)[12:].hex()
    # The "p256" prefix keeps p256 ids from colliding with Ethereum-style secp256k1 ids.
    return "0x" + keccak256(b"p256" + pk.data)[12:].hex()


# --- verification primitives -------------------------------------------------------------------


def verify_ed25519(pk: PublicKey, message: bytes, signature: Signature) -> bool:
    """Plain ed25519 over ``message``; weak (small-order) keys and non-canonical s are rejected."""
    if pk.curve is not Curve.ED25519 or signature.curve is not Curve.ED25519:
        return False
    try:
        nacl.signing.VerifyKey(pk.data).verify(message, signature.data)
    except nacl.exceptions.CryptoError:
        return False
    return True


def recover_secp256k1(digest: bytes, signature: Signature) -> PublicKey | None:
    """The key that produced ``signature`` over the 32-byte ``digest``, or None.

    High-s signatures are refused rather than normalised, as the Verifier does.
    """
    if signature.curve is not Curve.SECP256K1 or len(digest) != 32:
        return None
    r = int.from_bytes(signature.data[:32], "big")
    s = int.from_bytes(signature.data[32:64], "big")
    if not (0 < r < SECP256K1_N and 0 < s <= SECP256K1_N // 2):
        return None
    try:
        recovered = coincurve.PublicKey.from_signature_and_message(
            signature.data, digest, hasher=None
        )
    except ValueError:
        return None
    return PublicKey(Curve.SECP256K1, recovered.format(compressed=False)[1:])


def verify_p256(pk: PublicKey, digest: bytes, signature: Signature) -> bool:
    """ECDSA P-256 over a 32-byte prehash; high-s is rejected, not normalised (as the Verifier)."""
    if pk.curve is not Curve.P256 or signature.curve is not Curve.P256 or len(digest) != 32:
        return False
    r = int.from_bytes(signature.data[:32], "big")
    s = int.from_bytes(signature.data[32:], "big")
    if not (0 < r < P256_N and 0 < s <= P256_N // 2):
        return False
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + pk.data)
        key.verify(encode_dss_signature(r, s), digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    except (ValueError, _CryptographyInvalidSignature):
        return False
    return True


# --- secret keys -------------------------------------------------------------------------------


class Ed25519SecretKey:
    """An ed25519 signing key from a 32-byte seed. Its repr shows only the public key."""

    __slots__ = ("_signing_key", "public_key")

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes) or len(seed) != 32:
            raise KeyFormatError("ed25519 seed must be 32 bytes")
        self._signing_key = nacl.signing.SigningKey(seed)
        self.public_key = PublicKey(Curve.ED25519, bytes(self._signing_key.verify_key))

    @classmethod
    def generate(cls) -> Self:
        return cls(os.urandom(32))

    @classmethod
    def from_near_string(cls, text: str) -> Self:
        """Parse NEAR's ``ed25519:<base58 of seed ‖ public key>`` secret key form."""
        curve, data = _split_curve(text)
        if curve is not Curve.ED25519:
            raise KeyFormatError("not an ed25519 secret key")
        try:
            raw = b58decode(data, length=64)
        except EncodingError as exc:
            # Deliberately no detail: the text is a secret.
            raise KeyFormatError("bad ed25519 secret key encoding") from exc
        key = cls(raw[:32])
        if key.public_key.data != raw[32:]:
            raise KeyFormatError("ed25519 secret key: public half does not match the seed")
        return key

    def to_near_string(self) -> str:
        """The secret in NEAR's string form. Handle with care: this reveals the key."""
        return f"ed25519:{b58encode(self.seed_bytes() + self.public_key.data)}"

    def seed_bytes(self) -> bytes:
        """The 32-byte seed. Handle with care: this reveals the key."""
        return bytes(self._signing_key)

    def sign(self, message: bytes) -> Signature:
        return Signature(Curve.ED25519, self._signing_key.sign(message).signature)

    def __repr__(self) -> str:
        return f"Ed25519SecretKey(public_key={self.public_key})"

    __str__ = __repr__


class Secp256k1SecretKey:
    """A secp256k1 signing key (32-byte scalar). Its repr shows only the public key."""

    __slots__ = ("_private_key", "public_key")

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes) or len(secret) != 32:
            raise KeyFormatError("secp256k1 secret must be 32 bytes")
        if not 0 < int.from_bytes(secret, "big") < SECP256K1_N:
            raise KeyFormatError("secp256k1 secret out of range")
        self._private_key = coincurve.PrivateKey(secret)
        uncompressed: bytes = self._private_key.public_key.format(compressed=False)
        self.public_key = PublicKey(Curve.SECP256K1, uncompressed[1:])

    @classmethod
    def generate(cls) -> Self:
        while True:
            secret = os.urandom(32)
            if 0 < int.from_bytes(secret, "big") < SECP256K1_N:
                return cls(secret)

    def secret_bytes(self) -> bytes:
        """The 32-byte scalar. Handle with care: this reveals the key."""
        data: bytes = self._private_key.secret
        return data

    def sign_recoverable(self, digest: bytes) -> Signature:
        """Sign a 32-byte digest: r‖s‖v with low s and v ∈ {0, 1} (PROTOCOL.md §2.1)."""
        if len(digest) != 32:
            raise ValueError("secp256k1 signs a 32-byte digest")
        # libsecp256k1 always produces low-s. v ∈ {2, 3} needs r ≥ n, which has probability
        # ~2^-128; the Verifier's format would not carry it, so fail loudly rather than emit it.
        data: bytes = self._private_key.sign_recoverable(digest, hasher=None)
        if data[64] not in (0, 1):  # pragma: no cover - astronomically unlikely
            raise ValueError("recovery id outside {0, 1}; sign again with another nonce")
        return Signature(Curve.SECP256K1, data)

    def __repr__(self) -> str:
        return f"Secp256k1SecretKey(public_key={self.public_key})"

    __str__ = __repr__
