"""The ledger clock: a port, so tests decide what "now" (the block timestamp) is."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Protocol

from nearintents.nonce import datetime_to_ns


class Clock(Protocol):
    def now_ns(self) -> int:
        """Nanoseconds since the Unix epoch; the timestamp of the next block."""
        ...


class SystemClock:
    def now_ns(self) -> int:
        return time.time_ns()


class ManualClock:
    """A clock that moves only when told to (thread-safe: the RPC server reads it too)."""

    def __init__(self, start: int | datetime) -> None:
        self._lock = threading.Lock()
        self._now = start if isinstance(start, int) else datetime_to_ns(start)

    def now_ns(self) -> int:
        with self._lock:
            return self._now

    def set(self, moment: int | datetime) -> None:
        with self._lock:
            self._now = moment if isinstance(moment, int) else datetime_to_ns(moment)

    def advance(self, *, seconds: float = 0, ns: int = 0) -> None:
        with self._lock:
            self._now += ns + round(seconds * 1_000_000_000)
