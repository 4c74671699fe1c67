"""Where a request's time goes, by port: the bench's ``api`` server wraps each port of its
``ServiceContext`` (relay, verifier, prices, fee cache, custody, store, bridge) in
:class:`Timed`, which adds the wall time of every call (an async one from the call to its
answer; a store transaction from ``BEGIN`` to ``COMMIT``) to a shared tally, and serves the
tally at ``GET /bench/stages`` (``DELETE`` resets it). With one client at a time the tally per
request is the request's breakdown; what no port accounts for is the service's own work
(validation, quote maths, JSON, the framework)."""

from __future__ import annotations

import inspect
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


class Tally:
    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: defaultdict[str, int] = defaultdict(int)

    def add(self, key: str, seconds: float) -> None:
        self.seconds[key] += seconds
        self.calls[key] += 1

    def snapshot(self) -> dict[str, dict[str, float]]:
        return {
            k: {"seconds": round(v, 6), "calls": self.calls[k]} for k, v in self.seconds.items()
        }

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


class Timed:
    """``target`` with the time of each method call added to ``tally`` under ``name.method``."""

    def __init__(self, target: Any, name: str, tally: Tally) -> None:
        self._target, self._name, self._tally = target, name, tally

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        if not callable(value) or attr.startswith("_"):
            return value
        key, tally = f"{self._name}.{attr}", self._tally
        if inspect.iscoroutinefunction(value):

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return await value(*args, **kwargs)
                finally:
                    tally.add(key, time.perf_counter() - start)

            return timed_async
        if attr == "transaction":

            @asynccontextmanager
            async def timed_transaction(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                start = time.perf_counter()
                try:
                    async with value(*args, **kwargs) as tx:
                        yield tx
                finally:
                    tally.add(key, time.perf_counter() - start)

            return timed_transaction

        def timed_sync(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                tally.add(key, time.perf_counter() - start)

        return timed_sync
