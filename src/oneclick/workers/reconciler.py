"""The reconciliation loop of a worker process: passes over every custody account, one batch at
a time with a pause between batches, a new pass every ``pass_interval_s`` (the work itself is
:mod:`oneclick.services.reconcile`). One reconciler runs per database: it holds the
``reconciler`` lock in ``worker_locks`` (renewed at each batch) and the others wait."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from oneclick.services.engine import EngineContext
from oneclick.services.ports import Claims
from oneclick.services.reconcile import PassReport, ReconcileStore, reconcile_batch

logger = logging.getLogger(__name__)

LOCK = "reconciler"


@dataclass(frozen=True, slots=True)
class ReconcilerOptions:
    batch: int = 50
    batch_pause_s: float = 0.5
    pass_interval_s: float = 60.0
    lease_s: float = 60.0  # on one swap while acting on its account; and on the lock


class Reconciler:
    def __init__(
        self,
        ctx: EngineContext,
        store: ReconcileStore,
        claims: Claims,
        options: ReconcilerOptions | None = None,
    ) -> None:
        self.ctx = ctx
        self.store = store
        self.claims = claims
        self.options = options or ReconcilerOptions()

    async def _hold_lock(self) -> bool:
        now = self.ctx.clock.now()
        lease = max(self.options.lease_s, self.options.batch_pause_s * 4)
        return await self.claims.acquire_lock(LOCK, self.ctx.owner, now, lease)

    async def run_pass(self, stop: asyncio.Event | None = None) -> PassReport:
        """One pass over every account (stopped early by ``stop`` or a lost lock)."""
        total = PassReport()
        after = -1
        lease = timedelta(seconds=self.options.lease_s)
        while stop is None or not stop.is_set():
            if not await self._hold_lock():
                break
            last, report = await reconcile_batch(
                self.ctx, self.store, after, self.options.batch, lease
            )
            total.add(report)
            if last is None:
                break
            after = last
            if stop is not None and self.options.batch_pause_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.options.batch_pause_s)
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Reconcile until ``stop`` is set."""
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                started = loop.time()
                try:
                    report = await self.run_pass(stop)
                    if report.acted or report.errors:
                        logger.info(
                            "reconciliation pass: %d accounts, %d refunds, %d held, %d busy, "
                            "%d errors", report.accounts, report.refunds, report.held,
                            report.busy, report.errors, extra={"action": "reconcile"},
                        )  # fmt: skip
                except Exception:  # the loop top: the database may be away for a moment
                    logger.exception("reconciliation pass failed", extra={"action": "reconcile"})
                wait = max(self.options.pass_interval_s - (loop.time() - started), 0.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
        finally:
            with contextlib.suppress(Exception):
                await self.claims.release_lock(LOCK, self.ctx.owner)
