"""The bridge's durable state (stdlib sqlite3, one file under the data directory): deposit
addresses and memo tags, scan cursors, deposits and withdrawals. Thread-safe: the verifier calls
the payout sink from its own threads. Amounts are decimal text (SQLite integers stop at 2^63).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DB_FILE = "bridge.sqlite3"
SCANNED_KEPT = 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS addresses (chain TEXT NOT NULL, address TEXT NOT NULL,
    memo TEXT NOT NULL, account_id TEXT NOT NULL, PRIMARY KEY (chain, address, memo));
CREATE INDEX IF NOT EXISTS addresses_account ON addresses (chain, account_id);
CREATE TABLE IF NOT EXISTS memo_tags (chain TEXT NOT NULL, account_id TEXT NOT NULL,
    tag INTEGER NOT NULL, PRIMARY KEY (chain, account_id), UNIQUE (chain, tag));
CREATE TABLE IF NOT EXISTS scanned (chain TEXT NOT NULL, height INTEGER NOT NULL,
    hash TEXT NOT NULL, PRIMARY KEY (chain, height));
CREATE TABLE IF NOT EXISTS deposits (id INTEGER PRIMARY KEY AUTOINCREMENT, chain TEXT NOT NULL,
    tx_hash TEXT NOT NULL, idx INTEGER NOT NULL, block_height INTEGER NOT NULL,
    block_hash TEXT NOT NULL, near_token_id TEXT NOT NULL, sender TEXT NOT NULL,
    address TEXT NOT NULL, memo TEXT, amount TEXT NOT NULL, account_id TEXT,
    status TEXT NOT NULL, note TEXT, mint_tx_hash TEXT, created_at TEXT NOT NULL,
    UNIQUE (chain, tx_hash, idx));
CREATE TABLE IF NOT EXISTS withdrawals (id INTEGER PRIMARY KEY AUTOINCREMENT,
    payout_id TEXT NOT NULL UNIQUE, withdrawal_hash TEXT NOT NULL, chain TEXT NOT NULL,
    near_token_id TEXT NOT NULL, account_id TEXT NOT NULL, address TEXT NOT NULL, memo TEXT,
    amount TEXT NOT NULL, fee TEXT NOT NULL, state TEXT NOT NULL, transfer_tx_hash TEXT,
    raw_tx TEXT, note TEXT, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS withdrawals_hash ON withdrawals (withdrawal_hash);
"""


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True, slots=True)
class DepositRow:
    id: int
    chain: str
    tx_hash: str
    idx: int
    block_height: int
    block_hash: str
    near_token_id: str
    sender: str
    address: str
    memo: str | None
    amount: int
    account_id: str | None
    status: str
    note: str | None
    mint_tx_hash: str | None
    created_at: str


@dataclass(frozen=True, slots=True)
class WithdrawalRow:
    id: int
    payout_id: str
    withdrawal_hash: str
    chain: str
    near_token_id: str
    account_id: str
    address: str
    memo: str | None
    amount: int
    fee: int
    state: str
    transfer_tx_hash: str | None
    raw_tx: str | None
    note: str | None
    created_at: str


def _deposit(row: Sequence[Any]) -> DepositRow:
    values = list(row)
    values[10] = int(values[10])
    return DepositRow(*values)


def _withdrawal(row: Sequence[Any]) -> WithdrawalRow:
    values = list(row)
    values[8], values[9] = int(values[8]), int(values[9])
    return WithdrawalRow(*values)


