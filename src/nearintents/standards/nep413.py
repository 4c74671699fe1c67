"""NEP-413 (NEAR wallets): ed25519 over the SHA-256 of a Borsh-serialised
``(tag, {message, nonce, recipient, callback_url})`` (PROTOCOL.md §2.6).
"""

from __future__ import annotations

import hashlib
from typing import Any

from nearintents.encoding import b64encode
from nearintents.keys import Curve, Ed25519SecretKey, PublicKey, verify_ed25519
from nearintents.standards import (
    InvalidSignature,
    MalformedPayload,
    defuse_payload,
    field,
    nonce_bytes,
    parse_json_object,
    public_key_field,
    signature_field,
    text_field,
    utf8,
)

# NEP-461 prefix tag: 2**31 + the NEP number, so the bytes can never be a valid transaction.
NEP413_TAG = 2**31 + 413


def _borsh_string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "little") + data


def borsh_bytes(message: str, nonce: bytes, recipient: str, callback_url: str | None) -> bytes:
    """Borsh of ``(u32 tag, Nep413Payload)`` (PROTOCOL.md §2.6)."""
    if len(nonce) != 32:
        raise MalformedPayload("nep413 nonce must be 32 bytes")
    out = NEP413_TAG.to_bytes(4, "little")
    out += _borsh_string(utf8(message, "nep413 message"))
    out += nonce  # [u8; 32]: fixed size, no length prefix
    out += _borsh_string(utf8(recipient, "nep413 recipient"))
    if callback_url is None:
        out += b"\x00"
    else:
        out += b"\x01" + _borsh_string(utf8(callback_url, "nep413 callbackUrl"))
    return out


def prehash(message: str, nonce: bytes, recipient: str, callback_url: str | None = None) -> bytes:
    return hashlib.sha256(borsh_bytes(message, nonce, recipient, callback_url)).digest()


def _payload(mp: dict[str, Any]) -> tuple[str, bytes, str, str | None]:
    payload: dict[str, Any] = field(mp, "payload", dict)
    callback_url = payload.get("callbackUrl")
    if callback_url is not None and not isinstance(callback_url, str):
        raise MalformedPayload("'callbackUrl' must be a string")
    return (
        text_field(payload, "message"),
        nonce_bytes(payload.get("nonce"), "nep413 nonce"),
        text_field(payload, "recipient"),
        callback_url,
    )


def intent_hash(mp: dict[str, Any]) -> bytes:
    return prehash(*_payload(mp))


def verify(mp: dict[str, Any]) -> PublicKey:
    digest = intent_hash(mp)
    pk = public_key_field(mp, "public_key", Curve.ED25519)
    signature = signature_field(mp, "signature", Curve.ED25519)
    if not verify_ed25519(pk, digest, signature):
        raise InvalidSignature("nep413 signature does not verify")
    return pk


def payload_json(mp: dict[str, Any]) -> str:
    """The message JSON; ``verifying_contract`` and ``nonce`` travel beside it (§2.4)."""
    return _payload(mp)[0]


def extract(mp: dict[str, Any]) -> dict[str, Any]:
    message, nonce, recipient, _ = _payload(mp)
    return defuse_payload(
        parse_json_object(message, "nep413 message"),
        verifying_contract=recipient,
        nonce=b64encode(nonce),
    )


def sign(
    message: str,
    nonce: bytes,
    recipient: str,
    key: Ed25519SecretKey,
    *,
    callback_url: str | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "message": message,
        "nonce": b64encode(nonce),
        "recipient": recipient,
    }
    if callback_url is not None:
        payload["callbackUrl"] = callback_url
    signature = key.sign(prehash(message, nonce, recipient, callback_url))
    return {
        "standard": "nep413",
        "payload": payload,
        "public_key": str(key.public_key),
        "signature": str(signature),
    }


def message_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """The DefusePayload fields a NEP-413 message carries; the rest travel beside it (§2.4)."""
    return {k: v for k, v in payload.items() if k in ("signer_id", "deadline", "intents")}
