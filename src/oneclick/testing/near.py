"""A fake of NEAR RPC beyond the verifier's views (:class:`oneclick.services.ports.NearChain`):
which accounts exist, and the ``tx`` outcome of a batch the fake verifier executed, with the
receipts its withdrawals produce on NEAR.

As on NEAR (near/intents ``tokens/nep141/{withdraw,native}.rs``, nearcore's Transfer action): a
``native_withdraw`` ends in a ``transfer`` receipt executed by the receiver, which fails for a
named account that does not exist; an ``ft_withdraw`` in the token's ``ft_transfer`` receipt,
which logs the NEP-141 ``ft_transfer`` event. Accounts in ``refusing`` fail both (an account
that cannot receive: deleted, or not registered with the token).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nearintents.accounts import is_implicit_ed25519, is_implicit_evm
from nearintents.encoding import b58encode
from nearintents.rpc import Finality, RpcServerError, TxOutcome, UnknownTransaction, ViewCallError
from oneclick.testing.ledger import Ledger, WithdrawalRecord

FAKE_RELAYER = "relayer.fake.near"
STORAGE_MIN = 1_250_000_000_000_000_000_000  # a typical NEP-141's storage_balance_bounds().min


def _hash(*parts: str) -> str:
    return b58encode(hashlib.sha256("|".join(parts).encode()).digest())


@dataclass
class FakeNearChain:
    ledger: Ledger
    relayer: str = FAKE_RELAYER
    accounts: set[str] = field(default_factory=set)  # named accounts that exist
    refusing: set[str] = field(default_factory=set)  # accounts whose incoming transfers fail
    registered: set[tuple[str, str]] = field(default_factory=set)  # NEP-145 (contract, account)
    # While False, ``tx`` answers EXECUTED_OPTIMISTIC: the blocks are not final yet.
    final: bool = True
    # Users' own NEP-141 transactions on NEAR: hash -> (signer, receipts outcomes).
    user_txs: dict[str, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def user_transfer(
        self, sender: str, token: str, receiver: str, amount: int, *, returned: int = 0,
        failed: bool = False,
    ) -> str:  # fmt: skip
        """A user's ``ft_transfer`` (``returned``: an ``ft_transfer_call`` whose receiver gave
        that much back) of ``amount`` on ``token``, signed by ``sender``: its hash. The token's
        receipt logs the NEP-141 ``ft_transfer`` event (near-sdk-rs near-contract-standards
        ``fungible_token/events.rs``); a ``failed`` one panicked and logged nothing."""
        tx_hash = _hash("user", sender, token, receiver, str(amount), str(len(self.user_txs)))
        moves = [] if failed else [(sender, receiver, amount)]
        if returned and not failed:
            moves.append((receiver, sender, returned))
        receipts = []
        for n, (old, new, value) in enumerate(moves or [(sender, receiver, amount)]):
            data = [{"old_owner_id": old, "new_owner_id": new, "amount": str(value)}]
            event = {"standard": "nep141", "version": "1.0.0", "event": "ft_transfer", "data": data}
            status: Any = {"SuccessValue": ""}
            if failed:
                error = {"FunctionCallError": {"ExecutionError": "Smart contract panicked"}}
                status = {"Failure": {"ActionError": {"index": 0, "kind": error}}}
            receipts.append({
                "id": _hash(tx_hash, str(n)), "block_hash": _hash("block", tx_hash),
                "outcome": {"logs": [] if failed else ["EVENT_JSON:" + json.dumps(event)],
                            "receipt_ids": [], "gas_burnt": 1, "tokens_burnt": "0",
                            "executor_id": token, "status": status},
            })  # fmt: skip
        self.user_txs[tx_hash] = (sender, receipts)
        return tx_hash

    async def view(
        self, account_id: str, method_name: str, args: Mapping[str, Any] | None = None, *,
        finality: Finality = Finality.FINAL,
    ) -> Any:  # fmt: skip
        """``ft_balance_of`` (the fake has no NEP-141 balances outside the verifier) and NEP-145
        ``storage_balance_of``/``storage_balance_bounds`` (``registered`` holds
        ``(contract, account)``)."""
        if method_name == "ft_balance_of":
            return "0"
        if method_name == "storage_balance_bounds":
            return {"min": str(STORAGE_MIN), "max": str(STORAGE_MIN)}
        if method_name == "storage_balance_of":
            who = (args or {}).get("account_id")
            if (account_id, who) not in self.registered:
                return None
            return {"total": str(STORAGE_MIN), "available": "0"}
        raise ViewCallError(f"MethodNotFound: {method_name}", method=method_name)

    async def access_key(self, account_id: str, public_key: str) -> tuple[int, bytes]:
        raise RpcServerError("the fake chain holds no access keys", method="query",
                             cause_name="UNKNOWN_ACCESS_KEY")  # fmt: skip

    async def send_tx(self, signed_tx_base64: str) -> TxOutcome:
        raise RpcServerError("the fake chain takes no transactions", method="send_tx",
                             cause_name="INVALID_TRANSACTION")  # fmt: skip

    async def account_exists(self, account_id: str, *, finality: Finality = Finality.FINAL) -> bool:
        return account_id in self.accounts or account_id in self.refusing

    async def native_balance(
        self, account_id: str, *, finality: Finality = Finality.FINAL
    ) -> int | None:
        return 10**24 if await self.account_exists(account_id) else None

    def _can_receive(self, account_id: str) -> bool:
        if account_id in self.refusing:
            return False
        implicit = is_implicit_ed25519(account_id) or is_implicit_evm(account_id)
        return implicit or account_id in self.accounts

    def _refund(self, tx_hash: str, n: int, w: WithdrawalRecord) -> dict[str, Any]:
        """``ft_resolve_withdraw`` crediting a bounced withdrawal back (mt_mint memo refund)."""
        data = [{"owner_id": w.account_id, "token_ids": [f"nep141:{w.token}"],
                 "amounts": [str(w.amount)], "memo": "refund"}]  # fmt: skip
        event = {"standard": "nep245", "version": "1.0.0", "event": "mt_mint", "data": data}
        return {
            "id": _hash(tx_hash, str(n), "refund"),
            "block_hash": _hash("block", tx_hash),
            "outcome": {"logs": ["EVENT_JSON:" + json.dumps(event)], "receipt_ids": [],
                        "gas_burnt": 1, "tokens_burnt": "0", "executor_id": self.ledger.contract,
                        "status": {"SuccessValue": ""}},
        }  # fmt: skip

    def _receipt(self, tx_hash: str, n: int, w: WithdrawalRecord) -> dict[str, Any]:
        ok = self._can_receive(w.receiver_id) and not w.bounced
        logs: list[str] = []
        if ok and not w.native:
            data = [{"old_owner_id": self.ledger.contract, "new_owner_id": w.receiver_id,
                     "amount": str(w.amount)}]  # fmt: skip
            event = {"standard": "nep141", "version": "1.0.0", "event": "ft_transfer", "data": data}
            logs.append("EVENT_JSON:" + json.dumps(event))
        status: Any = {"SuccessValue": ""}
        if not ok:
            kind = {"AccountDoesNotExist": {"account_id": w.receiver_id}}
            status = {"Failure": {"ActionError": {"index": 0, "kind": kind}}}
        return {
            "id": _hash(tx_hash, str(n)),
            "block_hash": _hash("block", tx_hash),
            "outcome": {"logs": logs, "receipt_ids": [], "gas_burnt": 1, "tokens_burnt": "0",
                        "executor_id": w.receiver_id if w.native else w.token, "status": status},
        }  # fmt: skip

    async def tx_status(self, tx_hash: str, sender_account_id: str) -> TxOutcome:
        if tx_hash in self.user_txs and self.user_txs[tx_hash][0] == sender_account_id:
            return TxOutcome.model_validate(
                {
                    "final_execution_status": "FINAL" if self.final else "EXECUTED_OPTIMISTIC",
                    "status": {"SuccessValue": ""},
                    "receipts_outcome": self.user_txs[tx_hash][1],
                }
            )
        known = any(t == tx_hash for t, _ in self.ledger.executed)
        if not known or sender_account_id != self.relayer:
            raise UnknownTransaction(f"Transaction {tx_hash} doesn't exist", method="tx")
        mine = [w for w in self.ledger.withdrawals if w.tx_hash == tx_hash]
        receipts = [self._receipt(tx_hash, n, w) for n, w in enumerate(mine)]
        receipts += [self._refund(tx_hash, n, w) for n, w in enumerate(mine) if w.bounced]
        return TxOutcome.model_validate(
            {
                "final_execution_status": "FINAL" if self.final else "EXECUTED_OPTIMISTIC",
                "status": {"SuccessValue": ""},
                "receipts_outcome": receipts,
            }
        )
