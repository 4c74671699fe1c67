"""Work claiming: on PostgreSQL two workers (separate pools and sessions) share 100 swaps and
never step the same swap at once; on SQLite a second worker refuses to start."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from oc_engine_kit import StepLog, make_kit

from oneclick.domain.errors import ConfigurationError
from oneclick.services.engine import EngineContext
from oneclick.store.claims import SqlClaims
from oneclick.store.database import connect_database
from oneclick.store.sql import SqlStore
from oneclick.workers.runner import SQLITE_LOCK, Worker, WorkerOptions

SWAPS = 100


@pytest.mark.postgres
async def test_two_workers_share_the_swaps_without_overlap(
    tmp_path: Path, postgres_url: str
) -> None:
    kit = await make_kit(tmp_path, database_url=postgres_url, custody_pool=SWAPS)
    second = connect_database(postgres_url)
    log = StepLog()
    workers = []
    for name, db in (("w1", kit.world.store.db), ("w2", second)):
        store = SqlStore(db)
        ctx = EngineContext.of(kit.world.ctx, store, owner=name, metrics=kit.metrics)
        options = WorkerOptions(lease_s=60, batch=10, concurrency=5)
        workers.append(Worker(ctx, SqlClaims(db), options, observer=log))
    try:
        quotes = [await kit.quote(amount=str(100_000 + i)) for i in range(SWAPS)]
        for i, quote in enumerate(quotes):
            await kit.deposit(quote, 100_000 + i)
        until = kit.clock.now() + timedelta(hours=30)
        for _ in range(2000):
            claimed = await asyncio.gather(*(w.run_once() for w in workers))
            if sum(claimed):
                continue
            due = await kit.next_due()
            if due is None or due > until:
                break
            kit.clock.set(max(due, kit.clock.now()))
        assert log.overlaps == []
        owners = {owner for _, _, owner in log.events}
        assert owners == {"w1", "w2"}
        for quote in quotes:
            swap = await kit.swap(quote)
            assert (swap.status.value, swap.phase.value) == ("SUCCESS", "DONE")
        executed = [h for _, h in kit.world.verifier.ledger.executed]
        assert len(executed) == len(set(executed)) == 2 * SWAPS
    finally:
        await second.dispose()
        await kit.aclose()


async def test_sqlite_allows_one_worker(tmp_path: Path) -> None:
    kit = await make_kit(tmp_path)
    first = kit.worker
    second = kit.new_worker("second")
    try:
        # The first worker holds the lock (as its run loop does, renewed every round).
        assert await first.claims.acquire_lock(SQLITE_LOCK, first.owner, kit.clock.now(), 60)
        with pytest.raises(ConfigurationError, match="one worker"):
            await second.run(asyncio.Event())
        await first.claims.release_lock(SQLITE_LOCK, first.owner)
        stop = asyncio.Event()
        stop.set()
        await second.run(stop)  # free again: it starts, stops at once and lets go
        assert await first.claims.acquire_lock(SQLITE_LOCK, first.owner, kit.clock.now(), 60)
    finally:
        await kit.aclose()
