"""``SqlPartners``: the partners that hold JWTs (``session.partners``). Their webhook settings
live in the same rows but belong to :mod:`oneclick.store.webhooks`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from oneclick.domain.records import Partner
from oneclick.store.tables import partners


def _partner(row: Row[tuple[object, ...]]) -> Partner:
    m = row._mapping
    return Partner(m["id"], m["name"], m["created_at"], m["expires_at"], m["revoked_at"])


class SqlPartners:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, partner: Partner) -> None:
        await self._conn.execute(
            insert(partners).values(
                id=partner.id,
                name=partner.name,
                created_at=partner.created_at,
                expires_at=partner.expires_at,
                revoked_at=partner.revoked_at,
            )
        )

    async def get(self, partner_id: str) -> Partner | None:
        row = (
            await self._conn.execute(select(partners).where(partners.c.id == partner_id))
        ).first()
        return _partner(row) if row else None

    async def by_name(self, name: str) -> Partner | None:
        row = (await self._conn.execute(select(partners).where(partners.c.name == name))).first()
        return _partner(row) if row else None

    async def all(self) -> list[Partner]:
        rows = await self._conn.execute(select(partners).order_by(partners.c.created_at))
        return [_partner(r) for r in rows]

    async def revoke(self, partner_id: str, now: datetime) -> None:
        await self._conn.execute(
            update(partners).where(partners.c.id == partner_id).values(revoked_at=now)
        )