class BridgeStore:
    def __init__(self, data_dir: Path | str | None) -> None:
        if data_dir is None:
            target = ":memory:"
        else:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
            target = str(Path(data_dir) / DB_FILE)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _all(self, sql: str, *args: Any) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # --- addresses --------------------------------------------------------------------------------

    def register_address(self, chain: str, address: str, memo: str, account_id: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO addresses VALUES (?, ?, ?, ?)",
                (chain, address, memo, account_id),
            )

    def memo_tag(self, chain: str, account_id: str, first: int) -> int:
        """The account's tag on a memo chain, allocated on first use (``first``, then up)."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT tag FROM memo_tags WHERE chain = ? AND account_id = ?", (chain, account_id)
            ).fetchone()
            if row is not None:
                return int(row[0])
            top = db.execute("SELECT MAX(tag) FROM memo_tags WHERE chain = ?", (chain,)).fetchone()
            tag = first if top[0] is None else int(top[0]) + 1
            db.execute("INSERT INTO memo_tags VALUES (?, ?, ?)", (chain, account_id, tag))
            return tag

    def watched(self, chain: str) -> dict[str, dict[str, str]]:
        """address → memo (``""`` when none) → account id."""
        routes: dict[str, dict[str, str]] = {}
        for address, memo, account in self._all(
            "SELECT address, memo, account_id FROM addresses WHERE chain = ?", chain
        ):
            routes.setdefault(address, {})[memo] = account
        return routes

    # --- scan cursors -----------------------------------------------------------------------------

    def scanned(self, chain: str) -> list[tuple[int, str]]:
        """The recorded scan positions (height, block hash), newest first."""
        rows = self._all(
            "SELECT height, hash FROM scanned WHERE chain = ? ORDER BY height DESC", chain
        )
        return [(int(h), str(x)) for h, x in rows]

    def advance(self, chain: str, height: int, block_hash: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO scanned VALUES (?, ?, ?)", (chain, height, block_hash)
            )
            db.execute(
                "DELETE FROM scanned WHERE chain = ? AND height NOT IN (SELECT height FROM scanned "
                "WHERE chain = ? ORDER BY height DESC LIMIT ?)",
                (chain, chain, SCANNED_KEPT),
            )

    def rewind(self, chain: str, height: int) -> None:
        """Forget scan positions above ``height`` and the unsettled deposits seen there."""
        with self.transaction() as db:
            db.execute("DELETE FROM scanned WHERE chain = ? AND height > ?", (chain, height))
            db.execute(
                "DELETE FROM deposits WHERE chain = ? AND block_height > ? AND status = 'PENDING'",
                (chain, height),
            )

    # --- deposits ---------------------------------------------------------------------------------

    def add_deposit(self, row: dict[str, Any]) -> bool:
        """Record a deposit once (by chain, tx hash and index); False if already known."""
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.transaction() as db:
            cursor = db.execute(
                f"INSERT OR IGNORE INTO deposits ({columns}) VALUES ({marks})",  # noqa: S608
                tuple(str(v) if k == "amount" else v for k, v in row.items()),
            )
            return cursor.rowcount == 1

    def deposits(
        self,
        *,
        chain: str | None = None,
        account_id: str | None = None,
        statuses: Sequence[str] | None = None,
        limit: int = -1,
        offset: int = 0,
    ) -> tuple[list[DepositRow], int]:
        """Newest first, and the total count matching."""
        where, args = ["1 = 1"], []
        if chain is not None:
            where.append("chain = ?")
            args.append(chain)
        if account_id is not None:
            where.append("account_id = ?")
            args.append(account_id)
        if statuses is not None:
            where.append(f"status IN ({', '.join('?' for _ in statuses)})")
            args.extend(statuses)
        clause = " AND ".join(where)
        total = self._all(f"SELECT COUNT(*) FROM deposits WHERE {clause}", *args)[0][0]  # noqa: S608
        rows = self._all(
            f"SELECT * FROM deposits WHERE {clause} ORDER BY id DESC LIMIT ? OFFSET ?",  # noqa: S608
            *args,
            limit,
            offset,
        )
        return [_deposit(r) for r in rows], int(total)

    def set_deposit(self, deposit_id: int, **fields: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.transaction() as db:
            db.execute(
                f"UPDATE deposits SET {sets} WHERE id = ?",  # noqa: S608
                (*fields.values(), deposit_id),
            )

    # --- withdrawals ------------------------------------------------------------------------------

    def withdrawal(self, payout_id: str) -> WithdrawalRow | None:
        rows = self._all("SELECT * FROM withdrawals WHERE payout_id = ?", payout_id)
        return _withdrawal(rows[0]) if rows else None

    def add_withdrawal(self, row: dict[str, Any]) -> WithdrawalRow:
        """Insert unless the payout id is known; returns the stored row either way."""
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        values = tuple(str(v) if k in ("amount", "fee") else v for k, v in row.items())
        with self.transaction() as db:
            db.execute(
                f"INSERT OR IGNORE INTO withdrawals ({columns}) VALUES ({marks})",  # noqa: S608
                values,
            )
        stored = self.withdrawal(row["payout_id"])
        assert stored is not None
        return stored

    def withdrawals(
        self,
        *,
        withdrawal_hash: str | None = None,
        account_id: str | None = None,
        chain: str | None = None,
        states: Sequence[str] | None = None,
    ) -> list[WithdrawalRow]:
        where, args = ["1 = 1"], []
        for column, value in (
            ("withdrawal_hash", withdrawal_hash),
            ("account_id", account_id),
            ("chain", chain),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if states is not None:
            where.append(f"state IN ({', '.join('?' for _ in states)})")
            args.extend(states)
        clause = " AND ".join(where)
        rows = self._all(f"SELECT * FROM withdrawals WHERE {clause} ORDER BY id", *args)  # noqa: S608
        return [_withdrawal(r) for r in rows]

    def set_withdrawal(self, payout_id: str, **fields: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.transaction() as db:
            db.execute(
                f"UPDATE withdrawals SET {sets} WHERE payout_id = ?",  # noqa: S608
                (*fields.values(), payout_id),
            )
