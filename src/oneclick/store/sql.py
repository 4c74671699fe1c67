"""``SqlStore``: the ``Store`` port on SQLAlchemy Core (async), one connection per transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from oneclick.services.ports import StampedSnapshot, SwapSnapshot
from oneclick.store.accounts import SqlAccountHistory, SqlUserSessions
from oneclick.store.any_input import SqlAnyInput
from oneclick.store.custody import SqlCustodyAccounts
from oneclick.store.intents import SqlIntents
from oneclick.store.partners import SqlPartners
from oneclick.store.reads import SNAPSHOTS_KEPT, SqliteReader, rows_digest
from oneclick.store.reconcile import SqlReconcile
from oneclick.store.swaps import SqlSwaps
from oneclick.store.webhooks import SqlWebhooks


class SqlSession:
    """One transaction's worth of repository operations (the ``StoreSession`` and
    ``EngineSession`` ports): its repositories (``swaps``, ``any_input``, ``intents``,
    ``custody``, ``partners``, ``user_sessions``, ``history``, ``webhooks``, ``reconcile``),
    one per aggregate, sharing its connection, and nothing else."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn  # the transaction's connection (tests write raw rows through it)
        self.swaps = SqlSwaps(conn)
        self.any_input = SqlAnyInput(conn, self.swaps)
        self.intents = SqlIntents(conn)
        self.custody = SqlCustodyAccounts(conn)
        self.partners = SqlPartners(conn)
        self.user_sessions = SqlUserSessions(conn)
        self.history = SqlAccountHistory(conn)
        self.webhooks = SqlWebhooks(conn)
        self.reconcile = SqlReconcile(conn)


class SqlStore:
    """The ``Store`` port: ``async with store.transaction() as tx`` commits on success."""

    def __init__(self, db: AsyncEngine, status_cache: int = SNAPSHOTS_KEPT) -> None:
        """``status_cache``: ``api.status_cache``; the SQLite reader keeps the last snapshot of
        that many deposit addresses, at most :data:`SNAPSHOTS_KEPT` (about 12 KiB each): the
        hot status path keeps its own far smaller entries (api/hot.py), these serve the other
        readers of a snapshot (the status stream, authenticated and profiled reads)."""
        self.db = db
        # On a SQLite file the status read skips aiosqlite's dozen thread hops (store/reads.py).
        self.reader: SqliteReader | None = None
        url = db.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            self.reader = SqliteReader(url, min(status_cache, SNAPSHOTS_KEPT))
            event.listen(db.sync_engine, "engine_disposed", lambda _: self._close_reader())

    def _close_reader(self) -> None:
        if self.reader is not None:
            self.reader.close()

    async def swap_snapshot(self, address: str, memo: str | None) -> SwapSnapshot | None:
        """``GET /v0/status``'s read: on a SQLite file two prepared statements without a thread
        hop (store/reads.py), elsewhere ``session.swaps.snapshot`` in its own transaction."""
        if self.reader is not None:
            return await self.reader.swap_snapshot(address, memo)
        async with self.transaction() as tx:
            return await tx.swaps.snapshot(address, memo)

    async def swap_snapshot_since(
        self, address: str, memo: str | None, seen: Hashable | None
    ) -> StampedSnapshot | None:
        """On a SQLite file no query at all while nothing was committed (store/reads.py:
        ``RowsStamp``). Elsewhere (PostgreSQL) the snapshot is read and its stamp is a digest
        of it (the ``repr`` of its fields: value types, dataclasses and lists), so only what is
        built from it is saved: no row of a swap changes with every write to its legs and
        deposits, so there is no cheaper token to read that provably follows them."""
        if self.reader is not None:
            return await self.reader.swap_snapshot_since(address, memo, seen)
        snapshot = await self.swap_snapshot(address, memo)
        if snapshot is None:
            return None
        stamp = rows_digest(snapshot)
        return StampedSnapshot(stamp, None if stamp == seen else snapshot)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlSession]:
        async with self.db.begin() as conn:
            yield SqlSession(conn)
