"""On PostgreSQL leases are judged by the database's clock, not each worker's: a worker whose
clock runs hours ahead can neither steal a live lease nor lose its own to its skew."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from oc_engine_kit import make_kit

from oneclick.services.ports import LeaseLost
from oneclick.store.claims import SqlClaims

pytestmark = pytest.mark.postgres
SKEW = timedelta(hours=2)


async def test_a_skewed_worker_clock_neither_steals_nor_loses_a_lease(
    tmp_path: Path, postgres_url: str
) -> None:
    kit = await make_kit(tmp_path, database_url=postgres_url)
    try:
        quote = await kit.quote()
        swap_id = (await kit.swap(quote)).id
        claims = SqlClaims(kit.world.store.db)
        honest = datetime.now(UTC)
        [claim] = await claims.claim("honest", honest, 60, 10)
        assert abs(claim.lease_until - (honest + timedelta(seconds=60))) < timedelta(seconds=30)
        # A worker two hours ahead: by its own clock the lease ran out long ago.
        assert await claims.claim("ahead", honest + SKEW, 60, 10) == []
        assert not await claims.renew(swap_id, "ahead", honest + SKEW, 60)
        async with kit.world.store.transaction() as tx:
            with pytest.raises(LeaseLost):
                await tx.swaps.fence(swap_id, "ahead", honest + SKEW)
        # The holder itself, were its clock the one ahead, still holds the lease.
        async with kit.world.store.transaction() as tx:
            assert (await tx.swaps.fence(swap_id, "honest", honest + SKEW)).id == swap_id
        assert await claims.renew(swap_id, "honest", honest + SKEW, 60)
        assert await claims.acquire_lock("lock", "honest", honest, 60)
        assert not await claims.acquire_lock("lock", "ahead", honest + SKEW, 60)
    finally:
        await kit.aclose()
