"""NEAR transactions, built and signed with nearcore's own types (py-near-primitives, bindings
of ``near-primitives``): the borsh ``SignedTransaction`` NEAR RPC ``send_tx`` takes, and its hash
(base58 of ``sha256(transaction)``, which is also what the ed25519 signature covers;
nearcore ``core/primitives/src/transaction.rs``). Pure: no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import py_near_primitives as npp  # type: ignore[import-untyped]

from nearintents.encoding import b58encode
from nearintents.keys import Ed25519SecretKey

TGAS = 10**12


@dataclass(frozen=True, slots=True)
class FunctionCall:
    method_name: str
    args: Mapping[str, Any]
    gas: int = 30 * TGAS
    deposit: int = 0


@dataclass(frozen=True, slots=True)
class Transfer:
    deposit: int


Action = FunctionCall | Transfer


@dataclass(frozen=True, slots=True)
class SignedNearTransaction:
    data: bytes  # borsh SignedTransaction
    hash: str  # base58

    @property
    def base64(self) -> str:
        return base64.b64encode(self.data).decode()


def _action(action: Action) -> Any:
    if isinstance(action, Transfer):
        return npp.TransferAction(action.deposit)
    args = json.dumps(dict(action.args), separators=(",", ":")).encode()
    return npp.FunctionCallAction(action.method_name, args, action.gas, action.deposit)


def sign_transaction(
    key: Ed25519SecretKey,
    signer_id: str,
    receiver_id: str,
    nonce: int,
    block_hash: bytes,
    actions: Sequence[Action],
) -> SignedNearTransaction:
    """``actions`` from ``signer_id`` to ``receiver_id``, signed by ``key`` (one of the signer's
    access keys); ``nonce`` above the key's, ``block_hash`` a recent block's (32 bytes)."""
    if len(block_hash) != 32:
        raise ValueError("block_hash must be 32 bytes")
    tx = npp.Transaction(
        signer_id, key.public_key.data, nonce, receiver_id, block_hash,
        [_action(a) for a in actions],
    )  # fmt: skip
    digest = hashlib.sha256(bytes(tx.serialize())).digest()
    signature = key.sign(digest).data
    signed = bytes(npp.SignedTransaction(signature, tx).serialize())
    return SignedNearTransaction(signed, b58encode(digest))
