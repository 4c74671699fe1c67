"""The reconciliation on PostgreSQL: its lease on one swap excludes the workers' claims (and the
other way round), and a wrong token still comes back to ``refundTo``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from oc_engine_kit import BTC, BTC_REFUND, EVM_RECIPIENT, LEASE_S, USDT, make_kit

from oneclick.services.engine import EngineContext
from oneclick.store.claims import SqlClaims
from oneclick.workers.reconciler import Reconciler, ReconcilerOptions

ETH = "nep141:eth.omft.near"


@pytest.mark.postgres
async def test_the_reconciler_and_the_workers_never_hold_one_swap_together(
    tmp_path: Path, postgres_url: str
) -> None:
    kit = await make_kit(tmp_path, database_url=postgres_url)
    try:
        quote = await kit.quote(
            originAsset=ETH, amount=str(10**16), refundTo=EVM_RECIPIENT,
            destinationAsset=BTC, recipient=BTC_REFUND,
        )  # fmt: skip
        swap = await kit.swap(quote)
        claims = SqlClaims(kit.world.store.db)
        now = kit.clock.now()
        [claim] = await claims.claim("worker-a", now, LEASE_S, 10)
        async with kit.world.store.transaction() as tx:  # a worker holds it: no lease for us
            assert not await tx.reconcile.lease_swap(
                swap.id, "reconciler", now, now + timedelta(minutes=1)
            )
        await claims.release(claim, "worker-a", next_run_at=now, attempts=0, last_error=None)
        async with kit.world.store.transaction() as tx:
            assert await tx.reconcile.lease_swap(
                swap.id, "reconciler", now, now + timedelta(minutes=1)
            )
        assert await claims.claim("worker-a", now, LEASE_S, 10) == []  # and none for a worker
        async with kit.world.store.transaction() as tx:
            await tx.reconcile.unlease_swap(swap.id, "reconciler")
        [again] = await claims.claim("worker-a", now, LEASE_S, 10)
        assert again.swap_id == swap.id
        # Leases run on the database's clock here, not the test's: the worker hands it back.
        await claims.release(again, "worker-a", next_run_at=now, attempts=0, last_error=None)
        kit.clock.advance(timedelta(seconds=LEASE_S * 2))

        kit.world.bridge.deposit(swap.custody_account_id, USDT, 7_000_000)
        ctx = EngineContext.of(kit.world.ctx, kit.world.store, owner="rec", metrics=kit.metrics)
        reconciler = Reconciler(ctx, kit.world.store, claims, ReconcilerOptions(batch_pause_s=0))
        for _ in range(3):
            await reconciler.run_pass()
            kit.clock.advance(timedelta(minutes=1))
        [refund] = [w for w in kit.world.verifier.ledger.withdrawals if "dac17f" in w.token]
        assert (refund.amount, refund.memo) == (7_000_000, f"WITHDRAW_TO:{EVM_RECIPIENT}")
        entries = (await kit.status(quote))["swapDetails"]["deposits"]
        assert [e["status"] for e in entries] == ["refunded"]
    finally:
        await kit.aclose()
