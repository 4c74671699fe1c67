"""``SqlCustodyAccounts``: the pool of derived custody accounts (``session.custody``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from oneclick.domain.records import CustodyAccount
from oneclick.store.tables import custody_accounts


class SqlCustodyAccounts:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def reserve_index(self) -> int:
        result = await self._conn.execute(
            insert(custody_accounts)
            .values(created_at=datetime.now(UTC))
            .returning(custody_accounts.c.index)
        )
        return int(result.scalar_one())

    async def record(self, account: CustodyAccount, now: datetime) -> None:
        await self._conn.execute(
            update(custody_accounts)
            .where(custody_accounts.c.index == account.index)
            .values(account_id=account.account_id, public_key=account.public_key, created_at=now)
        )

    async def free_count(self) -> int:
        """How many derived custody accounts wait in the pool."""
        query = select(func.count()).where(
            custody_accounts.c.taken_at.is_(None), custody_accounts.c.account_id.is_not(None)
        )
        return int((await self._conn.execute(query)).scalar_one())

    async def take(self, now: datetime) -> CustodyAccount | None:
        """One account from the pool, marked taken (never handed out twice: ``SKIP LOCKED`` on
        PostgreSQL, one writer on SQLite); None when the pool is empty."""
        pick = (
            select(custody_accounts.c.index)
            .where(
                custody_accounts.c.taken_at.is_(None), custody_accounts.c.account_id.is_not(None)
            )
            .order_by(custody_accounts.c.index)
            .limit(1)
        )
        if self._conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        row = (
            await self._conn.execute(
                update(custody_accounts)
                .where(
                    custody_accounts.c.index == pick.scalar_subquery(),
                    custody_accounts.c.taken_at.is_(None),
                )
                .values(taken_at=now)
                .returning(
                    custody_accounts.c.index,
                    custody_accounts.c.account_id,
                    custody_accounts.c.public_key,
                )
            )
        ).first()
        return CustodyAccount(row[0], row[1], row[2]) if row else None

    async def get(self, account_id: str) -> CustodyAccount | None:
        row = (
            await self._conn.execute(
                select(custody_accounts).where(custody_accounts.c.account_id == account_id)
            )
        ).first()
        if row is None:
            return None
        m = row._mapping
        return CustodyAccount(m["index"], m["account_id"], m["public_key"])
