"""Work claiming (the ``Claims`` port): due swaps are leased to one worker at a time.

A swap is due when ``next_run_at <= now`` and nobody holds an unexpired lease. Claiming sets
``lease_owner``/``lease_until`` and leaves ``next_run_at`` alone, so a worker that dies mid-step
simply lets its lease expire and the swap is claimed again. On PostgreSQL candidates are picked
with ``FOR UPDATE SKIP LOCKED`` so concurrent workers never wait on (or take) the same rows; on
SQLite the whole database is one writer and only one worker may run (``single_worker``; the
worker takes the ``sqlite-worker`` lock in ``worker_locks`` to enforce it). Lease expiry is
judged by the database's clock on PostgreSQL (:mod:`oneclick.store.leases`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from oneclick.services.ports import Claim, Release, StepWrite
from oneclick.store.leases import lease_now, lease_until
from oneclick.store.rows import deposits_of, legs_of, swap_state
from oneclick.store.sql import SqlSession
from oneclick.store.tables import swaps, worker_locks

MAX_ERROR_LEN = 2000


def _release_values(claim: Claim, release: Release, woken_at: datetime | None) -> dict[str, Any]:
    """A wake-up that arrived during the step wins over a later ``next_run_at``."""
    next_run_at = release.next_run_at
    if next_run_at is not None and woken_at is not None and woken_at >= claim.claimed_at:
        next_run_at = min(next_run_at, woken_at)
    last_error = release.last_error
    return {
        "b_id": claim.swap_id,
        "b_next_run_at": next_run_at,
        "b_attempts": release.attempts,
        "b_last_error": last_error[:MAX_ERROR_LEN] if last_error else None,
    }


class _ApplyError(Exception):
    """A step's own writes failed (not the lease check, not the release)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class SqlClaims:
    def __init__(self, db: AsyncEngine) -> None:
        self._db = db

    @property
    def single_worker(self) -> bool:
        return self._db.dialect.name != "postgresql"

    async def claim(self, owner: str, now: datetime, lease_s: float, limit: int) -> list[Claim]:
        """``now`` schedules (``next_run_at``); leases are judged by :mod:`.leases`' clock."""
        dialect = self._db.dialect.name
        lease_clock = lease_now(dialect, now)
        due = (
            select(swaps.c.id)
            .where(
                swaps.c.next_run_at <= now,
                or_(swaps.c.lease_until.is_(None), swaps.c.lease_until < lease_clock),
            )
            .order_by(swaps.c.next_run_at)
            .limit(limit)
        )
        if not self.single_worker:
            due = due.with_for_update(skip_locked=True)
        async with self._db.begin() as conn:
            ids = [row[0] for row in await conn.execute(due)]
            if not ids:
                return []
            leased = await conn.execute(
                update(swaps)
                .where(swaps.c.id.in_(ids))
                .values(lease_owner=owner, lease_until=lease_until(dialect, now, lease_s))
                .returning(*swaps.c)
            )
            rows = {row.id: row for row in leased}
            # The claimed rows come back whole, with their legs and deposits: the steps then
            # read nothing (legs are written only under the lease, so these stay current).
            legs = await legs_of(conn, ids)
            found = await deposits_of(conn, ids)
        return [
            Claim(
                swap_id,
                now,
                rows[swap_id].lease_until,
                swap_state(rows[swap_id]),
                tuple(legs.get(swap_id, ())),
                tuple(found.get(swap_id, ())),
            )
            for swap_id in ids
        ]

    async def renew(self, swap_id: str, owner: str, now: datetime, lease_s: float) -> bool:
        dialect = self._db.dialect.name
        async with self._db.begin() as conn:
            result = await conn.execute(
                update(swaps)
                .where(swaps.c.id == swap_id, swaps.c.lease_owner == owner)
                .values(lease_until=lease_until(dialect, now, lease_s))
            )
        return bool(result.rowcount == 1)

    async def release(
        self,
        claim: Claim,
        owner: str,
        *,
        next_run_at: datetime | None,
        attempts: int,
        last_error: str | None,
    ) -> bool:
        [result] = await self.write(
            owner, claim.claimed_at,
            [StepWrite(claim, None, Release(next_run_at, attempts, last_error))],
        )  # fmt: skip
        if isinstance(result, Exception):
            raise result
        return result

    async def write(
        self, owner: str, now: datetime, writes: Sequence[StepWrite]
    ) -> list[bool | Exception]:
        """One transaction for all of ``writes``: one lease check, the steps' writes, one
        statement for every release; fsync and the commit's round trip are paid once per
        group, not once per step. Should one ``apply`` fail, the group is rolled back and each
        write redone in a transaction of its own, so that only the failing one fails."""
        if not writes:
            return []
        try:
            async with self._db.begin() as conn:
                return await self._write_group(conn, owner, now, writes)
        except _ApplyError as exc:
            if len(writes) == 1:
                return [exc.error]
        results: list[bool | Exception] = []
        for one in writes:
            try:
                async with self._db.begin() as conn:
                    results.extend(await self._write_group(conn, owner, now, [one]))
            except _ApplyError as exc:
                results.append(exc.error)
        return results

    async def _write_group(
        self, conn: AsyncConnection, owner: str, now: datetime, writes: Sequence[StepWrite]
    ) -> list[bool | Exception]:
        """The leases checked (rows locked on PostgreSQL, in id order), each step's writes
        where its lease holds, then the releases."""
        ids = sorted({w.claim.swap_id for w in writes})
        live = (swaps.c.lease_until > lease_now(conn.dialect.name, now)).label("live")
        query = select(swaps.c.id, swaps.c.woken_at, live).where(
            swaps.c.id.in_(ids), swaps.c.lease_owner == owner
        )
        if not self.single_worker:
            query = query.order_by(swaps.c.id).with_for_update()
        held = {row.id: row for row in await conn.execute(query)}
        results: list[bool | Exception] = []
        releases: list[dict[str, Any]] = []
        for write in writes:
            row = held.get(write.claim.swap_id)
            # Writes are fenced as the engine's transactions always were (an unexpired lease);
            # a bare release needs only to be the owner's.
            fenced = write.release is None or write.apply is not None
            if row is None or (fenced and not row.live):
                results.append(False)
                continue
            if write.apply is not None:
                try:
                    await write.apply(SqlSession(conn))
                except Exception as exc:
                    raise _ApplyError(exc) from exc
            if write.release is not None:
                releases.append(_release_values(write.claim, write.release, row.woken_at))
            results.append(True)
        if releases:  # one statement, executed for every row
            await conn.execute(
                update(swaps)
                .where(swaps.c.id == bindparam("b_id"))
                .values(
                    lease_owner=None,
                    lease_until=None,
                    next_run_at=bindparam("b_next_run_at"),
                    attempts=bindparam("b_attempts"),
                    last_error=bindparam("b_last_error"),
                ),
                releases,
            )
        return results

    async def acquire_lock(self, name: str, owner: str, now: datetime, lease_s: float) -> bool:
        dialect = self._db.dialect.name
        until = lease_until(dialect, now, lease_s)
        async with self._db.begin() as conn:
            taken = await conn.execute(
                update(worker_locks)
                .where(
                    worker_locks.c.name == name,
                    or_(
                        worker_locks.c.owner == owner,
                        worker_locks.c.lease_until < lease_now(dialect, now),
                    ),
                )
                .values(owner=owner, lease_until=until)
            )
            if taken.rowcount == 1:
                return True
        try:
            async with self._db.begin() as conn:
                await conn.execute(
                    insert(worker_locks).values(name=name, owner=owner, lease_until=until)
                )
        except IntegrityError:
            return False  # held by someone else
        return True

    async def release_lock(self, name: str, owner: str) -> None:
        async with self._db.begin() as conn:
            await conn.execute(
                delete(worker_locks).where(
                    worker_locks.c.name == name, worker_locks.c.owner == owner
                )
            )
