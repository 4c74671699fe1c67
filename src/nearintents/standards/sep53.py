"""SEP-53 (Stellar wallets): ed25519 over sha256("Stellar Signed Message:\\n" ‖ payload), which
is also the intent hash (PROTOCOL.md §2.5).
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

PREFIX = b"Stellar Signed Message:\n"


def prehash(payload: str) -> bytes:
    return hashlib.sha256(PREFIX + utf8(payload, "payload")).digest()


def intent_hash(mp: dict[str, Any]) -> bytes:
    return prehash(text_field(mp, "payload"))


def verify(mp: dict[str, Any]) -> PublicKey:
    digest = intent_hash(mp)
    pk = public_key_field(mp, "public_key", Curve.ED25519)
    signature = signature_field(mp, "signature", Curve.ED25519)
    if not verify_ed25519(pk, digest, signature):
        raise InvalidSignature("sep53 signature does not verify")
    return pk


def payload_json(mp: dict[str, Any]) -> str:
    return text_field(mp, "payload")


def extract(mp: dict[str, Any]) -> dict[str, Any]:
    return defuse_payload(parse_json_object(payload_json(mp), "payload"))


def sign(payload: str, key: Ed25519SecretKey) -> dict[str, Any]:
    signature = key.sign(prehash(payload))
    return {
        "standard": "sep53",
        "payload": payload,
        "public_key": str(key.public_key),
        "signature": str(signature),
    }
