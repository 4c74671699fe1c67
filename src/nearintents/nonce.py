"""Payload nonces (PROTOCOL.md §2.9): 32 bytes, either legacy (any bytes) or versioned
(magic ‖ version ‖ salt ‖ deadline ns ‖ random), and the contract's 4-byte salts.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from nearintents.encoding import EncodingError, b64decode, b64encode, hex_decode

# First 4 bytes of sha256(b"versioned_nonce") (the README's "<versioned_nonce>" is notation).
MAGIC = bytes.fromhex("5628f6c6")
NONCE_LEN = 32
SALT_LEN = 4
RANDOM_LEN = 15
VERSION_V1 = 0  # Borsh enum discriminant of VersionedNonce::V1
TIMESTAMP_PREFIX_LEN = 8

_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# magic (4s) | version (B) | salt (4s) | deadline i64 LE (q) | random (15s)
_LAYOUT = struct.Struct("<4sB4sq15s")
assert _LAYOUT.size == NONCE_LEN


class InvalidNonce(ValueError):  # noqa: N818 (name fixed by the design)
    """Nonce bytes, a salt or a nonce deadline are malformed."""


@dataclass(frozen=True, slots=True)
class VersionedNonce:
    """A V1 versioned nonce; ``deadline_ns`` is signed (the contract reads an i64)."""

    version: int
    salt: bytes
    deadline_ns: int
    random: bytes

    def to_bytes(self) -> bytes:
        return versioned_nonce(salt=self.salt, deadline_ns=self.deadline_ns, random=self.random)

    @property
    def deadline(self) -> datetime:
        """The nonce deadline as an aware UTC datetime, floored to microseconds."""
        return ns_to_datetime(self.deadline_ns)


@dataclass(frozen=True, slots=True)
class LegacyNonce:
    """Any other 32 bytes: accepted by the contract without salt or deadline rules."""

    value: bytes


def _check_salt(salt: bytes) -> bytes:
    if not isinstance(salt, bytes | bytearray) or len(salt) != SALT_LEN:
        raise InvalidNonce(f"salt must be {SALT_LEN} bytes")
    return bytes(salt)


def _check_deadline_ns(deadline_ns: int) -> int:
    if isinstance(deadline_ns, bool) or not isinstance(deadline_ns, int):
        raise InvalidNonce("nonce deadline must be an int of nanoseconds")
    if not _I64_MIN <= deadline_ns <= _I64_MAX:
        raise InvalidNonce(f"nonce deadline {deadline_ns} ns is outside the i64 range")
    return deadline_ns


def versioned_nonce(*, salt: bytes, deadline_ns: int, random: bytes) -> bytes:
    """Encode a V1 versioned nonce (PROTOCOL.md §2.9 layout)."""
    if not isinstance(random, bytes | bytearray) or len(random) != RANDOM_LEN:
        raise InvalidNonce(f"random part must be {RANDOM_LEN} bytes")
    return _LAYOUT.pack(
        MAGIC, VERSION_V1, _check_salt(salt), _check_deadline_ns(deadline_ns), bytes(random)
    )


def decode_nonce(nonce: bytes) -> VersionedNonce | LegacyNonce:
    """Classify 32 nonce bytes the way the contract's ``VersionedNonce::maybe_from`` does.

    Magic prefix with an unknown version byte is *not* an error: the contract then treats the nonce
    as legacy (no salt or deadline checks), so we return :class:`LegacyNonce` as well.
    """
    if not isinstance(nonce, bytes | bytearray) or len(nonce) != NONCE_LEN:
        raise InvalidNonce(f"nonce must be {NONCE_LEN} bytes")
    magic, version, salt, deadline_ns, random = _LAYOUT.unpack(bytes(nonce))
    if magic != MAGIC or version != VERSION_V1:
        return LegacyNonce(bytes(nonce))
    return VersionedNonce(version, salt, deadline_ns, random)


def decode_nonce_b64(text: str) -> VersionedNonce | LegacyNonce:
    """Decode the base64 wire form (as in ``DefusePayload.nonce``) and classify it."""
    try:
        raw = b64decode(text, length=NONCE_LEN)
    except EncodingError as exc:
        raise InvalidNonce(f"invalid nonce: {exc}") from exc
    return decode_nonce(raw)


def encode_nonce_b64(nonce: bytes) -> str:
    if not isinstance(nonce, bytes | bytearray) or len(nonce) != NONCE_LEN:
        raise InvalidNonce(f"nonce must be {NONCE_LEN} bytes")
    return b64encode(bytes(nonce))


def is_versioned(nonce: bytes) -> bool:
    return isinstance(decode_nonce(nonce), VersionedNonce)


def timestamped_random(start_ns: int) -> bytes:
    """The SDK's optional random part: i64 LE start time in ns ‖ 7 random bytes (15 in all)."""
    prefix = struct.pack("<q", _check_deadline_ns(start_ns))
    return prefix + os.urandom(RANDOM_LEN - TIMESTAMP_PREFIX_LEN)


def fresh_versioned_nonce(
    salt: bytes, deadline_ns: int, *, timestamped_at_ns: int | None = None
) -> bytes:
    """A new versioned nonce with OS randomness (or the SDK's timestamped random form)."""
    if timestamped_at_ns is None:
        random = os.urandom(RANDOM_LEN)
    else:
        random = timestamped_random(timestamped_at_ns)
    return versioned_nonce(salt=salt, deadline_ns=deadline_ns, random=random)


def parse_salt(text: str) -> bytes:
    """Parse a salt as the contract prints it (``current_salt()`` → ``"252812b3"``)."""
    if not isinstance(text, str) or len(text) != 2 * SALT_LEN:
        raise InvalidNonce(f"salt must be {2 * SALT_LEN} hex characters, got {text!r}")
    try:
        return hex_decode(text, length=SALT_LEN)
    except EncodingError as exc:
        raise InvalidNonce(f"salt {text!r} is not hex") from exc


def format_salt(salt: bytes) -> str:
    return _check_salt(salt).hex()


def datetime_to_ns(moment: datetime) -> int:
    """Nanoseconds since the Unix epoch of an aware datetime, in exact integer arithmetic."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidNonce("datetime must be timezone-aware")
    return ((moment - _EPOCH) // timedelta(microseconds=1)) * 1_000


def ns_to_datetime(ns: int) -> datetime:
    """Aware UTC datetime of nanoseconds since the epoch, floored to microseconds."""
    return _EPOCH + timedelta(microseconds=ns // 1_000)
