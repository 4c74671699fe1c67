"""The custody account pool: workers (which hold the master secret) derive accounts ahead of
need, so that the API (which does not) can hand one to each non-dry quote."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from oneclick.services.ports import Custody, CustodyAccounts

BATCH = 16  # accounts derived per transaction (a derivation is about a millisecond)


class CustodySession(Protocol):
    @property
    def custody(self) -> CustodyAccounts: ...


class CustodyStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[CustodySession]: ...


async def top_up_custody_pool(
    store: CustodyStore, custody: Custody, target: int, now: datetime
) -> int:
    """Derive accounts until ``target`` wait in the pool; how many were added. Concurrent
    workers may overshoot a little, which costs nothing: an index is never handed out twice."""
    async with store.transaction() as tx:
        missing = target - await tx.custody.free_count()
    added = 0
    while added < missing:
        count = min(BATCH, missing - added)
        async with store.transaction() as tx:
            for _ in range(count):
                index = await tx.custody.reserve_index()
                await tx.custody.record(custody.account(index), now)
        added += count
    return added
