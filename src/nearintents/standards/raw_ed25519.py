"""raw_ed25519 (Solana wallets such as Phantom): ed25519 over the raw UTF-8 payload bytes; the
intent hash is sha256(payload) (PROTOCOL.md §2.5, §2.8).
"""

from __future__ import annotations

import hashlib
from typing import Any

from nearintents.keys import Curve, Ed25519SecretKey, PublicKey, verify_ed25519
from nearintents.standards import (
    InvalidSignature,
    defuse_payload,
    parse_json_object,
    public_key_field,
    signature_field,
    text_field,
    utf8,
)


def intent_hash(mp: dict[str, Any]) -> bytes:
    return hashlib.sha256(utf8(text_field(mp, "payload"), "payload")).digest()


def verify(mp: dict[str, Any]) -> PublicKey:
    message = utf8(text_field(mp, "payload"), "payload")
    pk = public_key_field(mp, "public_key", Curve.ED25519)
    signature = signature_field(mp, "signature", Curve.ED25519)
    if not verify_ed25519(pk, message, signature):
        raise InvalidSignature("raw_ed25519 signature does not verify")
    return pk


def payload_json(mp: dict[str, Any]) -> str:
    return text_field(mp, "payload")


def extract(mp: dict[str, Any]) -> dict[str, Any]:
    return defuse_payload(parse_json_object(payload_json(mp), "payload"))


def sign(payload: str, key: Ed25519SecretKey) -> dict[str, Any]:
    signature = key.sign(utf8(payload, "payload"))
    return {
        "standard": "raw_ed25519",
        "payload": payload,
        "public_key": str(key.public_key),
        "signature": str(signature),
    }
