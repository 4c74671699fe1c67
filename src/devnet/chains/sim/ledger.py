"""A simulated account ledger with blocks, a mempool, confirmations, reorgs and persistence
(stdlib sqlite3), behind the :class:`~devnet.chains.base.Chain` port. Address formats, key
derivation and hash styles come from a subclass (Bitcoin, XRP).

Balances are sums over the transactions of canonical blocks, so a reorg (which drops the last
blocks and their transactions) reverts them for free. There are no network fees.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Collection
from pathlib import Path
from typing import Any

from devnet.chains.base import (
    NATIVE,
    Asset,
    ChainError,
    InsufficientFunds,
    InvalidAddress,
    PreparedTx,
    Transfer,
    TxState,
    TxStatus,
    Unsupported,
    Wallet,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE,
    prev_hash TEXT NOT NULL, time_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS txs (hash TEXT PRIMARY KEY, seq INTEGER NOT NULL,
    block_height INTEGER, sender TEXT NOT NULL, receiver TEXT NOT NULL, asset TEXT NOT NULL,
    amount TEXT NOT NULL, memo TEXT);
CREATE INDEX IF NOT EXISTS txs_block ON txs (block_height);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
COINBASE = ""  # the sender of faucet transactions: new coins


class SimChain(ABC):
    """A simulated chain. ``automine``: every broadcast transaction gets its own block at once
    (like anvil); otherwise transactions wait in the mempool for :meth:`mine`."""

    def __init__(
        self,
        chain_id: str,
        assets: tuple[Asset, ...],
        *,
        path: Path | str | None = None,
        automine: bool = True,
    ) -> None:
        self._chain_id = chain_id
        self._assets = assets
        self.automine = automine
        self._lock = threading.Lock()
        target = ":memory:" if path is None else str(path)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        if self._row("SELECT 1 FROM blocks WHERE height = 0") is None:
            with self._tx():
                self._add_block(0, "0" * 64)

    # --- subclass hooks ---------------------------------------------------------------------------

    @abstractmethod
    def validate_address(self, address: str) -> str: ...

    @abstractmethod
    def address_of(self, secret: bytes) -> str:
        """The address a secret key controls."""

    @abstractmethod
    def wallet(self, seed: bytes, label: str) -> Wallet: ...

    @abstractmethod
    def make_hash(self, *parts: str) -> str:
        """A transaction or block hash in the chain's style."""

    def validate_memo(self, memo: str) -> str:
        raise InvalidAddress(f"{self._chain_id} has no memos")

    # --- plumbing ---------------------------------------------------------------------------------

    @property
    def chain_id(self) -> str:
        return self._chain_id

    @property
    def assets(self) -> tuple[Asset, ...]:
        return self._assets

    @property
    def has_memo(self) -> bool:
        return False

    def _row(self, sql: str, *args: Any) -> Any:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _tx(self) -> _Transaction:
        return _Transaction(self._db, self._lock)

    def _meta_next(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        value = int(row[0]) + 1 if row else 1
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))
        return value

    def _add_block(self, height: int, prev_hash: str) -> str:
        salt = self._meta_next("blocks")  # differs after a reorg, so replaced blocks get new hashes
        block_hash = self.make_hash("block", self._chain_id, str(height), prev_hash, str(salt))
        self._db.execute(
            "INSERT INTO blocks VALUES (?, ?, ?, ?)",
            (height, block_hash, prev_hash, time.time_ns()),
        )
        return block_hash

    def _head(self) -> tuple[int, str]:
        row = self._db.execute(
            "SELECT height, hash FROM blocks ORDER BY height DESC LIMIT 1"
        ).fetchone()
        return int(row[0]), str(row[1])

    def _mine_one(self) -> int:
        height, head_hash = self._head()
        self._add_block(height + 1, head_hash)
        self._db.execute(
            "UPDATE txs SET block_height = ? WHERE block_height IS NULL", (height + 1,)
        )
        return height + 1

    def _balance(self, address: str, asset: str, *, spendable: bool) -> int:
        # Included incoming minus outgoing; the spendable balance also holds back pending sends.
        rows = self._db.execute(
            "SELECT sender, receiver, amount, block_height FROM txs WHERE asset = ? AND "
            "(sender = ? OR receiver = ?)",
            (asset, address, address),
        ).fetchall()
        total = 0
        for sender, receiver, amount, height in rows:
            if height is not None and receiver == address:
                total += int(amount)
            if sender == address and (height is not None or spendable):
                total -= int(amount)
        return total

    def _asset(self, key: str) -> str:
        if key not in {a.key for a in self._assets}:
            raise ChainError(f"{self._chain_id} has no asset {key!r}")
        return key

    # --- the Chain port ---------------------------------------------------------------------------

    async def head(self) -> int:
        with self._lock:
            return self._head()[0]

    async def block_hash(self, height: int) -> str | None:
        row = self._row("SELECT hash FROM blocks WHERE height = ?", height)
        return None if row is None else str(row[0])

    async def transfers(self, receivers: Collection[str], first: int, last: int) -> list[Transfer]:
        wanted = set(receivers)
        if not wanted or last < first:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT t.hash, t.block_height, b.hash, t.asset, t.sender, t.receiver, t.amount, "
                "t.memo FROM txs t JOIN blocks b ON b.height = t.block_height "
                "WHERE t.block_height BETWEEN ? AND ? ORDER BY t.block_height, t.seq",
                (first, last),
            ).fetchall()
        return [
            Transfer(h, 0, height, bh, asset, sender, receiver, int(amount), memo)
            for h, height, bh, asset, sender, receiver, amount, memo in rows
            if receiver in wanted
        ]

    async def prepare(
        self, sender: Wallet, receiver: str, asset: str, amount: int, memo: str | None, *, key: str
    ) -> PreparedTx:
        if self.address_of(sender.secret) != sender.address:
            raise ChainError("the wallet's key does not control its address")
        receiver = self.validate_address(receiver)
        memo = None if memo is None else self.validate_memo(memo)
        if amount <= 0:
            raise ChainError("amount must be positive")
        tx_hash = self.make_hash("tx", self._chain_id, sender.address, key)
        raw = {
            "hash": tx_hash,
            "sender": sender.address,
            "receiver": receiver,
            "asset": self._asset(asset),
            "amount": str(amount),
            "memo": memo,
        }
        return PreparedTx(tx_hash, json.dumps(raw, sort_keys=True))

    async def broadcast(self, tx: PreparedTx) -> None:
        raw = json.loads(tx.raw)
        with self._tx():
            if self._db.execute("SELECT 1 FROM txs WHERE hash = ?", (tx.tx_hash,)).fetchone():
                return  # already known: a re-broadcast lands nothing twice
            if raw["sender"] != COINBASE:
                available = self._balance(raw["sender"], raw["asset"], spendable=True)
                if available < int(raw["amount"]):
                    raise InsufficientFunds(
                        f"{raw['sender']} has {available} {raw['asset']}, needs {raw['amount']}"
                    )
            self._db.execute(
                "INSERT INTO txs VALUES (?, ?, NULL, ?, ?, ?, ?, ?)",
                (
                    tx.tx_hash,
                    self._meta_next("txs"),
                    raw["sender"],
                    raw["receiver"],
                    raw["asset"],
                    raw["amount"],
                    raw["memo"],
                ),
            )
            if self.automine:
                self._mine_one()

    async def tx_status(self, tx_hash: str) -> TxStatus:
        row = self._row(
            "SELECT t.block_height, b.hash FROM txs t LEFT JOIN blocks b "
            "ON b.height = t.block_height WHERE t.hash = ?",
            tx_hash,
        )
        if row is None:
            return TxStatus(TxState.UNKNOWN)
        if row[0] is None:
            return TxStatus(TxState.PENDING)
        return TxStatus(TxState.INCLUDED, int(row[0]), str(row[1]))

    async def send(
        self, sender: Wallet, receiver: str, asset: str, amount: int, memo: str | None = None
    ) -> str:
        with self._lock:
            key = f"send:{self._meta_next('sends')}"
        prepared = await self.prepare(sender, receiver, asset, amount, memo, key=key)
        await self.broadcast(prepared)
        return prepared.tx_hash

    async def balance(self, address: str, asset: str) -> int:
        address = self.validate_address(address)
        with self._lock:
            return self._balance(address, self._asset(asset), spendable=False)

    async def fund(self, address: str, asset: str, amount: int, memo: str | None = None) -> str:
        address = self.validate_address(address)
        memo = None if memo is None else self.validate_memo(memo)
        if amount <= 0:
            raise ChainError("amount must be positive")
        with self._lock:
            key = f"faucet:{self._meta_next('faucet')}"
        tx_hash = self.make_hash("tx", self._chain_id, COINBASE, key)
        raw = {
            "hash": tx_hash,
            "sender": COINBASE,
            "receiver": address,
            "asset": self._asset(asset),
            "amount": str(amount),
            "memo": memo,
        }
        await self.broadcast(PreparedTx(tx_hash, json.dumps(raw, sort_keys=True)))
        return tx_hash

    async def mine(self, blocks: int = 1) -> int:
        if blocks < 1:
            raise ChainError("mine at least one block")
        with self._tx():
            for _ in range(blocks):
                height = self._mine_one()
        return height

    async def reorg(self, depth: int) -> None:
        """Drop the last ``depth`` blocks with their transactions (they vanish, they do not go
        back to the mempool), then mine ``depth`` empty blocks with new hashes."""
        with self._tx():
            head, _ = self._head()
            if not 1 <= depth <= head:
                raise Unsupported(f"reorg depth must be 1..={head}")
            fork = head - depth
            self._db.execute("DELETE FROM txs WHERE block_height > ?", (fork,))
            self._db.execute("DELETE FROM blocks WHERE height > ?", (fork,))
            for height in range(fork + 1, head + 1):
                prev = self._db.execute(
                    "SELECT hash FROM blocks WHERE height = ?", (height - 1,)
                ).fetchone()[0]
                self._add_block(height, prev)

    async def aclose(self) -> None:
        with self._lock:
            self._db.close()


class _Transaction:
    """``with``: hold the ledger lock and run the statements in one sqlite transaction."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db = db
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        finally:
            self._lock.release()


__all__ = ["COINBASE", "NATIVE", "SimChain"]
