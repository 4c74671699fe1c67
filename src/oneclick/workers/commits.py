"""Group commit for one worker: the transactions its concurrent steps end with (and their
commit points) are written together, as few commits as the database allows. Whatever arrives
while a commit is in flight goes into the next one, so a lone step waits for nothing and a busy
worker pays fsync (SQLite) or the commit round trip (PostgreSQL) once per group, not per step.
On SQLite it also makes the worker a single writer: its steps no longer queue on the database's
write lock (whose busy handler sleeps)."""

from __future__ import annotations

import asyncio

from oneclick.services.ports import Claims, Clock, StepWrite


class GroupCommitter:
    def __init__(self, claims: Claims, owner: str, clock: Clock) -> None:
        self._claims = claims
        self._owner = owner
        self._clock = clock
        self._pending: list[tuple[StepWrite, asyncio.Future[bool | Exception]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self.commits = 0  # transactions written, and the writes in them (for the benchmark)
        self.writes = 0

    async def write(self, write: StepWrite) -> bool | Exception:
        """``Claims.write`` for one step's write, batched with its neighbours'."""
        future: asyncio.Future[bool | Exception] = asyncio.get_running_loop().create_future()
        self._pending.append((write, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            group, self._pending = self._pending, []
            live = [(w, f) for w, f in group if not f.cancelled()]
            if not live:
                continue
            try:
                results = await self._claims.write(
                    self._owner, self._clock.now(), [w for w, _ in live]
                )
            except Exception as exc:  # the database is away: each writer retries on its own
                for _, future in live:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.commits += 1
            self.writes += len(live)
            for (_, future), result in zip(live, results, strict=True):
                if not future.done():
                    future.set_result(result)
