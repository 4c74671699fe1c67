"""The reconciliation's repository (``session.reconcile``): custody accounts in
batches, a lease on one swap outside the claim queue, the balances that could not be refunded
(``custody_holdings``) and the reasons recorded on deposits."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from oneclick.domain.engine import SwapState
from oneclick.domain.reconcile import Disposition, Holding
from oneclick.domain.records import IntentKind, IntentState
from oneclick.store.leases import lease_now, lease_until
from oneclick.store.rows import swap_state
from oneclick.store.tables import custody_holdings, deposits, intents, swaps


class SqlReconcile:
    """The ``ReconcileRepository`` port (``session.reconcile``), in the session's transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def swaps_after(self, custody_index: int, limit: int) -> list[SwapState]:
        rows = await self._conn.execute(
            select(swaps)
            .where(swaps.c.custody_index > custody_index)
            .order_by(swaps.c.custody_index)
            .limit(limit)
        )
        return [swap_state(r) for r in rows]

    async def unconfirmed_stray_refunds(self, swap_ids: Collection[str]) -> set[str]:
        """The swaps among ``swap_ids`` with a reconciliation refund not yet delivered."""
        rows = await self._conn.execute(
            select(intents.c.swap_id)
            .where(
                intents.c.swap_id.in_(list(swap_ids)),
                intents.c.kind == IntentKind.STRAY_REFUND.value,
                intents.c.state != IntentState.DEAD.value,
                intents.c.delivered.is_(None),
            )
            .distinct()
        )
        return {r[0] for r in rows}

    async def known_deposits(self, swap_ids: Collection[str]) -> dict[tuple[str, str], str | None]:
        """``(swap id, tx hash) -> bridge status`` of the recorded deposits of ``swap_ids``."""
        rows = await self._conn.execute(
            select(deposits.c.swap_id, deposits.c.tx_hash, deposits.c.status).where(
                deposits.c.swap_id.in_(list(swap_ids))
            )
        )
        return {(r.swap_id, r.tx_hash): r.status for r in rows}

    async def held_amounts(self, account_ids: Collection[str]) -> dict[str, dict[str, int]]:
        """``account id -> {token: amount}`` of the recorded holdings of ``account_ids``."""
        rows = await self._conn.execute(
            select(
                custody_holdings.c.account_id, custody_holdings.c.token, custody_holdings.c.amount
            ).where(custody_holdings.c.account_id.in_(list(account_ids)))
        )
        found: dict[str, dict[str, int]] = {}
        for account_id, token, amount in rows:
            found.setdefault(account_id, {})[token] = int(amount)
        return found

    async def lease_swap(self, swap_id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take the swap's lease if nobody holds it (the claim queue's ``next_run_at`` stays).
        Judged, and written, on the lease clock (the database's on PostgreSQL)."""
        dialect = self._conn.dialect.name
        result = await self._conn.execute(
            update(swaps)
            .where(
                swaps.c.id == swap_id,
                (swaps.c.lease_until.is_(None)) | (swaps.c.lease_until < lease_now(dialect, now)),
            )
            .values(
                lease_owner=owner,
                lease_until=lease_until(dialect, now, (until - now).total_seconds()),
            )
        )
        return bool(result.rowcount == 1)

    async def unlease_swap(self, swap_id: str, owner: str) -> None:
        await self._conn.execute(
            update(swaps)
            .where(swaps.c.id == swap_id, swaps.c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )

    async def set_holding(self, holding: Holding) -> None:
        key = and_(
            custody_holdings.c.account_id == holding.account_id,
            custody_holdings.c.token == holding.token,
        )
        values: dict[str, Any] = {
            "swap_id": holding.swap_id, "amount": holding.amount,
            "disposition": holding.disposition.value, "reason": holding.reason,
            "updated_at": holding.updated_at,
        }  # fmt: skip
        changed = await self._conn.execute(update(custody_holdings).where(key).values(values))
        if changed.rowcount == 0:
            await self._conn.execute(
                insert(custody_holdings).values(
                    account_id=holding.account_id, token=holding.token, **values
                )
            )

    async def drop_holdings(self, account_id: str, tokens: Collection[str]) -> None:
        await self._conn.execute(
            delete(custody_holdings).where(
                custody_holdings.c.account_id == account_id,
                custody_holdings.c.token.in_(list(tokens)),
            )
        )

    async def set_deposit_reason(self, swap_id: str, token: str, reason: str | None) -> None:
        """Why the transfers of ``token`` to the swap's address are parked (None: they are not)."""
        await self._conn.execute(
            update(deposits)
            .where(deposits.c.swap_id == swap_id, deposits.c.asset == token)
            .values(reason=reason)
        )

    async def holdings(self) -> list[Holding]:
        rows = await self._conn.execute(
            select(custody_holdings, swaps.c.deposit_address, swaps.c.deposit_memo)
            .join(swaps, swaps.c.id == custody_holdings.c.swap_id)
            .order_by(custody_holdings.c.updated_at)
        )
        return [
            Holding(
                account_id=r.account_id, token=r.token, swap_id=r.swap_id, amount=r.amount,
                disposition=Disposition(r.disposition), reason=r.reason,
                updated_at=r.updated_at, deposit_address=r.deposit_address,
                deposit_memo=r.deposit_memo or None,
            )
            for r in rows
        ]  # fmt: skip
