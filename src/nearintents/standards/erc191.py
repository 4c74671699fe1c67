"""ERC-191 (Ethereum ``personal_sign``): secp256k1 over keccak256 of the prefixed payload; the
signer's key is recovered, not given (PROTOCOL.md §2.7). TIP-191 reuses this with its own prefix.
"""

from __future__ import annotations

from typing import Any

from nearintents.keys import (
    Curve,
    PublicKey,
    Secp256k1SecretKey,
    keccak256,
    recover_secp256k1,
)
from nearintents.standards import (
    InvalidSignature,
    defuse_payload,
    parse_json_object,
    signature_field,
    text_field,
    utf8,
)

PREFIX = b"\x19Ethereum Signed Message:\n"


def prehash(payload: str, prefix: bytes = PREFIX) -> bytes:
    """keccak256(prefix ‖ decimal byte length ‖ payload) (PROTOCOL.md §2.7).

    The length counts UTF-8 bytes, not characters.
    """
    data = utf8(payload, "payload")
    return keccak256(prefix + str(len(data)).encode("ascii") + data)


def intent_hash(mp: dict[str, Any], prefix: bytes = PREFIX) -> bytes:
    return prehash(text_field(mp, "payload"), prefix)


def verify(mp: dict[str, Any], prefix: bytes = PREFIX) -> PublicKey:
    digest = intent_hash(mp, prefix)
    signature = signature_field(mp, "signature", Curve.SECP256K1)
    pk = recover_secp256k1(digest, signature)
    if pk is None:
        raise InvalidSignature(f"{mp.get('standard')} signature does not recover a key")
    return pk


def payload_json(mp: dict[str, Any]) -> str:
    return text_field(mp, "payload")


def extract(mp: dict[str, Any]) -> dict[str, Any]:
    return defuse_payload(parse_json_object(payload_json(mp), "payload"))


def sign(
    payload: str, key: Secp256k1SecretKey, *, standard: str = "erc191", prefix: bytes = PREFIX
) -> dict[str, Any]:
    signature = key.sign_recoverable(prehash(payload, prefix))
    return {"standard": standard, "payload": payload, "signature": str(signature)}
