"""Durable key-value tables and copy-on-write overlays over them.

Every change to the devnet's state happens in an :class:`Overlay`; a transaction's overlay is
written in one SQLite transaction (or discarded), so a crash never leaves half a transaction and a
restart never replays one. Nested overlays give receipt-level atomicity inside a transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol

Tables = dict[str, dict[str, str]]
# (table, key) -> new value, or None for a deletion
Changes = dict[tuple[str, str], str | None]


class Store(Protocol):
    def load(self) -> Tables: ...

    def write(self, changes: Mapping[tuple[str, str], str | None]) -> None:
        """Persist all ``changes`` atomically, or none of them."""
        ...

    def close(self) -> None: ...


class MemoryStore:
    """No persistence: for tests and throwaway devnets."""

    def load(self) -> Tables:
        return {}

    def write(self, changes: Mapping[tuple[str, str], str | None]) -> None:
        return None

    def close(self) -> None:
        return None


class SqliteStore:
    """One SQLite file; WAL with ``synchronous=FULL``: a committed transaction survives a crash."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The Verifier serialises all access with its own lock; the RPC server calls from threads.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS kv (tbl TEXT NOT NULL, key TEXT NOT NULL, "
            "value TEXT NOT NULL, PRIMARY KEY (tbl, key)) WITHOUT ROWID"
        )

    def load(self) -> Tables:
        tables: Tables = {}
        with self._lock:
            for tbl, key, value in self._db.execute("SELECT tbl, key, value FROM kv"):
                tables.setdefault(tbl, {})[key] = value
        return tables

    def write(self, changes: Mapping[tuple[str, str], str | None]) -> None:
        if not changes:
            return
        upserts = [(t, k, v) for (t, k), v in changes.items() if v is not None]
        deletes = [(t, k) for (t, k), v in changes.items() if v is None]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO kv (tbl, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value",
                    upserts,
                )
                self._db.executemany("DELETE FROM kv WHERE tbl = ? AND key = ?", deletes)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Reader(Protocol):
    def get(self, table: str, key: str) -> str | None: ...

    def scan(self, table: str, prefix: str = "") -> Iterator[tuple[str, str]]: ...


class Base:
    """The committed state in memory (what the store holds), read by overlays."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def get(self, table: str, key: str) -> str | None:
        return self.tables.get(table, {}).get(key)

    def scan(self, table: str, prefix: str = "") -> Iterator[tuple[str, str]]:
        for key, value in list(self.tables.get(table, {}).items()):
            if key.startswith(prefix):
                yield key, value

    def apply(self, changes: Changes) -> None:
        for (table, key), value in changes.items():
            if value is None:
                self.tables.get(table, {}).pop(key, None)
            else:
                self.tables.setdefault(table, {})[key] = value


class Overlay:
    """Uncommitted changes over a parent; :meth:`merge_into_parent` or drop it."""

    def __init__(self, parent: Reader) -> None:
        self.parent = parent
        self.changes: Changes = {}

    def get(self, table: str, key: str) -> str | None:
        if (table, key) in self.changes:
            return self.changes[(table, key)]
        return self.parent.get(table, key)

    def put(self, table: str, key: str, value: str | None) -> None:
        self.changes[(table, key)] = value

    def scan(self, table: str, prefix: str = "") -> Iterator[tuple[str, str]]:
        mine = {k: v for (t, k), v in self.changes.items() if t == table and k.startswith(prefix)}
        for key, value in self.parent.scan(table, prefix):
            if key not in mine:
                yield key, value
        for key, maybe in mine.items():
            if maybe is not None:
                yield key, maybe

    def child(self) -> Overlay:
        return Overlay(self)

    def merge_into_parent(self) -> None:
        if not isinstance(self.parent, Overlay):
            raise TypeError("only a nested overlay merges into its parent")
        self.parent.changes.update(self.changes)
