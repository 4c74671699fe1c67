"""The transition log on SQLAlchemy Core: appended in the transaction that changes a swap's
status (so the log never disagrees with ``swaps.status``, and the webhook outbox row for it is
written in the same transaction), read by the SSE stream and the tracking page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from oneclick.domain.swaps import SwapStatus
from oneclick.domain.transitions import Transition
from oneclick.store.tables import swap_transitions, swaps
from oneclick.store.webhooks import enqueue_webhook


def transition(row: Row[Any]) -> Transition:
    m = row._mapping
    return Transition(
        cursor=m["id"],
        swap_id=m["swap_id"],
        seq=m["seq"],
        at=m["at"],
        from_status=SwapStatus(m["from_status"]) if m["from_status"] else None,
        to_status=SwapStatus(m["to_status"]),
        reason=m["reason"],
    )


@dataclass(frozen=True, slots=True)
class LockedState:
    status: str
    refund_reason: str | None
    partner_id: str | None


async def locked_swap_state(conn: AsyncConnection, swap_id: str) -> LockedState | None:
    """The swap's status (and what a reason is made of), its row locked on PostgreSQL until the
    transaction ends, so two writers' log entries cannot interleave out of order."""
    query = select(swaps.c.status, swaps.c.refund_reason, swaps.c.partner_id).where(
        swaps.c.id == swap_id
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return LockedState(*row) if row else None


async def append_transition(
    conn: AsyncConnection,
    swap_id: str,
    *,
    from_status: SwapStatus | None,
    to_status: SwapStatus,
    at: Any,
    reason: str | None,
) -> Transition:
    """Append one entry (``seq`` = the swap's last + 1; the row lock taken by the status update
    serialises writers, and ``uq_swap_transitions_swap_id_seq`` refuses a duplicate anyway)."""
    last = (
        await conn.execute(
            select(func.max(swap_transitions.c.seq)).where(swap_transitions.c.swap_id == swap_id)
        )
    ).scalar()
    seq = int(last or 0) + 1
    values = {
        "swap_id": swap_id,
        "seq": seq,
        "at": at,
        "from_status": from_status.value if from_status else None,
        "to_status": to_status.value,
        "reason": reason,
    }
    cursor = (
        await conn.execute(
            insert(swap_transitions).values(**values).returning(swap_transitions.c.id)
        )
    ).scalar_one()
    change = Transition(int(cursor), swap_id, seq, at, from_status, to_status, reason)
    await enqueue_webhook(conn, change)  # the outbox row commits (or not) with the change
    return change
