"""The ``NearSigner`` port over local keys: the operator account's key (from configuration) and
the custody keys (derived from the master secret), used to sign NEAR transactions."""

from __future__ import annotations

from collections.abc import Sequence

from nearintents.encoding import b58encode
from nearintents.keys import Ed25519SecretKey
from nearintents.near_tx import Action, SignedNearTransaction, sign_transaction
from oneclick.custody.keys import KeyCustody


class LocalNearSigner:
    def __init__(self, custody: KeyCustody, operator_account_id: str, operator_key: str) -> None:
        self._custody = custody
        self._operator_id = operator_account_id
        self._operator = Ed25519SecretKey.from_near_string(operator_key)

    def __repr__(self) -> str:
        return f"LocalNearSigner(operator={self._operator_id})"

    @property
    def operator_account_id(self) -> str:
        return self._operator_id

    @property
    def operator_public_key(self) -> str:
        return "ed25519:" + b58encode(self._operator.public_key.data)

    def sign_as_operator(
        self, receiver_id: str, nonce: int, block_hash: bytes, actions: Sequence[Action]
    ) -> SignedNearTransaction:
        return sign_transaction(
            self._operator, self._operator_id, receiver_id, nonce, block_hash, actions
        )

    def sign_as_custody(
        self, index: int, receiver_id: str, nonce: int, block_hash: bytes,
        actions: Sequence[Action],
    ) -> SignedNearTransaction:  # fmt: skip
        account = self._custody.account(index)
        key = self._custody.signer(index)
        return sign_transaction(key, account.account_id, receiver_id, nonce, block_hash, actions)
