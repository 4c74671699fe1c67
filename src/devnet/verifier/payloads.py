"""Signed payloads as the executor sees them: the key that signed, the intent hash and the parsed
DefusePayload, each step raising the contract's error at the contract's point (PROTOCOL.md
§2.4-§2.10). Signature checks and hashing are :mod:`nearintents.signing`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devnet.verifier import errors as err
from devnet.verifier.ids import check_account_id
from devnet.verifier.intents import Intent, parse_intents
from devnet.verifier.timestamps import parse_rfc3339_ns
from nearintents import signing
from nearintents.encoding import b58decode, b64decode


@dataclass(frozen=True, slots=True)
class Verified:
    """Step 1-2 of §2.10: who signed and the intent hash, or why the signature fails."""

    multipayload: dict[str, Any]
    public_key: str | None  # None: the signature does not verify
    intent_hash: str


@dataclass(frozen=True, slots=True)
class DefusePayload:
    signer_id: str
    verifying_contract: str
    deadline_ns: int
    nonce: bytes
    nonce_b64: str
    intents: list[Intent]


def verify_all(signed: object) -> list[Verified]:
    """Deserialise the ``signed`` argument and check every signature up front.

    The contract deserialises the whole ``Vec<MultiPayload>`` before executing anything, so a
    structurally bad element fails the call with near-sdk's message whatever its position; a
    signature that does not verify fails only when its turn comes.
    """
    if not isinstance(signed, list):
        raise err.error(err.DESERIALIZE_INPUT)
    verified = []
    for multipayload in signed:
        try:
            public_key: str | None = signing.verify(multipayload)
        except signing.InvalidSignature:
            public_key = None
        except (signing.UnsupportedStandard, signing.MalformedPayload) as exc:
            raise err.error(err.DESERIALIZE_INPUT) from exc
        try:
            intent_hash = signing.intent_hash(multipayload)
        except signing.SignedPayloadError as exc:
            raise err.error(err.DESERIALIZE_INPUT) from exc
        verified.append(Verified(multipayload, public_key, intent_hash))
    return verified


def extract(verified: Verified) -> DefusePayload:
    """Step 3: the DefusePayload with its intents, or ``JSON: ...`` as the contract reports."""
    try:
        raw = signing.extract_payload(verified.multipayload)
    except signing.SignedPayloadError as exc:
        raise err.json_error(str(exc)) from exc
    try:
        signer_id = check_account_id(raw["signer_id"])
        verifying_contract = check_account_id(raw["verifying_contract"])
        deadline_ns = parse_rfc3339_ns(raw["deadline"])
    except ValueError as exc:
        raise err.json_error(str(exc)) from exc
    nonce = b64decode(raw["nonce"], length=32)
    return DefusePayload(
        signer_id=signer_id,
        verifying_contract=verifying_contract,
        deadline_ns=deadline_ns,
        nonce=nonce,
        nonce_b64=raw["nonce"],
        intents=parse_intents(raw.get("intents")),
    )


def intent_hash_bytes(intent_hash: str) -> bytes:
    return b58decode(intent_hash, length=32)
