"""TON Connect ``signData``: ed25519 over a sha256 of the wallet address, dApp domain, timestamp
and the text (or binary) payload (PROTOCOL.md §2.5). Only text payloads carry a DefusePayload.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from nearintents.encoding import EncodingError, b64decode, hex_decode
from nearintents.keys import Curve, PublicKey, verify_ed25519
from nearintents.standards import (
    InvalidSignature,
    MalformedPayload,
    defuse_payload,
    field,
    parse_json_object,
    public_key_field,
    signature_field,
    text_field,
    utf8,
)

_DOMAIN_TAG = b"\xff\xffton-connect/sign-data/"
_I32 = range(-(2**31), 2**31)
_I64 = range(-(2**63), 2**63)
_U32_MAX = 2**32 - 1
_NANOS = 10**9

# --- addresses ---------------------------------------------------------------------------------

_RAW_ADDRESS = re.compile(r"([+-]?[0-9]+):([0-9A-Fa-f]{64})\Z", re.ASCII)
_FRIENDLY_ADDRESS = re.compile(r"[A-Za-z0-9+/_-]{48}\Z", re.ASCII)
# User-friendly flag byte: 0x11 bounceable, 0x51 non-bounceable, +0x80 testnet-only.
_FRIENDLY_FLAGS = frozenset({0x11, 0x51, 0x91, 0xD1})


def parse_address(text: str) -> tuple[int, bytes]:
    """``(workchain, 32-byte account)`` from the raw ``<wc>:<64 hex>`` or the 48-char
    user-friendly base64/base64url form, as the contract's TON address parser accepts."""
    if len(text) == 48:
        return _parse_friendly(text)
    raw = _RAW_ADDRESS.match(text)
    if raw is None:
        raise MalformedPayload("ton address must be '<workchain>:<64 hex>' or user-friendly")
    workchain = int(raw.group(1))
    if workchain not in _I32:
        raise MalformedPayload("ton workchain out of i32 range")
    return workchain, hex_decode(raw.group(2), length=32)


def _parse_friendly(text: str) -> tuple[int, bytes]:
    if not _FRIENDLY_ADDRESS.match(text):
        raise MalformedPayload("ton address is not base64")
    url_safe = "-" in text or "_" in text
    if url_safe and ("+" in text or "/" in text):
        raise MalformedPayload("ton address mixes base64 alphabets")
    standard = text.replace("-", "+").replace("_", "/") if url_safe else text
    try:
        data = b64decode(standard, length=36)  # 48 chars encode exactly 36 bytes, no padding
    except EncodingError as exc:
        raise MalformedPayload(f"bad ton address: {exc}") from exc
    if data[0] not in _FRIENDLY_FLAGS:
        raise MalformedPayload("unsupported ton address flags")
    # CRC-16/XMODEM over flags ‖ workchain ‖ account; binascii.crc_hqx with 0 is exactly that.
    if binascii.crc_hqx(data[:34], 0) != int.from_bytes(data[34:], "big"):
        raise MalformedPayload("ton address checksum mismatch")
    return int.from_bytes(data[1:2], "big", signed=True), data[2:34]


# --- timestamps --------------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:[Zz]|([+-])(\d{2}):(\d{2}))\Z",
    re.ASCII,
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INTEGER = re.compile(r"[+-]?[0-9]+\Z", re.ASCII)


def rfc3339_nanos(text: str) -> int:
    """Nanoseconds since the Unix epoch of an RFC 3339 timestamp (offset required)."""
    match = _RFC3339.match(text)
    if match is None:
        raise MalformedPayload(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, sign, off_h, off_m = match.groups()[6:]
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise MalformedPayload(f"not an RFC 3339 timestamp: {text!r}") from exc
    if sign is not None:
        if int(off_h) > 23 or int(off_m) > 59:
            raise MalformedPayload(f"bad UTC offset in {text!r}")
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        moment = moment - offset if sign == "+" else moment + offset
    seconds = (moment - _EPOCH) // timedelta(seconds=1)
    return seconds * _NANOS + int((fraction or "").ljust(9, "0"))


def timestamp_nanos(value: object) -> int:
    """The ``timestamp`` field: an RFC 3339 string, a decimal-seconds string or an integer."""
    if isinstance(value, str):
        if _INTEGER.match(value):
            seconds = int(value)
        else:
            return rfc3339_nanos(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        raise MalformedPayload("ton timestamp must be RFC 3339, or seconds as a string or integer")
    if seconds not in _I64:
        raise MalformedPayload("ton timestamp out of range")
    return seconds * _NANOS


# --- the standard ------------------------------------------------------------------------------


def _schema(mp: dict[str, Any]) -> tuple[bytes, bytes]:
    """``(type prefix, payload bytes)`` of the ``payload`` object."""
    payload: dict[str, Any] = field(mp, "payload", dict)
    kind = payload.get("type")
    if kind == "text":
        return b"txt", utf8(text_field(payload, "text"), "ton text")
    if kind == "binary":
        encoded = text_field(payload, "bytes")
        padded = encoded if "=" in encoded else encoded + "=" * (-len(encoded) % 4)
        try:
            return b"bin", b64decode(padded)
        except EncodingError as exc:
            raise MalformedPayload(f"bad ton binary payload: {exc}") from exc
    raise MalformedPayload("ton payload type must be 'text' or 'binary'")


def intent_hash(mp: dict[str, Any]) -> bytes:
    """sha256(0xFFFF ‖ "ton-connect/sign-data/" ‖ wc i32 BE ‖ address ‖ len(domain) u32 BE ‖
    domain ‖ timestamp u64 BE ‖ "txt"|"bin" ‖ len(payload) u32 BE ‖ payload) (§2.5)."""
    workchain, account = parse_address(text_field(mp, "address"))
    domain = utf8(text_field(mp, "domain"), "ton domain")
    nanos = timestamp_nanos(mp.get("timestamp"))
    prefix, data = _schema(mp)
    if nanos < 0 or len(domain) > _U32_MAX or len(data) > _U32_MAX:
        raise MalformedPayload("ton timestamp before 1970 or a field too long")
    return hashlib.sha256(
        _DOMAIN_TAG
        + workchain.to_bytes(4, "big", signed=True)
        + account
        + len(domain).to_bytes(4, "big")
        + domain
        + (nanos // _NANOS).to_bytes(8, "big")
        + prefix
        + len(data).to_bytes(4, "big")
        + data
    ).digest()


def verify(mp: dict[str, Any]) -> PublicKey:
    digest = intent_hash(mp)
    pk = public_key_field(mp, "public_key", Curve.ED25519)
    signature = signature_field(mp, "signature", Curve.ED25519)
    if not verify_ed25519(pk, digest, signature):
        raise InvalidSignature("ton_connect signature does not verify")
    return pk


def payload_json(mp: dict[str, Any]) -> str:
    payload: dict[str, Any] = field(mp, "payload", dict)
    if payload.get("type") != "text":
        raise MalformedPayload("only a text ton_connect payload carries an intent")
    return text_field(payload, "text")


def extract(mp: dict[str, Any]) -> dict[str, Any]:
    result = defuse_payload(parse_json_object(payload_json(mp), "payload"))
    # TON Connect wants "timestamp is recent"; the contract settles for deadline ≥ timestamp.
    if rfc3339_nanos(result["deadline"]) < timestamp_nanos(mp.get("timestamp")):
        raise MalformedPayload("ton_connect deadline is before the signing timestamp")
    return result
