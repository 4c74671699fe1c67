"""The entry surface for signed intents: intent hash, signer key, DefusePayload extraction and
signing of MultiPayloads in every standard (PROTOCOL.md §2.4-§2.8).

Errors, all ``ValueError`` and all meaning "the sender must fix it; retrying will not help"::

    SignedPayloadError
    ├── UnsupportedStandard  not a JSON object; ``standard`` missing or not a known tag
    ├── MalformedPayload     a field missing or mistyped; bad public key, nonce, address,
    │                        timestamp; payload not a JSON object with the DefusePayload fields
    └── InvalidSignature     signature unparseable or of the wrong curve, high s, v not 0/1,
                             WebAuthn assertion checks failed, or it does not verify

A key mismatch with ``signer_id`` is not checked here: that needs the Verifier's key registry.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from nearintents.encoding import b58encode
from nearintents.keys import Ed25519SecretKey, PublicKey, Secp256k1SecretKey
from nearintents.standards import (
    InvalidSignature,
    MalformedPayload,
    SignedPayloadError,
    Standard,
    UnsupportedStandard,
    defuse_payload,
    erc191,
    nep413,
    nonce_bytes,
    raw_ed25519,
    sep53,
    tip191,
    ton_connect,
    webauthn,
)

__all__ = [
    "InvalidSignature",
    "MalformedPayload",
    "SignedPayloadError",
    "Standard",
    "UnsupportedStandard",
    "extract_payload",
    "intent_hash",
    "payload_json",
    "sign",
    "verify",
]


class _StandardModule(Protocol):
    def intent_hash(self, mp: dict[str, Any], /) -> bytes: ...
    def verify(self, mp: dict[str, Any], /) -> PublicKey: ...
    def payload_json(self, mp: dict[str, Any], /) -> str: ...
    def extract(self, mp: dict[str, Any], /) -> dict[str, Any]: ...


_MODULES: dict[Standard, _StandardModule] = {
    Standard.NEP413: nep413,
    Standard.ERC191: erc191,
    Standard.TIP191: tip191,
    Standard.RAW_ED25519: raw_ed25519,
    Standard.SEP53: sep53,
    Standard.WEBAUTHN: webauthn,
    Standard.TON_CONNECT: ton_connect,
}


def _standard(tag: object) -> Standard:
    try:
        return Standard(tag if isinstance(tag, str) else "")
    except ValueError as exc:
        raise UnsupportedStandard(f"unknown signing standard {tag!r}") from exc


def _module(multipayload: object) -> _StandardModule:
    if not isinstance(multipayload, dict):
        raise UnsupportedStandard("a MultiPayload must be a JSON object")
    return _MODULES[_standard(multipayload.get("standard"))]


def intent_hash(multipayload: dict[str, Any]) -> str:
    """The intent hash (base58 of 32 bytes) the Verifier reports in events (§2.5)."""
    return b58encode(_module(multipayload).intent_hash(multipayload))


def verify(multipayload: dict[str, Any]) -> str:
    """The signer's public key as ``<curve>:<base58>``; raises InvalidSignature."""
    return str(_module(multipayload).verify(multipayload))


def payload_json(multipayload: dict[str, Any]) -> str:
    """The signed JSON text that carries the DefusePayload (for nep413: the message)."""
    return _module(multipayload).payload_json(multipayload)


def extract_payload(multipayload: dict[str, Any]) -> dict[str, Any]:
    """The DefusePayload: ``signer_id``, ``verifying_contract``, ``deadline``, ``nonce``
    (canonical base64) and ``intents``; unknown keys dropped. Does not verify the signature."""
    return _module(multipayload).extract(multipayload)


def _compact_json(payload: dict[str, Any]) -> str:
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise MalformedPayload(f"payload is not JSON-serialisable: {exc}") from exc


def sign(
    standard: str, payload: dict[str, Any], key: Ed25519SecretKey | Secp256k1SecretKey
) -> dict[str, Any]:
    """Sign a DefusePayload dict as a MultiPayload of ``standard``.

    nep413 carries ``signer_id``, ``deadline`` and ``intents`` in its message and the rest
    beside it; the other standards sign the compact JSON of the whole dict, extra keys included.
    webauthn and ton_connect are signed by the user's wallet, never by us.
    """
    tag = _standard(standard)
    defuse_payload(payload)  # refuse to sign something the Verifier could not extract
    if tag in (Standard.ERC191, Standard.TIP191):
        if not isinstance(key, Secp256k1SecretKey):
            raise TypeError(f"{tag} signs with a secp256k1 key")
        if tag is Standard.ERC191:
            return erc191.sign(_compact_json(payload), key)
        return tip191.sign(_compact_json(payload), key)
    if not isinstance(key, Ed25519SecretKey):
        raise TypeError(f"{tag} signs with an ed25519 key")
    if tag is Standard.NEP413:
        return nep413.sign(
            _compact_json(nep413.message_fields(payload)),
            nonce_bytes(payload["nonce"]),
            payload["verifying_contract"],
            key,
        )
    if tag is Standard.RAW_ED25519:
        return raw_ed25519.sign(_compact_json(payload), key)
    if tag is Standard.SEP53:
        return sep53.sign(_compact_json(payload), key)
    raise UnsupportedStandard(f"{tag} payloads are signed by the user's wallet, not here")
