"""The fake verifier's execution: ``execute_intents`` over an in-memory multi-token ledger, with
the contract's checks in its order (PROTOCOL.md §2.10): signature, verifying contract, deadline,
key ownership, versioned nonce rules, intents, then the ``token_diff`` invariant with the
protocol fee (§2.12). A failing batch changes nothing. Every balance change is logged so tests
can reconcile an account to the unit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nearintents import signing
from nearintents.diff import fee_amount, unmatched
from nearintents.encoding import b58encode, b64decode
from nearintents.keys import PublicKey, implicit_account_id
from nearintents.nonce import VersionedNonce, decode_nonce
from nearintents.payload import (
    DefusePayload,
    FtWithdraw,
    InvalidPayload,
    NativeWithdraw,
    TokenDiff,
    Transfer,
)


class Rejected(Exception):  # noqa: N818 (reads as the verifier's answer)
    """``execute_intents`` would panic with this message; nothing was applied."""


@dataclass(frozen=True, slots=True)
class Movement:
    tx_hash: str
    account_id: str
    token_id: str
    delta: int
    cause: str  # mint | token_diff | fee | transfer | withdraw


WNEAR = "wrap.near"


@dataclass(frozen=True, slots=True)
class WithdrawalRecord:
    tx_hash: str
    account_id: str
    token: str  # the bare NEP-141 contract
    receiver_id: str
    amount: int
    memo: str | None
    at: datetime
    native: bool = False  # a native_withdraw: wNEAR unwrapped and sent as NEAR
    bounced: bool = False  # an ft_withdraw that came back (ft_resolve_withdraw refunded it)


@dataclass
class Ledger:
    contract: str = "intents.near"
    fee_collector: str = "fee-collector.intents.near"
    balances: dict[tuple[str, str], int] = field(default_factory=dict)
    used_nonces: set[tuple[str, bytes]] = field(default_factory=set)
    keys: dict[str, set[str]] = field(default_factory=dict)  # named accounts' public keys
    movements: list[Movement] = field(default_factory=list)
    withdrawals: list[WithdrawalRecord] = field(default_factory=list)
    # Receivers whose ft_withdraws come back in the same transaction, as when their token
    # transfer fails and near/intents' ft_resolve_withdraw credits the signer again.
    bouncing: set[str] = field(default_factory=set)
    executed: list[tuple[str, str]] = field(default_factory=list)  # (tx hash, intent hash)
    _txs: int = 0

    def mint(self, account_id: str, token_id: str, amount: int, *, cause: str = "mint") -> None:
        self.balances[(account_id, token_id)] = (
            self.balances.get((account_id, token_id), 0) + amount
        )
        self.movements.append(Movement("", account_id, token_id, amount, cause))

    def owns(self, account_id: str, public_key: str) -> bool:
        if public_key in self.keys.get(account_id, set()):
            return True
        try:
            return implicit_account_id(PublicKey.parse(public_key)) == account_id
        except ValueError:
            return False

    def execute(
        self,
        signed: Sequence[dict[str, Any]],
        *,
        now: datetime,
        salts: set[bytes],
        fee_pips: int,
        trusted: Sequence[tuple[str, dict[str, int]]] = (),
        dry_run: bool = False,
    ) -> str:
        """Apply the batch (``trusted`` diffs stand for other parties' signed ``token_diff``s,
        e.g. a solver's); its tx hash, or :class:`Rejected` with nothing applied."""
        balances = dict(self.balances)
        nonces: set[tuple[str, bytes]] = set()
        diffs: list[dict[str, int]] = []
        moves: list[tuple[str, str, int, str]] = []
        withdrawals: list[tuple[str, str, str, int, str | None, bool]] = []
        hashes: list[str] = []

        def move(account: str, token: str, delta: int, cause: str) -> None:
            value = balances.get((account, token), 0) + delta
            if value < 0:
                raise Rejected("insufficient balance or overflow")
            balances[(account, token)] = value
            moves.append((account, token, delta, cause))

        def apply_diff(account: str, diff: dict[str, int]) -> None:
            if not diff or any(d == 0 for d in diff.values()):
                raise Rejected("invalid intent")
            for token, delta in diff.items():
                move(account, token, delta, "token_diff")
                fee = fee_amount(token, delta, fee_pips)
                if fee:
                    move(self.fee_collector, token, fee, "fee")
            diffs.append(diff)

        for multipayload in signed:
            try:
                public_key = signing.verify(multipayload)
                payload = DefusePayload.from_json_dict(signing.extract_payload(multipayload))
                hashes.append(signing.intent_hash(multipayload))
            except (signing.SignedPayloadError, InvalidPayload) as exc:
                raise Rejected(f"invalid signature: {exc}") from exc
            signer = payload.signer_id
            if payload.verifying_contract != self.contract:
                raise Rejected("wrong verifying_contract")
            if payload.deadline < now:
                raise Rejected("deadline has expired")
            if not self.owns(signer, public_key):
                raise Rejected(f"public key '{public_key}' doesn't exist for account '{signer}'")
            nonce = decode_nonce(payload.nonce)
            if isinstance(nonce, VersionedNonce):
                if nonce.salt not in salts:
                    raise Rejected("invalid salt")
                if payload.deadline > nonce.deadline:
                    raise Rejected("deadline is greater than nonce")
                if nonce.deadline < now:
                    raise Rejected("nonce was already expired")
            key = (signer, payload.nonce)
            if key in self.used_nonces or key in nonces:
                raise Rejected("nonce was already used")
            nonces.add(key)
            for intent in payload.intents:
                if isinstance(intent, TokenDiff):
                    apply_diff(signer, dict(intent.diff))
                elif isinstance(intent, Transfer):
                    if intent.receiver_id == signer or not intent.tokens:
                        raise Rejected("invalid intent")
                    for token, amount in intent.tokens.items():
                        if amount <= 0:
                            raise Rejected("invalid intent")
                        move(signer, token, -amount, "transfer")
                        move(intent.receiver_id, token, amount, "transfer")
                elif isinstance(intent, FtWithdraw):
                    move(signer, f"nep141:{intent.token}", -intent.amount, "withdraw")
                    if intent.storage_deposit:  # paid in wNEAR (near/intents withdraw.rs)
                        move(signer, f"nep141:{WNEAR}", -intent.storage_deposit, "withdraw")
                    withdrawals.append(
                        (
                            signer,
                            intent.token,
                            intent.receiver_id,
                            intent.amount,
                            intent.memo,
                            False,
                        )
                    )
                elif isinstance(intent, NativeWithdraw):
                    move(signer, f"nep141:{WNEAR}", -intent.amount, "withdraw")
                    withdrawals.append(
                        (signer, WNEAR, intent.receiver_id, intent.amount, None, True)
                    )
                else:
                    raise Rejected(f"invalid intent: {intent.intent} is not modelled by the fake")
        for account, diff in trusted:
            apply_diff(account, diff)
        for account, token, receiver, amount, _, native in withdrawals:
            if receiver in self.bouncing and not native:
                move(account, f"nep141:{token}", amount, "refund")
        left = unmatched(diffs, fee_pips)
        if left:
            detail = json.dumps(
                {
                    "error": "unmatched_deltas",
                    "unmatched_deltas": {k: str(v) for k, v in left.items()},
                }
            )
            raise Rejected(f"invariant violated: {detail}")
        if dry_run:
            return ""
        self._txs += 1
        tx_hash = b58encode(hashlib.sha256(f"tx|{self._txs}|{','.join(hashes)}".encode()).digest())
        self.balances = balances
        self.used_nonces |= nonces
        self.movements.extend(Movement(tx_hash, a, t, d, c) for a, t, d, c in moves)
        self.withdrawals.extend(
            WithdrawalRecord(
                tx_hash, a, t, r, amount, memo, now, native, r in self.bouncing and not native
            )
            for a, t, r, amount, memo, native in withdrawals
        )
        self.executed.extend((tx_hash, h) for h in hashes)
        return tx_hash


def nonce_bytes(text: str) -> bytes:
    return b64decode(text, length=32)
