"""The partners' webhook outbox on SQLAlchemy Core: rows are added in the transaction of the
transition they report (nothing is lost on a crash), claimed with a lease (``SKIP LOCKED`` on
PostgreSQL, so workers share the outbox), and settled after each attempt."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from oneclick.domain.transitions import Transition
from oneclick.domain.webhooks import (
    DeliveryRecord,
    DeliveryState,
    DueDelivery,
    Outcome,
    PartnerWebhook,
    event_body,
    event_id,
)
from oneclick.store.tables import partners, swaps, webhook_deliveries

_RESULT_MAX = 200  # characters of an attempt's outcome kept (never the receiver's body)


async def enqueue_webhook(conn: AsyncConnection, change: Transition) -> None:
    """One outbox row if the swap's partner has a webhook (called by ``append_transition``)."""
    row = (
        await conn.execute(
            select(swaps.c.partner_id, swaps.c.deposit_address, swaps.c.deposit_memo)
            .join(partners, partners.c.id == swaps.c.partner_id)
            .where(
                swaps.c.id == change.swap_id,
                partners.c.webhook_url.is_not(None),
                partners.c.revoked_at.is_(None),
            )
        )
    ).first()
    if row is None:
        return
    partner_id, address, memo = row
    await conn.execute(
        insert(webhook_deliveries).values(
            event_id=event_id(change),
            partner_id=partner_id,
            transition_id=change.cursor,
            body=event_body(change, address, memo or None),
            state=DeliveryState.PENDING.value,
            attempts=0,
            next_attempt_at=change.at,
            created_at=change.at,
        )
    )


def _record(row: Row[Any]) -> DeliveryRecord:
    m = row._mapping
    state = DeliveryState(m["state"])
    return DeliveryRecord(
        event_id=m["event_id"],
        state=state,
        attempts=m["attempts"],
        created_at=m["created_at"],
        last_attempt_at=m["last_attempt_at"],
        next_attempt_at=m["next_attempt_at"] if state is DeliveryState.PENDING else None,
        last_result=m["last_result"],
    )


class SqlWebhooks:
    """Partner webhook settings and the outbox (``session.webhooks``)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def set(self, partner_id: str, url: str | None, salt: str | None) -> None:
        await self._conn.execute(
            update(partners)
            .where(partners.c.id == partner_id)
            .values(webhook_url=url, webhook_salt=salt)
        )

    async def get(self, partner_id: str) -> PartnerWebhook:
        row = (
            await self._conn.execute(
                select(partners.c.webhook_url, partners.c.webhook_salt).where(
                    partners.c.id == partner_id
                )
            )
        ).one()
        return PartnerWebhook(partner_id, row[0], row[1])

    async def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[DueDelivery]:
        """Due PENDING rows not leased by another worker, leased to the caller for ``lease``."""
        outbox = webhook_deliveries
        query = (
            select(outbox, partners.c.webhook_url, partners.c.webhook_salt, partners.c.revoked_at)
            .join(partners, partners.c.id == outbox.c.partner_id)
            .where(
                outbox.c.state == DeliveryState.PENDING.value,
                outbox.c.next_attempt_at <= now,
                or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
            )
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
        )
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=outbox)
        rows = (await self._conn.execute(query)).all()
        if not rows:
            return []
        ids = [r._mapping["id"] for r in rows]
        await self._conn.execute(
            update(outbox).where(outbox.c.id.in_(ids)).values(lease_until=now + lease)
        )
        return [
            DueDelivery(
                id=m["id"], event_id=m["event_id"], partner_id=m["partner_id"], body=m["body"],
                attempts=m["attempts"], created_at=m["created_at"],
                # a revoked partner's pending events are dropped, not sent
                url=None if m["revoked_at"] else m["webhook_url"], salt=m["webhook_salt"],
            )
            for m in (r._mapping for r in rows)
        ]  # fmt: skip

    async def settle(
        self, delivery_id: int, outcome: Outcome, *, attempted: bool, now: datetime, result: str
    ) -> None:
        values: dict[str, Any] = {
            "state": outcome.state.value,
            "lease_until": None,
            "last_result": result[:_RESULT_MAX],
        }
        if outcome.next_attempt_at is not None:
            values["next_attempt_at"] = outcome.next_attempt_at
        if attempted:
            values.update(attempts=webhook_deliveries.c.attempts + 1, last_attempt_at=now)
        await self._conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery_id)
            .values(**values)
        )

    async def deliveries(self, partner_id: str, limit: int) -> list[DeliveryRecord]:
        rows = await self._conn.execute(
            select(webhook_deliveries)
            .where(webhook_deliveries.c.partner_id == partner_id)
            .order_by(webhook_deliveries.c.id.desc())
            .limit(limit)
        )
        return [_record(r) for r in rows]
