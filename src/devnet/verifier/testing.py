"""Helpers for tests and demos: users with keys who sign intents for a devnet Verifier (fresh
versioned nonces with its current salt, deadlines from its ledger clock).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from devnet.verifier.timestamps import format_rfc3339_ns
from devnet.verifier.verifier import Verifier
from nearintents import signing
from nearintents.encoding import b64encode
from nearintents.keys import Ed25519SecretKey, Secp256k1SecretKey, implicit_account_id
from nearintents.nonce import fresh_versioned_nonce

SECOND_NS = 1_000_000_000


@dataclass
class Signer:
    """A key and the account it signs for (its implicit account unless told otherwise)."""

    key: Ed25519SecretKey | Secp256k1SecretKey
    account_id: str

    @classmethod
    def ed25519(cls, name: str, account_id: str | None = None) -> Signer:
        key = Ed25519SecretKey(hashlib.sha256(f"devnet-ed25519:{name}".encode()).digest())
        return cls(key, account_id or implicit_account_id(key.public_key))

    @classmethod
    def secp256k1(cls, name: str, account_id: str | None = None) -> Signer:
        key = Secp256k1SecretKey(hashlib.sha256(f"devnet-secp256k1:{name}".encode()).digest())
        return cls(key, account_id or implicit_account_id(key.public_key))

    @property
    def public_key(self) -> str:
        return str(self.key.public_key)

    def payload(
        self,
        verifier: Verifier,
        intents: Sequence[dict[str, Any]],
        *,
        deadline_ns: int | None = None,
        nonce: bytes | None = None,
        nonce_deadline_ns: int | None = None,
        salt: str | None = None,
        verifying_contract: str | None = None,
        signer_id: str | None = None,
    ) -> dict[str, Any]:
        """An unsigned DefusePayload: deadline 60 s after the ledger clock, nonce a fresh
        versioned one (current salt, nonce deadline 60 s after the deadline)."""
        if deadline_ns is None:
            deadline_ns = verifier.clock.now_ns() + 60 * SECOND_NS
        if nonce is None:
            salt_bytes = bytes.fromhex(salt or verifier.current_salt())
            nonce_deadline = deadline_ns + 60 * SECOND_NS
            nonce = fresh_versioned_nonce(salt_bytes, nonce_deadline_ns or nonce_deadline)
        return {
            "signer_id": signer_id or self.account_id,
            "verifying_contract": verifying_contract or verifier.account_id,
            "deadline": format_rfc3339_ns(deadline_ns),
            "nonce": b64encode(nonce),
            "intents": list(intents),
        }

    def sign_payload(self, payload: dict[str, Any], standard: str | None = None) -> dict[str, Any]:
        if standard is None:
            standard = "erc191" if isinstance(self.key, Secp256k1SecretKey) else "nep413"
        return signing.sign(standard, payload, self.key)

    def sign(
        self,
        verifier: Verifier,
        intents: Sequence[dict[str, Any]],
        *,
        standard: str | None = None,
        **payload_options: Any,
    ) -> dict[str, Any]:
        """A signed MultiPayload of ``intents`` (see :meth:`payload` for the options)."""
        return self.sign_payload(self.payload(verifier, intents, **payload_options), standard)


def transfer(receiver_id: str, tokens: dict[str, int], **extra: Any) -> dict[str, Any]:
    return {
        "intent": "transfer",
        "receiver_id": receiver_id,
        "tokens": {k: str(v) for k, v in tokens.items()},
        **extra,
    }


def token_diff(diff: dict[str, int], **extra: Any) -> dict[str, Any]:
    return {"intent": "token_diff", "diff": {k: str(v) for k, v in diff.items()}, **extra}


def ft_withdraw(token: str, receiver_id: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {
        "intent": "ft_withdraw",
        "token": token,
        "receiver_id": receiver_id,
        "amount": str(amount),
        **extra,
    }
