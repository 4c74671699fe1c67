"""Strict byte encodings used on the wire: base58 (Bitcoin alphabet), base64, hex.

Decoders reject anything that is not the canonical form of some bytes, because every value we
decode came from someone we do not trust yet.
"""

from __future__ import annotations

import base64
import binascii

import base58 as _base58

_B58_ALPHABET = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")


class EncodingError(ValueError):
    """A string is not a valid encoding of bytes in the expected format."""


def b58encode(data: bytes) -> str:
    return _base58.b58encode(data).decode("ascii")


def b58decode(text: str, *, length: int | None = None) -> bytes:
    """Decode base58; with ``length``, also require exactly that many bytes."""
    if not isinstance(text, str) or not text or not set(text) <= _B58_ALPHABET:
        raise EncodingError("invalid base58 string")
    data: bytes = _base58.b58decode(text)
    if length is not None and len(data) != length:
        raise EncodingError(f"expected {length} bytes in base58, got {len(data)}")
    return data


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, *, length: int | None = None) -> bytes:
    """Decode standard base64 with padding; reject other alphabets and non-canonical forms."""
    if not isinstance(text, str):
        raise EncodingError("base64 value must be a string")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise EncodingError("invalid base64 string") from exc
    if b64encode(data) != text:
        raise EncodingError("non-canonical base64 string")
    if length is not None and len(data) != length:
        raise EncodingError(f"expected {length} bytes in base64, got {len(data)}")
    return data


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding (WebAuthn fields)."""
    if not isinstance(text, str):
        raise EncodingError("base64url value must be a string")
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.urlsafe_b64decode(padded.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise EncodingError("invalid base64url string") from exc


def b64url_encode(data: bytes) -> str:
    """base64url without padding, as WebAuthn uses it."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def hex_decode(text: str, *, length: int | None = None) -> bytes:
    """Decode lowercase or uppercase hex without a ``0x`` prefix."""
    try:
        data = bytes.fromhex(text)
    except (ValueError, TypeError) as exc:
        raise EncodingError("invalid hex string") from exc
    if len(text) != 2 * len(data):
        raise EncodingError("invalid hex string")
    if length is not None and len(data) != length:
        raise EncodingError(f"expected {length} bytes in hex, got {len(data)}")
    return data
