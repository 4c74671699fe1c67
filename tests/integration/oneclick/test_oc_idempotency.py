"""Idempotent writes under concurrency, on SQLite and PostgreSQL: the same deposit tx recorded by
two transactions at once (the user's ``/v0/deposit/submit`` twice, or it and the engine's bridge
poll) yields one row and no error; a version conflict between ``/v0/deposit/submit`` and the
engine is retried inside the service (never a 502)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from oc_helpers import ON_BOTH_DATABASES, quote_request
from sqlalchemy import select, text

from oneclick.api.app import create_app
from oneclick.domain.engine import DepositRecord
from oneclick.domain.records import DepositTx
from oneclick.domain.swaps import SwapRecord, SwapStatus
from oneclick.store.sql import SqlSession, SqlStore
from oneclick.store.swaps import SqlSwaps
from oneclick.store.tables import deposits
from oneclick.testing.world import FakeWorld

TX = "ab" * 32


pytestmark = ON_BOTH_DATABASES


def _client(world: FakeWorld) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(world.ctx))
    return httpx.AsyncClient(transport=transport, base_url="http://oneclick")


async def _swap(world: FakeWorld) -> SwapRecord:
    async with _client(world) as client:
        response = await client.post("/v0/quote", json=quote_request())
    assert response.status_code == 200, response.text
    async with world.store.transaction() as tx:
        swap = await tx.swaps.by_deposit(response.json()["quote"]["depositAddress"], None)
    assert swap is not None
    return swap


async def _blocked_on_a_lock(store: SqlStore) -> bool:
    """PostgreSQL: some backend waits for a lock (our second writer queued behind the first)."""
    async with store.db.connect() as conn:
        waiting = await conn.execute(text("select count(*) from pg_locks where not granted"))
        return int(waiting.scalar_one()) > 0


async def _second_writer_waits(store: SqlStore, task: asyncio.Task[object]) -> None:
    """Let the second transaction reach its insert while the first still holds its row. On
    PostgreSQL we wait until it is queued on the lock; SQLite has no such view, so it gets the
    loop (its insert then waits on the database lock, busy_timeout)."""
    for _ in range(500):
        if task.done():
            return
        if store.db.dialect.name == "postgresql":
            if await _blocked_on_a_lock(store):
                return
        else:
            await asyncio.sleep(0)
            return
        await asyncio.sleep(0.01)  # polling a condition, bounded above
    raise AssertionError("the second writer never reached the database")


async def _rows(store: SqlStore, swap_id: str) -> list[tuple[str, str, int | None]]:
    async with store.db.connect() as conn:
        rows = await conn.execute(
            select(deposits.c.tx_hash, deposits.c.source, deposits.c.amount).where(
                deposits.c.swap_id == swap_id
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_the_same_deposit_tx_recorded_concurrently_is_one_row(world: FakeWorld) -> None:
    swap = await _swap(world)
    now = world.clock.now()
    async with world.store.transaction() as first:
        assert await first.swaps.record_deposit_tx(DepositTx(swap.id, TX, None, None, now))

        async def second() -> bool:
            async with world.store.transaction() as tx:
                return await tx.swaps.record_deposit_tx(DepositTx(swap.id, TX, None, None, now))

        racing = asyncio.create_task(second())
        await _second_writer_waits(world.store, racing)  # type: ignore[arg-type]
    assert await racing is False
    assert await _rows(world.store, swap.id) == [(TX, "SUBMITTED", None)]


async def test_a_bridge_deposit_racing_a_submission_updates_the_one_row(
    world: FakeWorld,
) -> None:
    swap = await _swap(world)
    now = world.clock.now()
    seen = DepositRecord(TX, "BRIDGE", "btc:mainnet", 10_000, "COMPLETED", now)
    async with world.store.transaction() as first:
        assert await first.swaps.record_deposit_tx(DepositTx(swap.id, TX, None, None, now))

        async def engine_sees_it() -> None:
            async with world.store.transaction() as tx:
                await tx.swaps.record_bridge_deposit(swap.id, seen)

        racing = asyncio.create_task(engine_sees_it())
        await _second_writer_waits(world.store, racing)  # type: ignore[arg-type]
    await racing
    assert await _rows(world.store, swap.id) == [(TX, "SUBMITTED", 10_000)]
    async with world.store.transaction() as tx:  # and once more, as a later poll would
        await tx.swaps.record_bridge_deposit(swap.id, dataclasses.replace(seen, amount=10_001))
    assert await _rows(world.store, swap.id) == [(TX, "SUBMITTED", 10_001)]


async def test_many_concurrent_submissions_all_answer_200(world: FakeWorld) -> None:
    swap = await _swap(world)
    submit = {"txHash": TX, "depositAddress": swap.deposit_address}
    async with _client(world) as client:
        answers = await asyncio.gather(
            *(client.post("/v0/deposit/submit", json=submit) for _ in range(8))
        )
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    assert await _rows(world.store, swap.id) == [(TX, "SUBMITTED", None)]


class _EngineMovesFirst(SqlSwaps):
    """A swap repository in which, the first time a deposit tx is recorded, the engine (another
    connection) has just moved the swap on: the submission's version is stale."""

    moved: list[str]
    store: SqlStore

    async def record_deposit_tx(self, deposit: DepositTx) -> bool:
        if not self.moved:
            self.moved.append(deposit.swap_id)
            async with self.store.transaction() as engine_tx:
                moving = await engine_tx.swaps.load(deposit.swap_id)
                assert moving is not None
                moving.move_to(SwapStatus.PROCESSING)
                await engine_tx.swaps.save(moving, deposit.created_at)
        return await super().record_deposit_tx(deposit)


class _RacingStore(SqlStore):
    def __init__(self, store: SqlStore) -> None:
        super().__init__(store.db)
        self.moved: list[str] = []

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlSession]:
        async with self.db.begin() as conn:
            session = SqlSession(conn)
            session.swaps = swaps = _EngineMovesFirst(conn)
            swaps.moved, swaps.store = self.moved, SqlStore(self.db)
            yield session


async def test_a_version_conflict_with_the_engine_is_retried_not_a_502(
    world: FakeWorld,
) -> None:
    swap = await _swap(world)
    racing = _RacingStore(world.store)
    world.ctx = dataclasses.replace(world.ctx, store=racing)
    async with _client(world) as client:
        answer = await client.post(
            "/v0/deposit/submit", json={"txHash": TX, "depositAddress": swap.deposit_address}
        )
    assert racing.moved == [swap.id]  # the race did happen
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "PROCESSING"  # the engine's status, read again
    assert await _rows(world.store, swap.id) == [(TX, "SUBMITTED", None)]
