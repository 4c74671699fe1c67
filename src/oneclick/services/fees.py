"""The verifier's protocol fee, read through ``Verifier.fee()`` and cached briefly."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from nearintents.diff import MAX_FEE_PIPS
from oneclick.domain.errors import PermanentError
from oneclick.services.boundary import calling
from oneclick.services.ports import Clock, Verifier


class ProtocolFeeCache:
    """``fee`` in pips, refreshed after ``ttl``; concurrent callers share one refresh."""

    def __init__(self, verifier: Verifier, clock: Clock, ttl: timedelta) -> None:
        self._verifier = verifier
        self._clock = clock
        self._ttl = ttl
        self._value: int | None = None
        self._read_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> int:
        async with self._lock:
            now = self._clock.now()
            if self._value is None or self._read_at is None or now - self._read_at >= self._ttl:
                async with calling("the verifier (fee)"):
                    value = await self._verifier.fee()
                if not 0 <= value < MAX_FEE_PIPS:
                    raise PermanentError(f"the verifier reports a fee of {value} pips")
                self._value, self._read_at = value, now
            return self._value
