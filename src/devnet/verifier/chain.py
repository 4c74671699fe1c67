"""Blocks and transaction records: what NEAR RPC's ``block`` and ``tx`` report about the devnet.

Each transaction gets its own block; hashes are 32-byte sha256 values in base58, derived from
the previous block so they are unique and reproducible.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from devnet.verifier.errors import VerifierError
from devnet.verifier.store import Overlay
from nearintents.encoding import b58decode, b58encode

GENESIS_PREV_HASH = b58encode(bytes(32))


def _hash(*parts: str | bytes | int) -> str:
    digest = hashlib.sha256()
    for part in parts:
        raw = part if isinstance(part, bytes) else str(part).encode()
        digest.update(len(raw).to_bytes(4, "big") + raw)
    return b58encode(digest.digest())


@dataclass(frozen=True, slots=True)
class Block:
    height: int
    hash: str
    prev_hash: str
    timestamp_ns: int


def success_value(value: bytes = b"") -> dict[str, str]:
    return {"SuccessValue": base64.b64encode(value).decode()}


def failure(panic: str) -> dict[str, Any]:
    """A function call that panicked, as nearcore reports it in execution outcomes."""
    return {
        "Failure": {
            "ActionError": {
                "index": 0,
                "kind": {
                    "FunctionCallError": {"ExecutionError": f"Smart contract panicked: {panic}"}
                },
            }
        }
    }


@dataclass
class Receipt:
    id: str
    predecessor_id: str
    executor_id: str
    method: str
    args: Any
    deposit: int = 0
    logs: list[str] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=success_value)
    receipt_ids: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return "Failure" in self.status

    @property
    def panic(self) -> str | None:
        if not self.failed:
            return None
        text: str = self.status["Failure"]["ActionError"]["kind"]["FunctionCallError"][
            "ExecutionError"
        ]
        return text.removeprefix("Smart contract panicked: ")


@dataclass
class TxRecord:
    hash: str
    signer_id: str
    receiver_id: str
    method: str
    args: Any
    deposit: int
    block_height: int
    block_hash: str
    timestamp_ns: int
    receipts: list[Receipt] = field(default_factory=list)
    # The transaction's result: the first receipt's, unless it returned a promise whose
    # result then stands in for it (NEAR's SuccessReceiptId chain).
    status: dict[str, Any] = field(default_factory=success_value)
    # What a signed transaction's signer paid for gas (devnet.chains.near.gas); 0 for the
    # devnet's own calls (faucets, the relay's execute_intents), which no key signs.
    gas_burnt: int = 0
    tokens_burnt: int = 0

    def new_receipt(
        self, predecessor_id: str, executor_id: str, method: str, args: Any, deposit: int = 0
    ) -> Receipt:
        receipt = Receipt(
            id=_hash("receipt", self.hash, len(self.receipts)),
            predecessor_id=predecessor_id,
            executor_id=executor_id,
            method=method,
            args=args,
            deposit=deposit,
        )
        self.receipts.append(receipt)
        return receipt

    @property
    def logs(self) -> list[str]:
        return [line for receipt in self.receipts for line in receipt.logs]

    @property
    def succeeded(self) -> bool:
        return "SuccessValue" in self.status

    @property
    def panic(self) -> str | None:
        """The contract's error text if the transaction failed."""
        if self.succeeded:
            return None
        return next((r.panic for r in self.receipts if r.failed), None)

    @property
    def value(self) -> Any:
        """The transaction's JSON result (None when empty or failed)."""
        raw = self.status.get("SuccessValue")
        if not raw:
            return None
        return json.loads(base64.b64decode(raw))

    def ensure_success(self) -> TxRecord:
        """Raise VerifierError (with the contract's text and this hash) if it failed."""
        if not self.succeeded:
            raise VerifierError(self.panic or "transaction failed", tx_hash=self.hash)
        return self

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> TxRecord:
        raw = json.loads(text)
        raw["receipts"] = [Receipt(**r) for r in raw["receipts"]]
        return cls(**raw)


class Chain:
    """Blocks and transactions in the ``block``/``blockhash``/``tx`` tables of an overlay."""

    def __init__(self, db: Overlay) -> None:
        self.db = db

    def head(self) -> Block:
        height = int(self.db.get("meta", "head") or 0)
        block = self.block(height)
        assert block is not None, "genesis is written when the verifier is created"
        return block

    def block(self, height: int) -> Block | None:
        raw = self.db.get("block", str(height))
        return None if raw is None else Block(**json.loads(raw))

    def block_by_hash(self, block_hash: str) -> Block | None:
        height = self.db.get("blockhash", block_hash)
        return None if height is None else self.block(int(height))

    def _put_block(self, block: Block) -> None:
        self.db.put("block", str(block.height), json.dumps(asdict(block)))
        self.db.put("blockhash", block.hash, str(block.height))
        self.db.put("meta", "head", str(block.height))

    def genesis(self, timestamp_ns: int, chain_id: str) -> Block:
        block = Block(0, _hash("genesis", chain_id), GENESIS_PREV_HASH, timestamp_ns)
        self._put_block(block)
        return block

    def next_block(self, timestamp_ns: int, content: str = "") -> Block:
        prev = self.head()
        height = prev.height + 1
        block = Block(
            height,
            _hash("block", prev.hash, height, timestamp_ns, content),
            prev.hash,
            timestamp_ns,
        )
        self._put_block(block)
        return block

    def new_tx(
        self,
        signer_id: str,
        receiver_id: str,
        method: str,
        args: Any,
        deposit: int,
        now_ns: int,
        tx_hash: str | None = None,  # a signed transaction's own hash
    ) -> TxRecord:
        prev = self.head()
        tx_hash = tx_hash or _hash(
            "tx", prev.hash, signer_id, receiver_id, method, json.dumps(args), deposit
        )
        block = self.next_block(now_ns, tx_hash)
        return TxRecord(
            hash=tx_hash,
            signer_id=signer_id,
            receiver_id=receiver_id,
            method=method,
            args=args,
            deposit=deposit,
            block_height=block.height,
            block_hash=block.hash,
            timestamp_ns=now_ns,
        )

    def put_tx(self, tx: TxRecord) -> None:
        self.db.put("tx", tx.hash, tx.to_json())

    def tx(self, tx_hash: str) -> TxRecord | None:
        raw = self.db.get("tx", tx_hash)
        return None if raw is None else TxRecord.from_json(raw)


def is_crypto_hash(text: str) -> bool:
    try:
        b58decode(text, length=32)
    except ValueError:
        return False
    return True
