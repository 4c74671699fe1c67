"""The worker: claim due swaps with a lease, run one step each, release them with their next
run. The lease is renewed while a step runs; on stop the current steps get ``stop_grace`` to
finish and are otherwise cancelled and handed back (due at once) for another worker.

On SQLite only one worker may run: it holds the ``sqlite-worker`` lock for as long as it runs
and a second one refuses to start. A worker that died without letting go (SIGKILL, power loss)
keeps the lock until its lease runs out, so a new worker waits up to ``lock_wait_s`` (one lease,
as configured) before concluding that another worker is alive. On PostgreSQL any number run side
by side (``SKIP LOCKED``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from oneclick.domain.errors import ConfigurationError
from oneclick.services.engine import EngineContext, StepResult, advance_swap
from oneclick.services.engine.admin import stuck_swaps
from oneclick.services.engine.core import report_if_stuck
from oneclick.services.ports import Claim, Claims, LeaseLost

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

    @property
    def owner(self) -> str:
        return self.ctx.owner

    async def run_once(self) -> int:
        """Claim one batch of due swaps and step each once; how many were claimed."""
        now = self.ctx.clock.now()
        claims = await self.claims.claim(self.owner, now, self.options.lease_s, self.options.batch)
        if claims:
            async with asyncio.TaskGroup() as group:
                for claim in claims:
                    group.create_task(self._step(claim))
        return len(claims)

    async def _renew(self, claim: Claim, step: asyncio.Task[StepResult]) -> None:
        while True:
            await asyncio.sleep(self.options.lease_s / 3)
            until = self.ctx.clock.now() + timedelta(seconds=self.options.lease_s)
            if not await self.claims.renew(claim.swap_id, self.owner, until):
                logger.warning("lease lost mid-step", extra={"swap_id": claim.swap_id})
                step.cancel()
                return

    async def _step(self, claim: Claim) -> None:
        async with self._semaphore:
            if self.observer:
                self.observer.started(claim.swap_id, self.owner)
            result: StepResult | None = None
            try:
                step = asyncio.create_task(advance_swap(self.ctx, claim.swap_id))
                heartbeat = asyncio.create_task(self._renew(claim, step))
                try:
                    result = await step
                finally:
                    heartbeat.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await heartbeat
            except LeaseLost:
                return
            except asyncio.CancelledError:
                # Stopping: hand the swap back, due at once, for whoever runs next.
                await asyncio.shield(self._hand_back(claim))
                raise
            finally:
                if self.observer:
                    self.observer.finished(claim.swap_id, self.owner, result)
            await self.claims.release(
                claim,
                self.owner,
                next_run_at=result.next_run_at,
                attempts=result.attempts,
                last_error=result.last_error,
            )

    async def _hand_back(self, claim: Claim) -> None:
        await self.claims.release(
            claim, self.owner, next_run_at=self.ctx.clock.now(), attempts=0, last_error=None
        )

    async def report_attention(self) -> int:
        """Log (and count) every swap that needs an operator; how many there are."""
        found = await stuck_swaps(self.ctx.store, self.ctx.clock, self.ctx.policy.stuck_grace)
        for swap in found:
            report_if_stuck(self.ctx, swap)
        return len(found)

    async def _take_sqlite_lock(self, stop: asyncio.Event) -> bool:
        """The SQLite worker lock, waiting up to ``lock_wait_s`` for the lease of a holder that
        may have died; False if ``stop`` came first. A holder that keeps renewing is alive."""
        clock, lease_s = self.ctx.clock, self.options.lease_s
        give_up = clock.now() + timedelta(seconds=self.options.lock_wait_s)
        waiting = False
        while True:
            now = clock.now()  # the expiry that counts is the one the attempt saw
            if await self.claims.acquire_lock(SQLITE_LOCK, self.owner, now, lease_s):
                return True
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
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.options.idle_s)
            if stop.is_set():
                return False

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set."""
        if self.claims.single_worker and not await self._take_sqlite_lock(stop):
            return
        logger.info("worker started", extra={"action": "worker", "owner": self.owner})
        loop = asyncio.get_running_loop()
        last_attention = float("-inf")
        try:
            while not stop.is_set():
                if loop.time() - last_attention >= self.options.attention_every_s:
                    await self.report_attention()
                    last_attention = loop.time()
                if self.claims.single_worker:
                    await self.claims.acquire_lock(
                        SQLITE_LOCK, self.owner, self.ctx.clock.now(), self.options.lease_s
                    )
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
                    logger.exception("claiming or stepping failed", extra={"action": "worker"})
                    claimed = 0
                if claimed == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self.options.idle_s)
        finally:
            if self.claims.single_worker:
                await self.claims.release_lock(SQLITE_LOCK, self.owner)
            logger.info("worker stopped", extra={"action": "worker", "owner": self.owner})
