"""``SqlStore``: the ``Store`` port on SQLAlchemy Core (async), one connection per transaction."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import Row, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from oneclick.domain.engine import DepositRecord
from oneclick.domain.errors import Conflict, PermanentError
from oneclick.domain.records import (
    DepositTx,
    IntentKind,
    IntentRecord,
    IntentState,
    NewSwap,
)
from oneclick.domain.swaps import SwapRecord, SwapStatus
from oneclick.domain.transitions import REASON_DEPOSIT_SUBMITTED, REASON_QUOTED
from oneclick.services.ports import SwapSnapshot
from oneclick.store.accounts import SenderQueries, SqlAccountHistory, SqlUserSessions
from oneclick.store.any_input import AnyInputQueries, SqlAnyInputReads
from oneclick.store.custody import SqlCustodyAccounts
from oneclick.store.engine import (
    EngineQueries,
    engine_swap,
    insert_ignoring_duplicates,
    signed_intent_row,
)
from oneclick.store.partners import SqlPartners
from oneclick.store.reads import SNAPSHOT_DEPOSIT as _SNAPSHOT_DEPOSIT
from oneclick.store.reads import SNAPSHOTS_KEPT, SqliteReader
from oneclick.store.reconcile import ReconcileQueries
from oneclick.store.tables import deposits, intents, swaps
from oneclick.store.transitions import TransitionQueries, append_transition, locked_swap_state
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
    ``EngineSession`` ports): the swap's here, every other aggregate's in a repository of its
    own on the same connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self.custody = SqlCustodyAccounts(conn)
        self.partners = SqlPartners(conn)
        self.user_sessions = SqlUserSessions(conn)
        self.history = SqlAccountHistory(conn)
        self.webhooks = SqlWebhooks(conn)
        self.any_input = SqlAnyInputReads(conn)

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

    async def set_status(
        self, swap_id: str, status: SwapStatus, *, expected_version: int, now: datetime
    ) -> None:
        before = await locked_swap_state(self._conn, swap_id)
        result = await self._conn.execute(
            update(swaps)
            .where(swaps.c.id == swap_id, swaps.c.version == expected_version)
            .values(status=status.value, updated_at=now, version=swaps.c.version + 1)
        )
        if result.rowcount != 1 or before is None:
            raise Conflict(f"swap {swap_id} changed concurrently (version conflict)")
        if before.status != status.value:
            await append_transition(
                self._conn, swap_id, from_status=SwapStatus(before.status), to_status=status,
                at=now, reason=REASON_DEPOSIT_SUBMITTED,
            )  # fmt: skip

    async def add_intent(self, intent: IntentRecord) -> None:
        await self._conn.execute(insert(intents).values(**signed_intent_row(intent)))

    async def intent(self, intent_hash: str) -> IntentRecord | None:
        row = (
            await self._conn.execute(select(intents).where(intents.c.intent_hash == intent_hash))
        ).first()
        if row is None:
            return None
        m = row._mapping
        return IntentRecord(
            intent_hash=m["intent_hash"],
            swap_id=m["swap_id"],
            kind=IntentKind(m["kind"]),
            signer_id=m["signer_id"],
            nonce=m["nonce"],
            signed_data=m["signed_data"],
            state=IntentState(m["state"]),
            created_at=m["created_at"],
            quote_hashes=tuple(json.loads(m["quote_hashes"])),
        )

    async def set_intent_state(self, intent_hash: str, state: IntentState) -> None:
        await self._conn.execute(
            update(intents)
            .where(intents.c.intent_hash == intent_hash)
            .values(state=state.value, updated_at=datetime.now(UTC))
        )


class SqlStore:
    """The ``Store`` port: ``async with store.transaction() as tx`` commits on success."""

    def __init__(self, db: AsyncEngine, status_cache: int = SNAPSHOTS_KEPT) -> None:
        """``status_cache``: the deposit addresses whose last status snapshot the SQLite reader
        keeps (``api.status_cache``)."""
        self.db = db
        # On a SQLite file the status read skips aiosqlite's dozen thread hops (store/reads.py).
        self.reader: SqliteReader | None = None
        url = db.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            self.reader = SqliteReader(url, status_cache)
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

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlSession]:
        async with self.db.begin() as conn:
            yield SqlSession(conn)
