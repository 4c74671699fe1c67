"""Crash safety: a worker dies at every boundary of every external call (before the call, and
after it took effect but before its answer is used); a fresh worker takes over once the lease
expires. Every swap still ends exactly once, no intent executes twice, and every unit of the
deposit is accounted for: deposited = swapped (incl. fees) + refunded, received = delivered."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from oc_engine_kit import BTC, LEASE_S, USDT, Kit, custody_movements, make_kit
from sqlalchemy import select

from oneclick.domain.errors import ConfigurationError
from oneclick.domain.records import IntentKind, IntentState
from oneclick.services.engine import EngineContext
from oneclick.store.tables import worker_locks
from oneclick.workers.runner import SQLITE_LOCK, WorkerOptions


class Crash(BaseException):
    """The process dies here (not an ``Exception``: nothing in the engine may catch it)."""


@dataclasses.dataclass
class Fuse:
    at: int  # the n-th external call blows (0: never)
    after: bool  # after the call took effect
    calls: int = 0


class Crashing:
    """A port whose ``fuse.at``-th call (counted across all ports) kills the worker."""

    def __init__(self, inner: Any, fuse: Fuse) -> None:
        self._inner, self._fuse = inner, fuse

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            self._fuse.calls += 1
            blow = self._fuse.calls == self._fuse.at
            if blow and not self._fuse.after:
                raise Crash(name)
            try:
                result = await target(*args, **kwargs)
            except Exception:
                # The call answered with an error (the bridge's "Withdrawals not found"):
                # the process may die right after that answer too.
                if blow:
                    raise Crash(name) from None
                raise
            if blow:
                raise Crash(name)
            return result

        return call


def _crashing_worker(kit: Kit, fuse: Fuse) -> None:
    worker = kit.new_worker()
    ctx: EngineContext = worker.ctx
    worker.ctx = dataclasses.replace(
        ctx,
        relay=Crashing(ctx.relay, fuse),
        bridge=Crashing(ctx.bridge, fuse),
        verifier=Crashing(ctx.verifier, fuse),
    )


async def _scenario(tmp_path: Path, fuse: Fuse) -> tuple[Kit, dict[str, Any], bool]:
    kit = await make_kit(tmp_path)
    quote = await kit.quote()
    await kit.deposit(quote, 150_000)  # over-deposit: swap, payout and an excess refund
    _crashing_worker(kit, fuse)
    crashed = False
    try:
        await kit.drive()
    except* Crash:
        crashed = True
    kit.new_worker()  # restart: a new process, same database and world
    await kit.drive()
    return kit, quote, crashed


async def _check(kit: Kit, quote: dict[str, Any]) -> None:
    swap = await kit.swap(quote)
    assert swap.status.value == "SUCCESS", swap.last_error
    assert swap.phase.value == "DONE"
    async with kit.world.store.transaction() as tx:
        legs = await tx.swaps.legs(swap.id)
    settled = Counter(leg.kind for leg in legs if leg.state is IntentState.SETTLED)
    assert settled == {IntentKind.SWAP: 1, IntentKind.WITHDRAW: 1, IntentKind.REFUND: 1}
    assert all(leg.state in (IntentState.SETTLED, IntentState.DEAD) for leg in legs)
    ledger = kit.world.verifier.ledger
    executed = [h for _, h in ledger.executed]
    assert len(executed) == len(set(executed)), "an intent executed twice"
    ours = {leg.intent_hash for leg in legs if leg.state is IntentState.SETTLED}
    assert ours == {leg.intent_hash for leg in legs} & set(executed)
    # Conservation, to the unit, in the ledger and in what the service recorded.
    account = swap.custody_account_id
    moves = custody_movements(kit, account)
    assert kit.world.verifier.balances[(account, BTC)] == 0
    assert kit.world.verifier.balances[(account, USDT)] == 0
    deposited = moves[(BTC, "mint")]
    by_kind = {kind: [g for g in legs if g.kind is kind and g.state is IntentState.SETTLED]
               for kind in IntentKind}  # fmt: skip
    swapped = by_kind[IntentKind.SWAP][0].debits[BTC]
    refunded = by_kind[IntentKind.REFUND][0].debits[BTC]
    payout = by_kind[IntentKind.WITHDRAW][0]
    assert deposited == swap.deposited_amount == 150_000
    assert deposited == swapped + refunded
    assert -moves[(BTC, "token_diff")] - moves[(BTC, "transfer")] == swapped
    assert moves[(USDT, "token_diff")] == payout.debits[USDT] == -moves[(USDT, "withdraw")]
    assert payout.delivered == payout.debits[USDT] - 300_000
    details = (await kit.status(quote))["swapDetails"]
    assert details["amountOut"] == str(payout.delivered)
    assert int(details["refundedAmount"]) == refunded - 1900


async def test_a_clean_run_for_reference(tmp_path: Path) -> None:
    fuse = Fuse(at=0, after=False)
    kit, quote, crashed = await _scenario(tmp_path, fuse)
    assert not crashed
    assert fuse.calls > 10
    await _check(kit, quote)
    await kit.world.aclose()


CALLS_IN_A_CLEAN_RUN = 40  # checked below: every boundary of the run is covered


@pytest.mark.parametrize("after", [False, True], ids=["before-call", "after-call"])
async def test_crash_at_every_external_call(tmp_path: Path, after: bool) -> None:
    reference = Fuse(at=0, after=False)
    kit, _, _ = await _scenario(tmp_path / "ref", reference)
    await kit.world.aclose()
    assert reference.calls <= CALLS_IN_A_CLEAN_RUN
    for at in range(1, reference.calls + 1):
        fuse = Fuse(at=at, after=after)
        kit, quote, crashed = await _scenario(tmp_path / f"{at}", fuse)
        try:
            assert crashed, at
            await _check(kit, quote)
        finally:
            await kit.aclose()


# --- the SQLite worker lock after a crash ------------------------------------------------------


async def _holder(kit: Kit) -> str | None:
    async with kit.world.store.db.connect() as conn:
        row = (await conn.execute(select(worker_locks.c.owner))).first()
    return None if row is None else str(row[0])


async def test_a_new_worker_waits_out_the_sqlite_lock_of_a_killed_one(tmp_path: Path) -> None:
    """A SIGKILLed worker never lets go of the SQLite lock: its successor waits for the lease to
    run out (``lock_wait_s``) instead of refusing to start, then takes over."""
    kit = await make_kit(tmp_path)
    killed = kit.worker
    try:
        now = kit.clock.now()
        assert await killed.claims.acquire_lock(SQLITE_LOCK, killed.owner, now, LEASE_S)
        fresh = kit.new_worker("fresh")
        fresh.options = WorkerOptions(lease_s=LEASE_S, idle_s=0.001, lock_wait_s=LEASE_S)
        stop = asyncio.Event()
        running = asyncio.create_task(fresh.run(stop))
        for _ in range(100):  # it keeps trying (and waiting) while the lease runs
            await asyncio.sleep(0.001)
        assert not running.done()
        assert await _holder(kit) == killed.owner
        kit.clock.advance(timedelta(seconds=LEASE_S + 1))  # the killed worker's lease ran out
        for _ in range(2000):
            if await _holder(kit) == fresh.owner or running.done():
                break
            await asyncio.sleep(0.001)
        assert await _holder(kit) == fresh.owner
        stop.set()
        await running
        assert await _holder(kit) is None
    finally:
        await kit.aclose()


async def test_a_live_sqlite_worker_still_keeps_a_second_one_out(tmp_path: Path) -> None:
    """A holder that renews its lease is alive: after ``lock_wait_s`` the newcomer refuses."""
    kit = await make_kit(tmp_path)
    live = kit.worker
    try:
        assert await live.claims.acquire_lock(SQLITE_LOCK, live.owner, kit.clock.now(), LEASE_S)
        second = kit.new_worker("second")
        second.options = WorkerOptions(lease_s=LEASE_S, idle_s=0.001, lock_wait_s=LEASE_S)
        running = asyncio.create_task(second.run(asyncio.Event()))
        for _ in range(3):  # three leases pass; the live worker renews within each
            kit.clock.advance(timedelta(seconds=LEASE_S / 2))
            assert await live.claims.acquire_lock(SQLITE_LOCK, live.owner, kit.clock.now(),
                                                  LEASE_S)  # fmt: skip
            kit.clock.advance(timedelta(seconds=LEASE_S / 2))
            assert await live.claims.acquire_lock(SQLITE_LOCK, live.owner, kit.clock.now(),
                                                  LEASE_S)  # fmt: skip
        with pytest.raises(ConfigurationError, match="one worker"):
            await asyncio.wait_for(running, timeout=30)
        assert await _holder(kit) == live.owner
    finally:
        await kit.aclose()
