"""The worker survives faults: loop-level database errors (claiming, the attention report, the
SQLite lock, renewals, releases) are retried with backoff; a failing step leaves its siblings
alone; a lost lease stops that swap's step, not the worker."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from oc_engine_kit import Kit, make_kit
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from oneclick.domain.sessions import UserSession
from oneclick.domain.swap_aggregate import Swap
from oneclick.services.engine import EngineContext, StepResult
from oneclick.services.ports import Claim, StepWrite
from oneclick.services.sessions import EXPIRED_KEPT
from oneclick.store.claims import SqlClaims
from oneclick.store.sql import SqlSession, SqlStore
from oneclick.store.swaps import SqlSwaps
from oneclick.store.tables import swaps
from oneclick.workers.runner import Worker, WorkerOptions, backoff_s

FAST = WorkerOptions(
    lease_s=60, batch=10, idle_s=0.01, error_backoff_s=0.01, error_backoff_max_s=0.05,
    attention_every_s=3600, lock_wait_s=60,
)  # fmt: skip
HOUR = timedelta(hours=1)


def _db_away() -> OperationalError:
    return OperationalError("SELECT 1", None, ConnectionError("the database went away"))


class FlakyClaims(SqlClaims):
    """The real claims; the first ``fail[method]`` calls of a method raise a database error,
    and ``refuse`` lists the swaps whose renewals report the lease as someone else's."""

    def __init__(self, claims: SqlClaims, **fail: int) -> None:
        super().__init__(claims._db)
        self.fail = Counter(fail)
        self.calls: Counter[str] = Counter()
        self.refuse: set[str] = set()

    def _maybe_fail(self, method: str) -> None:
        self.calls[method] += 1
        if self.fail[method] > 0:
            self.fail[method] -= 1
            raise _db_away()

    async def claim(self, owner: str, now: datetime, lease_s: float, limit: int) -> list[Claim]:
        self._maybe_fail("claim")
        # Without the rows: the worker reads each swap through its store (with a fence), where
        # ``FlakyStore`` can fail or hold one swap's step.
        return [replace(c, swap=None) for c in await super().claim(owner, now, lease_s, limit)]

    async def renew(self, swap_id: str, owner: str, now: datetime, lease_s: float) -> bool:
        self._maybe_fail("renew")
        if swap_id in self.refuse:
            return False
        return await super().renew(swap_id, owner, now, lease_s)

    async def release(self, claim: Claim, owner: str, **kw: Any) -> bool:
        self._maybe_fail("release")
        return await super().release(claim, owner, **kw)

    async def write(
        self, owner: str, now: datetime, writes: Sequence[StepWrite]
    ) -> list[bool | Exception]:
        if any(w.release is not None for w in writes):  # the steps' releases
            self._maybe_fail("release")
        return await super().write(owner, now, writes)

    async def acquire_lock(self, name: str, owner: str, now: datetime, lease_s: float) -> bool:
        self._maybe_fail("acquire_lock")
        return await super().acquire_lock(name, owner, now, lease_s)


Fence = Callable[[str], Awaitable[None]]


class FlakyStore(SqlStore):
    """The real store; the first ``fail_transactions`` transactions fail to open, and
    ``before_fence`` runs before each fence (to fail or hold one swap's step)."""

    def __init__(self, store: SqlStore, fail_transactions: int = 0) -> None:
        super().__init__(store.db)
        self.fail_transactions = fail_transactions
        self.before_fence: Fence | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlSession]:
        if self.fail_transactions > 0:
            self.fail_transactions -= 1
            raise _db_away()
        async with self.db.begin() as conn:
            session = _FencedSession(conn)
            session.before_fence = self.before_fence
            yield session


class _FencedSession(SqlSession):
    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn)
        self.swaps = _FencedSwaps(conn)

    @property
    def before_fence(self) -> Fence | None:
        return self.swaps.before_fence

    @before_fence.setter
    def before_fence(self, hook: Fence | None) -> None:
        self.swaps.before_fence = hook


class _FencedSwaps(SqlSwaps):
    before_fence: Fence | None = None

    async def fence(self, swap_id: str, owner: str, now: datetime) -> Swap:
        if self.before_fence is not None:
            await self.before_fence(swap_id)
        return await super().fence(swap_id, owner, now)


