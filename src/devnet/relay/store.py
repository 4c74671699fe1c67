"""What the relay must not forget across a restart: published batches (their signed payloads,
so an unsent one can still be sent, and their status and NEAR tx hash), which intent hash
belongs to which batch, and the quote hashes already used (a quote is single-use; §3.5).

Open quotes are *not* stored: they live for about a minute, the solvers that made them are
disconnected by the restart anyway, and publishing one afterwards fails with "quote not found",
which is what an expired quote would say a moment later.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

DB_FILE = "relay.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    signed TEXT NOT NULL,
    quote_hashes TEXT NOT NULL,
    state TEXT NOT NULL,
    tx_hash TEXT,
    reason TEXT,
    created_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS intents (
    intent_hash TEXT PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES batches(id)
);
CREATE TABLE IF NOT EXISTS used_quotes (
    quote_hash TEXT PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES batches(id)
);
"""


class BatchState(StrEnum):
    PENDING = "PENDING"  # accepted, execute_intents not yet sent
    TX_BROADCASTED = "TX_BROADCASTED"  # sent and succeeded; not yet reported settled
    SETTLED = "SETTLED"
    FAILED = "FAILED"  # execute_intents failed on chain (tx_hash and reason set)


@dataclass(frozen=True, slots=True)
class StoredBatch:
    id: int
    signed: list[dict[str, Any]]
    quote_hashes: list[str]
    intent_hashes: list[str]
    state: BatchState
    tx_hash: str | None
    reason: str | None


class QuoteAlreadyUsed(Exception):  # noqa: N818 - reads as the reason it is
    def __init__(self, quote_hash: str) -> None:
        super().__init__(f"quote {quote_hash} was already used")
        self.quote_hash = quote_hash


class RelayStore:
    """SQLite (stdlib) under the data directory, or in memory. Writes are tiny local
    transactions, so they run inline; a lock makes the store safe from any thread."""

    def __init__(self, path: Path | str | None = None) -> None:
        target = ":memory:" if path is None else str(path)
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)

    @classmethod
    def open(cls, data_dir: Path | str | None) -> RelayStore:
        if data_dir is None:
            return cls(None)
        directory = Path(data_dir)
        directory.mkdir(parents=True, exist_ok=True)
        return cls(directory / DB_FILE)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def is_quote_used(self, quote_hash: str) -> bool:
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM used_quotes WHERE quote_hash = ?", (quote_hash,)
            ).fetchone()
        return row is not None

    def add_batch(
        self,
        signed: list[dict[str, Any]],
        intent_hashes: list[str],
        quote_hashes: list[str],
        created_ns: int,
    ) -> int:
        """Record an accepted batch as PENDING and burn its quotes, atomically.

        An intent hash seen before (a batch that failed on chain, published again) now points
        at the new batch. Raises :class:`QuoteAlreadyUsed` and records nothing if a quote was
        used already.
        """
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._conn.execute(
                    "INSERT INTO batches (signed, quote_hashes, state, created_ns) "
                    "VALUES (?, ?, ?, ?)",
                    (json.dumps(signed), json.dumps(quote_hashes), BatchState.PENDING, created_ns),
                )
                batch_id = cursor.lastrowid
                assert batch_id is not None
                for quote_hash in quote_hashes:
                    try:
                        self._conn.execute(
                            "INSERT INTO used_quotes (quote_hash, batch_id) VALUES (?, ?)",
                            (quote_hash, batch_id),
                        )
                    except sqlite3.IntegrityError as exc:
                        raise QuoteAlreadyUsed(quote_hash) from exc
                self._conn.executemany(
                    "INSERT OR REPLACE INTO intents (intent_hash, batch_id) VALUES (?, ?)",
                    [(h, batch_id) for h in intent_hashes],
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return batch_id

    def set_state(
        self,
        batch_id: int,
        state: BatchState,
        *,
        tx_hash: str | None = None,
        reason: str | None = None,
    ) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE batches SET state = ?, tx_hash = COALESCE(?, tx_hash), reason = ? "
                "WHERE id = ?",
                (state, tx_hash, reason, batch_id),
            )

    def batch_of(self, intent_hash: str) -> StoredBatch | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT batch_id FROM intents WHERE intent_hash = ?", (intent_hash,)
            ).fetchone()
            return None if row is None else self._batch(row[0])

    def unfinished(self) -> list[StoredBatch]:
        """Batches a restart must carry on with (PENDING or TX_BROADCASTED), oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id FROM batches WHERE state IN (?, ?) ORDER BY id",
                (BatchState.PENDING, BatchState.TX_BROADCASTED),
            ).fetchall()
            return [b for (batch_id,) in rows if (b := self._batch(batch_id)) is not None]

    def _batch(self, batch_id: int) -> StoredBatch | None:
        row = self._conn.execute(
            "SELECT id, signed, quote_hashes, state, tx_hash, reason FROM batches WHERE id = ?",
            (batch_id,),
        ).fetchone()
        if row is None:
            return None
        hashes = [
            h
            for (h,) in self._conn.execute(
                "SELECT intent_hash FROM intents WHERE batch_id = ? ORDER BY rowid", (batch_id,)
            )
        ]
        return StoredBatch(
            id=row[0],
            signed=json.loads(row[1]),
            quote_hashes=json.loads(row[2]),
            intent_hashes=hashes,
            state=BatchState(row[3]),
            tx_hash=row[4],
            reason=row[5],
        )
