"""``SqlStore``: the ``Store`` port on SQLAlchemy Core (async), one connection per transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import Row, event, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from oneclick.domain.engine import DepositRecord
from oneclick.domain.errors import PermanentError
from oneclick.domain.records import (
    DepositTx,
    NewSwap,
)
from oneclick.domain.swaps import SwapRecord, SwapStatus
from oneclick.domain.transitions import REASON_QUOTED
from oneclick.services.ports import StampedSnapshot, SwapSnapshot
from oneclick.store.accounts import SenderQueries, SqlAccountHistory, SqlUserSessions
from oneclick.store.any_input import AnyInputQueries, SqlAnyInput
from oneclick.store.custody import SqlCustodyAccounts
from oneclick.store.engine import (
    EngineQueries,
    engine_swap,
    insert_ignoring_duplicates,
)
from oneclick.store.intents import SqlIntents
from oneclick.store.partners import SqlPartners
from oneclick.store.reads import SNAPSHOT_DEPOSIT as _SNAPSHOT_DEPOSIT
from oneclick.store.reads import SNAPSHOTS_KEPT, SqliteReader, rows_digest
from oneclick.store.reconcile import ReconcileQueries
from oneclick.store.swaps import SqlSwaps
from oneclick.store.tables import deposits, swaps
from oneclick.store.transitions import TransitionQueries, append_transition
from oneclick.store.webhooks import SqlWebhooks


def _swap(row: Row[tuple[object, ...]]) -> SwapRecord:
    m = row._mapping
    return SwapRecord(
        id=m["id"],
        deposit_address=m["deposit_address"],
        deposit_memo=m["deposit_memo"] or None,
        status=SwapStatus(m["status"]),
        quote_response=m["quote_response"],
        origin_asset=m["origin_asset"],
        destination_asset=m["destination_asset"],
        deposit_type=m["deposit_type"],
        custody_account_id=m["custody_account_id"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        version=m["version"],
    )


class SqlSession(
    EngineQueries,
    ReconcileQueries,
    TransitionQueries,
    SenderQueries,
    AnyInputQueries,
):
    """One transaction's worth of repository operations (the ``StoreSession`` and
    ``EngineSession`` ports): its repositories (``swaps``, ``any_input``, ``intents``,
    ``custody``, ``partners``, ``user_sessions``, ``history``, ``webhooks``), one per aggregate,
    sharing its connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self.swaps = SqlSwaps(conn)
        self.any_input = SqlAnyInput(conn, self.swaps)
        self.intents = SqlIntents(conn)
        self.custody = SqlCustodyAccounts(conn)
        self.partners = SqlPartners(conn)
        self.user_sessions = SqlUserSessions(conn)
        self.history = SqlAccountHistory(conn)
        self.webhooks = SqlWebhooks(conn)

    async def swap_counts(self) -> dict[str, int]:
        """How many swaps are in each status (for the ``oneclick_swaps`` gauge)."""
        result = await self._conn.execute(
            select(swaps.c.status, func.count()).group_by(swaps.c.status)
        )
        return {str(status): int(count) for status, count in result.all()}

    async def live_unfunded_swaps(self, client: str, now: datetime) -> int:
        """``client``'s swaps still waiting for a deposit before their request deadline."""
        query = select(func.count()).where(
            swaps.c.client == client,
            swaps.c.status == SwapStatus.PENDING_DEPOSIT.value,
            swaps.c.request_deadline > now,
        )
        return int((await self._conn.execute(query)).scalar_one())

    async def add_swap(self, swap: NewSwap) -> None:
        values = {
            name: getattr(swap, name)
            for name in NewSwap.__dataclass_fields__
            if name not in ("deposit_memo", "status")
        }
        values.update(
            deposit_memo=swap.deposit_memo or "",
            status=swap.status.value,
            updated_at=swap.created_at,
            next_run_at=swap.created_at,
        )
        try:
            await self._conn.execute(insert(swaps).values(**values))
        except IntegrityError as exc:
            raise PermanentError(
                f"deposit address {swap.deposit_address} is already used by another swap"
            ) from exc
        await append_transition(
            self._conn, swap.id, from_status=None, to_status=swap.status, at=swap.created_at,
            reason=REASON_QUOTED,
        )  # fmt: skip

    async def swap_by_deposit(self, address: str, memo: str | None) -> SwapRecord | None:
        row = (
            await self._conn.execute(
                select(swaps).where(
                    swaps.c.deposit_address == address, swaps.c.deposit_memo == (memo or "")
                )
            )
        ).first()
        return _swap(row) if row else None

    async def swap_snapshot(self, address: str, memo: str | None) -> SwapSnapshot | None:
        # Two statements, not three: the deposits come joined to the swap row (each statement
        # costs a few thread hops on aiosqlite, which dominated GET /v0/status; see bench/).
        rows = (
            await self._conn.execute(
                select(swaps, *_SNAPSHOT_DEPOSIT)
                .outerjoin(deposits, deposits.c.swap_id == swaps.c.id)
                .where(swaps.c.deposit_address == address, swaps.c.deposit_memo == (memo or ""))
                .order_by(deposits.c.id)
            )
        ).all()
        if not rows:
            return None
        swap = engine_swap(rows[0])
        found = [
            DepositRecord(*(row._mapping[c.name] for c in _SNAPSHOT_DEPOSIT))
            for row in rows
            if row._mapping["deposit_tx_hash"] is not None
        ]
        return SwapSnapshot(swap, await self.legs(swap.id), found)

    async def swap_by_custody_account(self, account_id: str) -> SwapRecord | None:
        row = (
            await self._conn.execute(select(swaps).where(swaps.c.custody_account_id == account_id))
        ).first()
        return _swap(row) if row else None

    async def deposit_address_exists(self, address: str) -> bool:
        query = select(swaps.c.id).where(swaps.c.deposit_address == address).limit(1)
        return (await self._conn.execute(query)).first() is not None

    async def record_deposit_tx(self, deposit: DepositTx) -> bool:
        # One statement, so that two concurrent submissions of one tx cannot both insert (a
        # read-then-insert raised IntegrityError in the loser: a 500). A row comes back only
        # when it was inserted.
        result = await self._conn.execute(
            insert_ignoring_duplicates(self._conn, deposits, ("swap_id", "tx_hash"))
            .values(
                swap_id=deposit.swap_id,
                tx_hash=deposit.tx_hash,
                source="SUBMITTED",
                near_sender_account=deposit.near_sender_account,
                memo=deposit.memo,
                created_at=deposit.created_at,
            )
            .returning(deposits.c.id)
        )
        return result.first() is not None

    async def deposit_txs(self, swap_id: str) -> list[str]:
        query = select(deposits.c.tx_hash).where(deposits.c.swap_id == swap_id)
        return [str(r[0]) for r in (await self._conn.execute(query.order_by(deposits.c.id)))]


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
        hop (store/reads.py), elsewhere ``SqlSession.swap_snapshot`` in its own transaction."""
        if self.reader is not None:
            return await self.reader.swap_snapshot(address, memo)
        async with self.transaction() as tx:
            return await tx.swap_snapshot(address, memo)

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
