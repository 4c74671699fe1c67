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

from datetime import datetime

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from oneclick.services.ports import Claim
from oneclick.store.leases import lease_now, lease_until
from oneclick.store.tables import swaps, worker_locks

MAX_ERROR_LEN = 2000


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
                .returning(swaps.c.id, swaps.c.lease_until)
            )
            until: dict[str, datetime] = {row[0]: row[1] for row in leased}
        return [Claim(swap_id, now, until[swap_id]) for swap_id in ids]

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
        async with self._db.begin() as conn:
            query = select(swaps.c.woken_at).where(
                swaps.c.id == claim.swap_id, swaps.c.lease_owner == owner
            )
            if not self.single_worker:
                query = query.with_for_update()
            row = (await conn.execute(query)).first()
            if row is None:
                return False
            woken_at: datetime | None = row[0]
            if next_run_at is not None and woken_at is not None and woken_at >= claim.claimed_at:
                next_run_at = min(next_run_at, woken_at)
            await conn.execute(
                update(swaps)
                .where(swaps.c.id == claim.swap_id)
                .values(
                    lease_owner=None,
                    lease_until=None,
                    next_run_at=next_run_at,
                    attempts=attempts,
                    last_error=last_error[:MAX_ERROR_LEN] if last_error else None,
                )
            )
        return True

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
