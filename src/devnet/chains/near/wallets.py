"""User wallets on the devnet's NEAR side: an account with native NEAR, a full access key, NEP-145
registration and NEP-141 balances, and transactions it signs itself (the nonce read from its
access key, the bytes built with nearcore's own types) and submits as NEAR RPC would."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import py_near_primitives as npp  # type: ignore[import-untyped]

from devnet.verifier import Verifier
from devnet.verifier.chain import TxRecord
from nearintents.encoding import b58decode, b58encode
from nearintents.keys import Ed25519SecretKey

CALL_GAS = 30 * 10**12  # 30 Tgas, what wallets attach to a plain token call


def public_key_text(key: Ed25519SecretKey) -> str:
    return "ed25519:" + b58encode(key.public_key.data)


def open_near_account(
    verifier: Verifier, account_id: str, key: Ed25519SecretKey, *, near: int,
    tokens: dict[str, int],
) -> None:  # fmt: skip
    """Top ``account_id`` up to ``near`` native NEAR and each ``tokens`` contract balance, with
    ``key`` as a full access key and a storage registration on every token (idempotent)."""
    if verifier.access_key_nonce(account_id, public_key_text(key)) is None:
        verifier.add_access_key(account_id, public_key_text(key)).ensure_success()
    held = verifier.native_balance(account_id)
    if held < near:
        verifier.faucet_near(account_id, near - held).ensure_success()
    for contract, amount in tokens.items():
        if not verifier.ft_is_registered(contract, account_id):
            verifier.storage_deposit(account_id, contract).ensure_success()
        have = verifier.ft_balance_of(contract, account_id)
        if have < amount:
            verifier.faucet_ft(contract, account_id, amount - have).ensure_success()


def sign_call(
    verifier: Verifier, account_id: str, key: Ed25519SecretKey, receiver_id: str, method: str,
    args: dict[str, Any], *, deposit: int = 0,
) -> TxRecord:  # fmt: skip
    """A ``FunctionCall`` transaction signed by ``key`` and submitted (raises
    ``InvalidTransaction`` if refused before execution)."""
    nonce = verifier.access_key_nonce(account_id, public_key_text(key))
    block_hash = b58decode(verifier.head_block().hash)
    action = npp.FunctionCallAction(method, json.dumps(args).encode(), CALL_GAS, deposit)
    tx = npp.Transaction(
        account_id, key.public_key.data, (nonce or 0) + 1, receiver_id, block_hash, [action]
    )
    signature = key.sign(hashlib.sha256(bytes(tx.serialize())).digest()).data
    return verifier.submit_transaction(bytes(npp.SignedTransaction(signature, tx).serialize()))
