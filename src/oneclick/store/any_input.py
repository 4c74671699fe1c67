"""The ANY_INPUT tables (migration 0009): the ``AnyInputRepository`` port (``session.any_input``),
in the session's transaction, so that a deposit's or a withdrawal's row is written in the same
transaction as the leg it points to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from oneclick.domain.any_input import (
    AnyInputDeposit,
    AnyInputWithdrawal,
    DepositPhase,
    NewDeposit,
    WithdrawalState,
)
from oneclick.domain.engine import Leg
from oneclick.services.ports import SwapRepository
from oneclick.store.tables import any_input_deposits, any_input_withdrawals


def _deposit(row: Row[Any]) -> AnyInputDeposit:
    m = row._mapping
    return AnyInputDeposit(
        id=m["id"], swap_id=m["swap_id"], seq=m["seq"], asset=m["asset"], amount=m["amount"],
        source=m["source"], chain=m["chain"], tx_hash=m["tx_hash"],
        phase=DepositPhase(m["phase"]), swap_intent=m["swap_intent"], amount_out=m["amount_out"],
        withdrawal_id=m["withdrawal_id"], attempts=m["attempts"], next_try_at=m["next_try_at"],
        last_error=m["last_error"], created_at=m["created_at"], updated_at=m["updated_at"],
    )  # fmt: skip


def _withdrawal(row: Row[Any]) -> AnyInputWithdrawal:
    m = row._mapping
    return AnyInputWithdrawal(
        id=m["id"], swap_id=m["swap_id"], asset=m["asset"], amount=m["amount"],
        intent_hash=m["intent_hash"], state=WithdrawalState(m["state"]),
        delivered=m["delivered"], tx_hash=m["tx_hash"], created_at=m["created_at"],
        updated_at=m["updated_at"],
    )  # fmt: skip


async def deposits_of(conn: AsyncConnection, swap_id: str) -> list[AnyInputDeposit]:
    query = (
        select(any_input_deposits)
        .where(any_input_deposits.c.swap_id == swap_id)
        .order_by(any_input_deposits.c.seq)
    )
    return [_deposit(row) for row in await conn.execute(query)]


async def withdrawals_of(conn: AsyncConnection, swap_id: str) -> list[AnyInputWithdrawal]:
    query = (
        select(any_input_withdrawals)
        .where(any_input_withdrawals.c.swap_id == swap_id)
        .order_by(any_input_withdrawals.c.created_at, any_input_withdrawals.c.id)
    )
    return [_withdrawal(row) for row in await conn.execute(query)]


class SqlAnyInput:
    """The ``AnyInputRepository`` port; legs go through the session's swap repository."""

    def __init__(self, conn: AsyncConnection, swaps: SwapRepository) -> None:
        self._conn = conn
        self._swaps = swaps

    async def deposits(self, swap_id: str) -> list[AnyInputDeposit]:
        return await deposits_of(self._conn, swap_id)

    async def withdrawals(self, swap_id: str) -> list[AnyInputWithdrawal]:
        return await withdrawals_of(self._conn, swap_id)

    async def add_deposits(
        self, swap_id: str, found: list[NewDeposit], ids: list[str], now: datetime
    ) -> None:
        last = (
            await self._conn.execute(
                select(func.max(any_input_deposits.c.seq)).where(
                    any_input_deposits.c.swap_id == swap_id
                )
            )
        ).scalar_one()
        seq = int(last or 0)
        for deposit, deposit_id in zip(found, ids, strict=True):
            seq += 1
            await self._conn.execute(
                insert(any_input_deposits).values(
                    id=deposit_id, swap_id=swap_id, seq=seq, asset=deposit.token,
                    amount=deposit.amount, source=deposit.source, chain=deposit.chain,
                    tx_hash=deposit.tx_hash, phase=DepositPhase.SWAP.value, next_try_at=now,
                    created_at=now, updated_at=now,
                )
            )  # fmt: skip

    async def update_deposit(self, deposit_id: str, now: datetime, **values: object) -> None:
        changes = {k: v.value if isinstance(v, DepositPhase) else v for k, v in values.items()}
        await self._conn.execute(
            update(any_input_deposits)
            .where(any_input_deposits.c.id == deposit_id)
            .values(updated_at=now, **changes)
        )

    async def add_swap_leg(self, deposit_id: str, leg: Leg, now: datetime) -> None:
        """The deposit's swap intent, persisted with the link to it (one transaction)."""
        await self._swaps.add_leg(leg)
        await self.update_deposit(deposit_id, now, swap_intent=leg.intent_hash)

    async def add_withdrawal(
        self, withdrawal: AnyInputWithdrawal, leg: Leg, deposit_ids: list[str]
    ) -> None:
        """The pool's withdrawal intent, its row and the deposits it carries (one transaction)."""
        await self._swaps.add_leg(leg)
        await self._conn.execute(
            insert(any_input_withdrawals).values(
                id=withdrawal.id, swap_id=withdrawal.swap_id, asset=withdrawal.asset,
                amount=withdrawal.amount, intent_hash=withdrawal.intent_hash,
                state=withdrawal.state.value, created_at=withdrawal.created_at,
                updated_at=withdrawal.updated_at,
            )
        )  # fmt: skip
        for deposit_id in deposit_ids:
            await self.update_deposit(
                deposit_id, withdrawal.created_at, withdrawal_id=withdrawal.id
            )

    async def finish_withdrawal(
        self,
        withdrawal_id: str,
        now: datetime,
        *,
        state: WithdrawalState,
        delivered: int | None = None,
        tx_hash: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """SUCCESS: its deposits are DELIVERED. FAILED: they go back to the pool, retried at
        ``retry_at``."""
        await self._conn.execute(
            update(any_input_withdrawals)
            .where(any_input_withdrawals.c.id == withdrawal_id)
            .values(state=state.value, delivered=delivered, tx_hash=tx_hash, updated_at=now)
        )
        carried = any_input_deposits.c.withdrawal_id == withdrawal_id
        if state is WithdrawalState.SUCCESS:
            values: dict[str, object] = {"phase": DepositPhase.DELIVERED.value}
        else:
            values = {"withdrawal_id": None, "next_try_at": retry_at or now}
        await self._conn.execute(
            update(any_input_deposits).where(carried).values(updated_at=now, **values)
        )
