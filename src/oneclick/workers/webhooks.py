"""The webhook dispatcher: the worker process's second loop, draining the partners' outbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from oneclick.services.ports import Clock
from oneclick.services.webhooks import (
    DeliveryPolicy,
    WebhookSender,
    WebhookStore,
    deliver_due,
)

logger = logging.getLogger(__name__)


class WebhookDispatcher:
    def __init__(
        self,
        store: WebhookStore,
        sender: WebhookSender,
        *,
        install_key: bytes,
        clock: Clock,
        policy: DeliveryPolicy | None = None,
        idle_s: float = 1.0,
    ) -> None:
        self.store, self.sender, self.clock = store, sender, clock
        self._install_key = install_key
        self.policy = policy or DeliveryPolicy()
        self.idle_s = idle_s

    async def run_once(self) -> int:
        return await deliver_due(
            self.store, self.sender, install_key=self._install_key, clock=self.clock,
            policy=self.policy,
        )  # fmt: skip

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: an attempt in flight finishes (its lease would resend it anyway)."""
        while not stop.is_set():
            try:
                claimed = await self.run_once()
            except Exception:  # the loop's top: log, wait, try again
                logger.exception("webhook delivery round failed", extra={"action": "webhook"})
                claimed = 0
            if claimed == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.idle_s)
