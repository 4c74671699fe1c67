"""TIP-191 (TRON ``signMessageV2``): ERC-191 with the prefix ``"\\x19TRON Signed Message:\\n"``
(PROTOCOL.md §2.7); the key is recovered from the signature.
"""

from __future__ import annotations

from typing import Any

from nearintents.keys import PublicKey, Secp256k1SecretKey
from nearintents.standards import erc191

PREFIX = b"\x19TRON Signed Message:\n"


def prehash(payload: str) -> bytes:
    return erc191.prehash(payload, PREFIX)


def intent_hash(mp: dict[str, Any]) -> bytes:
    return erc191.intent_hash(mp, PREFIX)


def verify(mp: dict[str, Any]) -> PublicKey:
    return erc191.verify(mp, PREFIX)


payload_json = erc191.payload_json
extract = erc191.extract


def sign(payload: str, key: Secp256k1SecretKey) -> dict[str, Any]:
    return erc191.sign(payload, key, standard="tip191", prefix=PREFIX)