class Results:
    """The step observer: every finished step's result (None: no result, the step failed or
    was stopped)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: dict[str, StepResult | None] = {}


class _Observer:
    def __init__(self, results: Results) -> None:
        self.results = results

    def started(self, swap_id: str, owner: str) -> None:
        self.results.started.append(swap_id)

    def finished(self, swap_id: str, owner: str, result: StepResult | None) -> None:
        self.results.finished[swap_id] = result


def _worker(
    kit: Kit, store: SqlStore, claims: SqlClaims, options: WorkerOptions
) -> tuple[Worker, Results]:
    ctx = EngineContext.of(kit.world.ctx, store, owner="flaky", metrics=kit.metrics)
    results = Results()
    return Worker(ctx, claims, options, observer=_Observer(results)), results


async def _until(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - polls state owned by other tasks
            await asyncio.sleep(0.01)
    assert condition(), what


async def _swaps(kit: Kit, count: int) -> list[str]:
    ids = []
    for i in range(count):
        quote = await kit.quote(amount=str(10_000 + i))
        await kit.deposit(quote, 10_000 + i)
        ids.append((await kit.swap(quote)).id)
    return ids


async def _lease_owner(kit: Kit, swap_id: str) -> str | None:
    async with kit.world.store.db.connect() as conn:
        row = await conn.execute(select(swaps.c.lease_owner).where(swaps.c.id == swap_id))
        owner: str | None = row.scalar_one()
        return owner


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_s(FAST, n) for n in (1, 2, 3, 4, 5)] == [0.01, 0.02, 0.04, 0.05, 0.05]


async def test_loop_level_database_errors_are_retried_and_the_worker_keeps_working(
    tmp_path: Path,
) -> None:
    kit = await make_kit(tmp_path)
    try:
        [swap_id] = await _swaps(kit, 1)
        store = FlakyStore(kit.world.store, fail_transactions=1)  # the first attention report
        claims = FlakyClaims(SqlClaims(kit.world.store.db), acquire_lock=2, claim=2)
        worker, results = _worker(kit, store, claims, FAST)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        await _until(
            lambda: results.finished.get(swap_id) is not None or running.done(),
            "the swap was stepped",
        )
        assert not running.done(), running.exception()
        assert claims.calls["acquire_lock"] >= 3
        assert claims.calls["claim"] >= 3
        assert store.fail_transactions == 0
        stop.set()
        await running
    finally:
        await kit.aclose()


async def test_a_failing_step_does_not_cancel_its_siblings(tmp_path: Path) -> None:
    kit = await make_kit(tmp_path)
    try:
        broken, healthy = await _swaps(kit, 2)
        store = FlakyStore(kit.world.store)

        async def fail_one(swap_id: str) -> None:
            if swap_id == broken:
                raise _db_away()

        store.before_fence = fail_one
        worker, results = _worker(kit, store, FlakyClaims(SqlClaims(kit.world.store.db)), FAST)
        assert await worker.run_once() == 2
        finished = results.finished
        assert finished[broken] is None  # failed outside the engine: its lease runs out
        assert finished[healthy] is not None
        assert finished[healthy].outcome == "ok"
        assert await _lease_owner(kit, broken) == "flaky"
        assert await _lease_owner(kit, healthy) is None  # released with its next run
    finally:
        await kit.aclose()


async def test_a_lost_lease_stops_that_swap_only(tmp_path: Path) -> None:
    kit = await make_kit(tmp_path)
    try:
        held, healthy = await _swaps(kit, 2)
        store = FlakyStore(kit.world.store)
        hold = asyncio.Event()  # never set: the held swap's step hangs until cancelled

        async def hang_one(swap_id: str) -> None:
            if swap_id == held:
                await hold.wait()

        store.before_fence = hang_one
        claims = FlakyClaims(SqlClaims(kit.world.store.db))
        claims.refuse.add(held)
        options = WorkerOptions(lease_s=0.3, batch=10, error_backoff_s=0.01)
        worker, results = _worker(kit, store, claims, options)
        async with asyncio.timeout(20):
            assert await worker.run_once() == 2
        finished = results.finished
        assert finished[held] is None
        assert finished[healthy] is not None
        assert finished[healthy].outcome == "ok"
    finally:
        await kit.aclose()


async def test_renewal_errors_are_retried_while_the_lease_lasts(tmp_path: Path) -> None:
    kit = await make_kit(tmp_path)
    try:
        [_swap_id] = await _swaps(kit, 1)
        claims = FlakyClaims(SqlClaims(kit.world.store.db), renew=1)
        options = WorkerOptions(lease_s=0.6, error_backoff_s=0.01)
        worker, _ = _worker(kit, kit.world.store, claims, options)
        [claim] = await claims.claim("flaky", kit.clock.now(), options.lease_s, 1)
        step = asyncio.create_task(asyncio.Event().wait())
        lost: list[str] = []
        heartbeat = asyncio.create_task(worker._renew(claim, step, lost))
        # One failed renewal, then renewals that hold, well past the first lease's end.
        await _until(lambda: claims.calls["renew"] >= 6 or step.done(), "renewals")
        assert not step.done()
        assert lost == []
        heartbeat.cancel()
        step.cancel()
        await asyncio.gather(heartbeat, step, return_exceptions=True)
    finally:
        await kit.aclose()


async def test_a_lease_that_cannot_be_renewed_before_it_ends_stops_the_step(
    tmp_path: Path,
) -> None:
    kit = await make_kit(tmp_path)
    try:
        [swap_id] = await _swaps(kit, 1)
        claims = FlakyClaims(SqlClaims(kit.world.store.db), renew=10**6)
        options = WorkerOptions(lease_s=0.3, error_backoff_s=0.01)
        worker, _ = _worker(kit, kit.world.store, claims, options)
        [claim] = await claims.claim("flaky", kit.clock.now(), options.lease_s, 1)
        step = asyncio.create_task(asyncio.Event().wait())
        lost: list[str] = []
        async with asyncio.timeout(20):
            await worker._renew(claim, step, lost)
        assert lost == [swap_id]
        assert claims.calls["renew"] >= 2  # retried before giving up
        await asyncio.gather(step, return_exceptions=True)
        assert step.cancelled()
    finally:
        await kit.aclose()


async def test_a_failed_release_is_retried(tmp_path: Path) -> None:
    kit = await make_kit(tmp_path)
    try:
        [swap_id] = await _swaps(kit, 1)
        claims = FlakyClaims(SqlClaims(kit.world.store.db), release=2)
        worker, _ = _worker(kit, kit.world.store, claims, FAST)
        assert await worker.run_once() == 1
        assert claims.calls["release"] == 3
        assert await _lease_owner(kit, swap_id) is None
    finally:
        await kit.aclose()


async def test_the_worker_keeps_the_custody_pool_topped_up(tmp_path: Path) -> None:
    kit = await make_kit(tmp_path, custody_pool=0)
    try:
        claims = FlakyClaims(SqlClaims(kit.world.store.db))
        options = WorkerOptions(custody_pool=5, pool_check_s=0)
        worker, _ = _worker(kit, kit.world.store, claims, options)
        await worker.run_once()
        async with kit.world.store.transaction() as tx:
            assert await tx.custody.free_count() == 5
        await kit.quote()  # the API takes one; the next batch puts one back
        async with kit.world.store.transaction() as tx:
            assert await tx.custody.free_count() == 4
        await worker.run_once()
        async with kit.world.store.transaction() as tx:
            assert await tx.custody.free_count() == 5
    finally:
        await kit.aclose()


async def test_the_worker_deletes_user_sessions_expired_a_day_ago(tmp_path: Path) -> None:
    kit = await make_kit(tmp_path)
    try:
        now = kit.world.clock.now()
        ends = {"old": now - EXPIRED_KEPT - timedelta(seconds=1), "recent": now, "live": now + HOUR}
        async with kit.world.store.transaction() as tx:
            for name, expires_at in ends.items():
                await tx.user_sessions.add(
                    UserSession(
                        id=name, account_id="dave.near", public_key="ed25519:x",
                        standard="nep413", auth_nonce=name, refresh_digest="d",
                        created_at=expires_at - HOUR, expires_at=expires_at,
                    )
                )  # fmt: skip
        claims = FlakyClaims(SqlClaims(kit.world.store.db))
        worker, _ = _worker(kit, kit.world.store, claims, replace(FAST, session_prune_s=3600))
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))

        async def kept() -> set[str]:
            async with kit.world.store.transaction() as tx:
                return {name for name in ends if await tx.user_sessions.get(name) is not None}

        async with asyncio.timeout(20):
            while await kept() != {"recent", "live"} and not running.done():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        assert not running.done(), running.exception()
        assert await kept() == {"recent", "live"}
        stop.set()
        await running
    finally:
        await kit.aclose()
