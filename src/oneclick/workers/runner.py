"""The worker: claim due swaps with a lease, run one step each, release them with their next
run. The lease is renewed while a step runs; on stop the current steps get ``stop_grace`` to
finish and are otherwise cancelled and handed back (due at once) for another worker.

On SQLite only one worker may run: it holds the ``sqlite-worker`` lock for as long as it runs
and a second one refuses to start. A worker that died without letting go (SIGKILL, power loss)
keeps the lock until its lease runs out, so a new worker waits up to ``lock_wait_s`` (one lease,
as configured) before concluding that another worker is alive. On PostgreSQL any number run side
by side (``SKIP LOCKED``).

The worker also keeps ``custody_pool`` pre-derived custody accounts free for the API (which
holds no master secret), topping the pool up before a batch (at most every ``pool_check_s``),
and deletes expired user sessions every ``session_prune_s``.

Faults do not end the worker: every loop-level database or peer error (claiming, the attention
report, the SQLite lock, a renewal, a release) is logged and retried with exponential backoff
(``error_backoff_s`` doubling up to ``error_backoff_max_s``). A step that fails outside the
engine's own handling (a database error in its fence, say) touches no other step; its swap is
simply claimed again when its lease runs out. A lease that is lost, or that cannot be renewed
before it runs out, stops that swap's step and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from oneclick.domain.errors import ConfigurationError, Conflict
from oneclick.services.custody_pool import top_up_custody_pool
from oneclick.services.engine import EngineContext, StepResult, advance_swap
from oneclick.services.engine.admin import stuck_swaps
from oneclick.services.engine.core import report_if_stuck
from oneclick.services.engine.unit import StepStore
from oneclick.services.ports import Apply, Claim, Claims, LeaseLost, Release, StepWrite
from oneclick.services.sessions import prune_user_sessions
from oneclick.workers.commits import GroupCommitter

logger = logging.getLogger(__name__)

SQLITE_LOCK = "sqlite-worker"


class StepObserver(Protocol):
    """Sees every step start and end (tests build a step log from it)."""

    def started(self, swap_id: str, owner: str) -> None: ...

    def finished(self, swap_id: str, owner: str, result: StepResult | None) -> None: ...


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    lease_s: float = 60.0
    batch: int = 20
    concurrency: int = 8
    idle_s: float = 1.0  # wait between polls when nothing is due
    stop_grace_s: float = 20.0
    attention_every_s: float = 300.0
    lock_wait_s: float = 0.0  # SQLite: how long a held worker lock may be waited for
    error_backoff_s: float = 0.5  # first wait after a loop-level error; doubles per failure
    error_backoff_max_s: float = 30.0
    custody_pool: int = 32  # pre-derived custody accounts kept free for the API's quotes
    pool_check_s: float = 1.0  # how often (at most) the pool is counted and topped up
    session_prune_s: float = 3600.0  # how often expired user sessions are deleted


def backoff_s(options: WorkerOptions, failures: int) -> float:
    """The wait after ``failures`` consecutive loop-level errors (1, 2, …): exponential, capped."""
    return float(
        min(options.error_backoff_s * 2 ** max(failures - 1, 0), options.error_backoff_max_s)
    )


def new_owner() -> str:
    return f"worker-{uuid.uuid4().hex[:12]}"


class Worker:
    def __init__(
        self,
        ctx: EngineContext,
        claims: Claims,
        options: WorkerOptions | None = None,
        observer: StepObserver | None = None,
    ) -> None:
        self.ctx = ctx
        self.claims = claims
        self.options = options or WorkerOptions()
        self.observer = observer
        self._semaphore = asyncio.Semaphore(self.options.concurrency)
        self._next_pool_check = float("-inf")
        self.committer = GroupCommitter(claims, ctx.owner, ctx.clock)

    @property
    def owner(self) -> str:
        return self.ctx.owner

    async def run_once(self) -> int:
        """Top up the custody pool, claim one batch of due swaps and step each once; how many
        were claimed. Only the claim itself can raise: a step's failure never cancels its
        siblings, and a failed top-up is logged and tried again next time."""
        await self._top_up_pool()
        now = self.ctx.clock.now()
        claims = await self.claims.claim(self.owner, now, self.options.lease_s, self.options.batch)
        if claims:
            async with asyncio.TaskGroup() as group:
                for claim in claims:
                    group.create_task(self._step(claim))
        return len(claims)

    async def _top_up_pool(self) -> None:
        now = asyncio.get_running_loop().time()
        if now < self._next_pool_check:
            return  # counting the pool before every batch would cost a query each time
        self._next_pool_check = now + self.options.pool_check_s
        try:
            added = await top_up_custody_pool(
                self.ctx.store, self.ctx.custody, self.options.custody_pool, self.ctx.clock.now()
            )
        except Exception:  # the loop top of the pool: the next batch tries again
            logger.exception("topping up the custody pool failed", extra={"action": "pool"})
            return
        if added:
            logger.info("custody pool topped up with %d accounts", added,
                        extra={"action": "pool"})  # fmt: skip

    async def _prune_user_sessions(self) -> None:
        try:
            await prune_user_sessions(self.ctx.store, self.ctx.clock.now())
        except Exception:  # housekeeping at the loop top: tried again at the next interval
            logger.exception(
                "pruning expired user sessions failed", extra={"action": "user_session"}
            )

    async def _renew(self, claim: Claim, step: asyncio.Task[StepResult], lost: list[str]) -> None:
        """Renew every third of a lease. A renewal that fails (the database is away) is retried
        until the lease would have run out; then, as when someone else holds it, the step is
        cancelled: another worker may already be running it."""
        loop = asyncio.get_running_loop()
        lease_s = self.options.lease_s
        expires = loop.time() + lease_s  # our own, conservative view of the lease
        failures = 0
        while True:
            wait = lease_s / 3 if failures == 0 else backoff_s(self.options, failures)
            await asyncio.sleep(min(wait, max(expires - loop.time(), 0.0)))
            asked = loop.time()
            try:
                held = await self.claims.renew(
                    claim.swap_id, self.owner, self.ctx.clock.now(), lease_s
                )
            except Exception as exc:  # the loop top of the heartbeat: retried until expiry
                failures += 1
                if loop.time() < expires:
                    logger.warning("lease renewal failed (will retry): %s", exc,
                                   extra={"action": "lease", "swap_id": claim.swap_id})  # fmt: skip
                    continue
                held = False
            if held:
                failures, expires = 0, asked + lease_s
                continue
            logger.warning("lease lost mid-step: stopping this swap's step",
                           extra={"action": "lease", "swap_id": claim.swap_id})  # fmt: skip
            lost.append(claim.swap_id)
            step.cancel()
            return

    async def _step(self, claim: Claim) -> None:
        async with self._semaphore:
            if self.observer:
                self.observer.started(claim.swap_id, self.owner)
            result: StepResult | None = None
            lost: list[str] = []
            try:
                step = asyncio.create_task(self._advance(claim))
                heartbeat = asyncio.create_task(self._renew(claim, step, lost))
                try:
                    result = await step
                finally:
                    heartbeat.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await heartbeat
            except LeaseLost:
                return
            except asyncio.CancelledError:
                if lost and not self._stopping():
                    return  # our heartbeat gave the swap up; the worker goes on
                # Stopping: hand the swap back, due at once, for whoever runs next.
                await asyncio.shield(self._hand_back(claim))
                raise
            except Exception:  # the loop top of one step: its siblings go on
                logger.exception(
                    "step failed outside the engine; the swap is retried when its lease runs out",
                    extra={"action": "worker", "swap_id": claim.swap_id},
                )  # fmt: skip
                return
            finally:
                if self.observer:
                    self.observer.finished(claim.swap_id, self.owner, result)
            await self._release(claim, result)

    async def _advance(self, claim: Claim) -> StepResult:
        swap = claim.swap
        if swap is None:  # a claim without its row: read it, fenced
            async with self.ctx.store.transaction() as tx:
                swap = (await tx.swaps.fence(claim.swap_id, self.owner, self.ctx.clock.now())).state

        async def commit_point(apply: Apply) -> bool:
            written = await self.committer.write(StepWrite(claim, apply, None))
            if isinstance(written, Exception):
                raise written
            return written

        unit = StepStore(
            self.ctx.store, swap, commit_point, legs=claim.legs, deposits=claim.deposits
        )
        return await advance_swap(self.ctx, unit)

    def _stopping(self) -> bool:
        task = asyncio.current_task()
        return task is not None and task.cancelling() > 0

    async def _release(self, claim: Claim, result: StepResult) -> None:
        """Write the step's writes and its outcome in one transaction (grouped with its
        neighbours'), retrying a failed commit while the lease lasts (after that the swap is
        claimed again and the step, idempotent, redone). Writes the database refuses are
        dropped and counted as the step's failure."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.options.lease_s
        failures = 0
        write = StepWrite(
            claim, result.apply, Release(result.next_run_at, result.attempts, result.last_error)
        )
        while True:
            try:
                written = await self.committer.write(write)
            except Exception as exc:  # the loop top of a release: retried, then left to expire
                failures += 1
                wait = backoff_s(self.options, failures)
                if loop.time() + wait >= give_up:
                    logger.error("releasing the swap failed; it is retried when its lease runs "
                                 "out: %s", exc,
                                 extra={"action": "worker", "swap_id": claim.swap_id})  # fmt: skip
                    return
                logger.warning("releasing the swap failed (will retry): %s", exc,
                               extra={"action": "worker", "swap_id": claim.swap_id})  # fmt: skip
                await asyncio.sleep(wait)
                continue
            if not isinstance(written, Exception):
                return
            if isinstance(written, Conflict):
                # Someone changed the swap during the step (a submitted deposit): none of the
                # step's writes landed, and it is redone at once on what is there now.
                logger.info("the swap changed during its step: redoing the step (%s)", written,
                            extra={"action": "worker", "swap_id": claim.swap_id})  # fmt: skip
                swap = claim.swap
                write = StepWrite(claim, None, Release(
                    self.ctx.clock.now(), swap.attempts if swap else 0,
                    swap.last_error if swap else None,
                ))  # fmt: skip
                continue
            # The step's writes broke a database rule: none landed. Its swap is retried with
            # backoff, like any unexpected error, and the failure kept in ``last_error``.
            logger.error("the step's writes failed: %s", written, exc_info=written,
                         extra={"action": "worker", "swap_id": claim.swap_id})  # fmt: skip
            attempts = (claim.swap.attempts if claim.swap else 0) + 1
            delay = self.ctx.policy.backoff_base * 2 ** min(attempts - 1, 20)
            next_run_at = self.ctx.clock.now() + min(delay, self.ctx.policy.backoff_max)
            message = f"{type(written).__name__}: {written}"
            write = StepWrite(claim, None, Release(next_run_at, attempts, message))

    async def _hand_back(self, claim: Claim) -> None:
        try:
            await self.claims.release(
                claim, self.owner, next_run_at=self.ctx.clock.now(), attempts=0, last_error=None
            )
        except Exception:  # stopping anyway: the lease runs out and the swap is claimed again
            logger.exception("handing the swap back failed",
                             extra={"action": "worker", "swap_id": claim.swap_id})  # fmt: skip

    async def report_attention(self) -> int:
        """Log (and count) every swap that needs an operator; how many there are."""
        found = await stuck_swaps(self.ctx.store, self.ctx.clock, self.ctx.policy.stuck_grace)
        for swap in found:
            report_if_stuck(self.ctx, swap)
        return len(found)

    async def _take_sqlite_lock(self, stop: asyncio.Event) -> bool:
        """The SQLite worker lock, waiting up to ``lock_wait_s`` for the lease of a holder that
        may have died; False if ``stop`` came first. A holder that keeps renewing is alive.
        A database error while asking is retried with backoff (it says nothing of a holder)."""
        clock, lease_s = self.ctx.clock, self.options.lease_s
        give_up = clock.now() + timedelta(seconds=self.options.lock_wait_s)
        waiting = False
        failures = 0
        while True:
            now = clock.now()  # the expiry that counts is the one the attempt saw
            try:
                taken = await self.claims.acquire_lock(SQLITE_LOCK, self.owner, now, lease_s)
            except Exception:  # the loop top: the database may be away for a moment
                failures += 1
                logger.exception("taking the SQLite worker lock failed (will retry)",
                                 extra={"action": "worker", "owner": self.owner})  # fmt: skip
                if await self._wait(stop, backoff_s(self.options, failures)):
                    return False
                give_up = clock.now() + timedelta(seconds=self.options.lock_wait_s)
                continue
            if taken:
                return True
            failures = 0
            if now >= give_up:
                raise ConfigurationError(
                    "another worker is running on this SQLite database; SQLite allows one "
                    "worker (use PostgreSQL for more)"
                )
            if not waiting:
                waiting = True
                logger.info(
                    "the SQLite worker lock is held (by a worker that may have died): waiting "
                    "up to %g s for its lease to run out", self.options.lock_wait_s,
                    extra={"action": "worker", "owner": self.owner},
                )  # fmt: skip
            if await self._wait(stop, self.options.idle_s):
                return False

    @staticmethod
    async def _wait(stop: asyncio.Event, seconds: float) -> bool:
        """Wait ``seconds`` or until ``stop``; whether we are stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)
        return stop.is_set()

    async def _attention(self, failures: int) -> tuple[float, int]:
        """The attention report; the wait until the next one, and the failures so far. Its
        failure delays only itself (with backoff), never the claiming."""
        try:
            await self.report_attention()
        except Exception:  # the loop top of the report: retried with backoff
            failures += 1
            logger.exception("the attention report failed (attempt %d)", failures,
                             extra={"action": "attention"})  # fmt: skip
            return backoff_s(self.options, failures), failures
        return self.options.attention_every_s, 0

    async def _keep_sqlite_lock(self, stop: asyncio.Event) -> bool:
        """Renew the SQLite lock; whether to go on. A lock taken over by another worker (ours
        had run out) is waited for again, as at start."""
        if await self.claims.acquire_lock(
            SQLITE_LOCK, self.owner, self.ctx.clock.now(), self.options.lease_s
        ):
            return True
        logger.warning("the SQLite worker lock was taken over: waiting for it again",
                       extra={"action": "worker", "owner": self.owner})  # fmt: skip
        return await self._take_sqlite_lock(stop)

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set. Loop-level errors are logged and retried with backoff."""
        if self.claims.single_worker and not await self._take_sqlite_lock(stop):
            return
        logger.info("worker started", extra={"action": "worker", "owner": self.owner})
        loop = asyncio.get_running_loop()
        next_attention, attention_failures = float("-inf"), 0
        next_prune = float("-inf")
        failures = 0
        try:
            while not stop.is_set():
                if loop.time() >= next_attention:
                    wait, attention_failures = await self._attention(attention_failures)
                    next_attention = loop.time() + wait
                if loop.time() >= next_prune:  # housekeeping, beside the claim loop
                    next_prune = loop.time() + self.options.session_prune_s
                    await self._prune_user_sessions()
                if self.claims.single_worker:
                    try:
                        if not await self._keep_sqlite_lock(stop):
                            break
                    except Exception:  # the loop top: the database may be away for a moment
                        failures += 1
                        logger.exception("renewing the SQLite worker lock failed (attempt %d)",
                                         failures, extra={"action": "worker"})  # fmt: skip
                        if await self._wait(stop, backoff_s(self.options, failures)):
                            break
                        continue
                batch = asyncio.create_task(self.run_once())
                stopping = asyncio.create_task(stop.wait())
                await asyncio.wait({batch, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not batch.done():
                    done, _ = await asyncio.wait({batch}, timeout=self.options.stop_grace_s)
                    if not done:
                        batch.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await batch
                    stopping.cancel()
                    break
                stopping.cancel()
                try:
                    claimed = batch.result()
                except Exception:  # the loop top: the database may be away for a moment
                    failures += 1
                    logger.exception("claiming failed (attempt %d)", failures,
                                     extra={"action": "worker"})  # fmt: skip
                    if await self._wait(stop, backoff_s(self.options, failures)):
                        break
                    continue
                failures = 0
                if claimed == 0 and await self._wait(stop, self.options.idle_s):
                    break
        finally:
            if self.claims.single_worker:
                try:
                    await self.claims.release_lock(SQLITE_LOCK, self.owner)
                except Exception:  # its lease runs out; the next worker waits that long
                    logger.exception("releasing the SQLite worker lock failed",
                                     extra={"action": "worker", "owner": self.owner})  # fmt: skip
            logger.info("worker stopped", extra={"action": "worker", "owner": self.owner})
