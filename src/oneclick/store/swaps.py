"""The swap repository (the ``SwapRepository`` port, ``session.swaps``): the swap aggregate
under the lease fence, saved with its version check and transition-log entry; its legs (the
engine's signed intents) and its deposits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from oneclick.domain.engine import DepositRecord, Leg
from oneclick.domain.errors import Conflict
from oneclick.domain.records import IntentState
from oneclick.domain.swap_aggregate import Swap, SwapChanges
from oneclick.services.ports import LeaseLost
from oneclick.store.engine import (
    _amounts_json,
    deposits_of,
    dialect_insert,
    engine_swap,
    legs_of,
    signed_intent_row,
)
from oneclick.store.leases import lease_now
from oneclick.store.tables import deposits, intents, swaps
from oneclick.store.transitions import append_transition


def _change_values(changes: SwapChanges) -> dict[str, Any]:
    """The ``swaps`` columns a change set writes (the version bumped once)."""
    values: dict[str, Any] = {"updated_at": changes.at, "version": changes.expected_version + 1}
    if changes.status is not None:
        values["status"] = changes.status.value
    if changes.phase is not None:
        values["phase"] = changes.phase.value
    if changes.deposited_amount is not None:
        values["deposited_amount"] = changes.deposited_amount
    if changes.refund_reason is not None:
        values["refund_reason"] = changes.refund_reason.value
    return values


class SqlSwaps:
    """The ``SwapRepository`` port (``session.swaps``): the swap aggregate, its legs and its
    deposits, in the session's transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def load(self, swap_id: str) -> Swap | None:
        row = (await self._conn.execute(select(swaps).where(swaps.c.id == swap_id))).first()
        return Swap(engine_swap(row)) if row else None

    async def fence(self, swap_id: str, owner: str, now: datetime) -> Swap:
        query = select(swaps).where(
            swaps.c.id == swap_id,
            swaps.c.lease_owner == owner,
            swaps.c.lease_until > lease_now(self._conn.dialect.name, now),
        )
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        if row is None:
            raise LeaseLost(f"lease on swap {swap_id} lost by {owner}")
        return Swap(engine_swap(row))

    async def save(self, swap: Swap, now: datetime) -> None:
        changes = swap.changes(now)
        values = _change_values(changes)
        # The version check is the concurrency control: the row is locked by this UPDATE
        # (PostgreSQL) and a writer that changed it first has moved its version on.
        result = await self._conn.execute(
            update(swaps)
            .where(swaps.c.id == changes.swap_id, swaps.c.version == changes.expected_version)
            .values(**values)
        )
        if result.rowcount != 1:
            raise Conflict(f"swap {changes.swap_id} changed concurrently (version conflict)")
        await self._saved(swap, changes, now)

    async def reopen(self, swap: Swap, now: datetime) -> bool:
        changes = swap.changes(now)
        values = _change_values(changes) | {"next_run_at": now, "attempts": 0, "last_error": None}
        result = await self._conn.execute(
            update(swaps)
            .where(
                swaps.c.id == changes.swap_id,
                swaps.c.version == changes.expected_version,
                or_(
                    swaps.c.lease_until.is_(None),
                    swaps.c.lease_until < lease_now(self._conn.dialect.name, now),
                ),
            )
            .values(**values)
        )
        if result.rowcount != 1:
            return False
        await self._saved(swap, changes, now)
        return True

    async def _saved(self, swap: Swap, changes: SwapChanges, now: datetime) -> None:
        """The change is written: its log entry (and webhook) in the same transaction."""
        if changes.move is not None:
            await append_transition(
                self._conn, changes.swap_id, from_status=changes.move.from_status,
                to_status=changes.move.to_status, at=now, reason=changes.move.reason,
            )  # fmt: skip
        swap.saved(now)

    async def legs(self, swap_id: str) -> list[Leg]:
        return (await legs_of(self._conn, [swap_id])).get(swap_id, [])

    async def add_leg(self, leg: Leg) -> None:
        await self._conn.execute(
            insert(intents).values(
                **signed_intent_row(leg),
                deadline=leg.deadline,
                debits=_amounts_json(leg.debits),
                credits=_amounts_json(leg.credits),
            )
        )

    async def update_leg(
        self,
        intent_hash: str,
        now: datetime,
        *,
        state: IntentState | None = None,
        tx_hash: str | None = None,
        destination_tx_hash: str | None = None,
        delivered: int | None = None,
        reason: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"updated_at": now}
        for name, value in (
            ("state", state.value if state else None),
            ("tx_hash", tx_hash),
            ("destination_tx_hash", destination_tx_hash),
            ("delivered", delivered),
            ("reason", reason),
        ):
            if value is not None:
                values[name] = value
        await self._conn.execute(
            update(intents).where(intents.c.intent_hash == intent_hash).values(**values)
        )

    async def deposits(self, swap_id: str) -> list[DepositRecord]:
        return (await deposits_of(self._conn, [swap_id])).get(swap_id, [])

    async def record_bridge_deposit(self, swap_id: str, deposit: DepositRecord) -> None:
        # One upsert statement: the user's ``/v0/deposit/submit`` may insert the same
        # ``(swap_id, tx_hash)`` at the same moment (a read-then-insert raised IntegrityError).
        statement = dialect_insert(self._conn, deposits).values(
            swap_id=swap_id,
            tx_hash=deposit.tx_hash,
            source=deposit.source,
            chain=deposit.chain,
            amount=deposit.amount,
            status=deposit.status,
            created_at=deposit.created_at,
            asset=deposit.asset,
        )
        await self._conn.execute(
            statement.on_conflict_do_update(
                index_elements=[deposits.c.swap_id, deposits.c.tx_hash],
                set_={
                    "chain": statement.excluded.chain,
                    "amount": statement.excluded.amount,
                    "status": statement.excluded.status,
                    # a sighting that does not name the token keeps the one already known
                    "asset": func.coalesce(statement.excluded.asset, deposits.c.asset),
                },
            )
        )
