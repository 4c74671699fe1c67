"""The custody account pool: workers (which hold the master secret) derive accounts ahead of
need, so that the API (which does not) can hand one to each non-dry quote."""

from __future__ import annotations

from datetime import datetime

from oneclick.services.ports import Custody, EngineStore

BATCH = 16  # accounts derived per transaction (a derivation is about a millisecond)


async def top_up_custody_pool(
    store: EngineStore, custody: Custody, target: int, now: datetime
) -> int:
    """Derive accounts until ``target`` wait in the pool; how many were added. Concurrent
    workers may overshoot a little, which costs nothing: an index is never handed out twice."""
    async with store.transaction() as tx:
        missing = target - await tx.free_custody_accounts()
    added = 0
    while added < missing:
        count = min(BATCH, missing - added)
        async with store.transaction() as tx:
            for _ in range(count):
                index = await tx.reserve_custody_index()
                await tx.record_custody_account(custody.account(index), now)
        added += count
    return added
