"""One step, one transaction: the step's writes are buffered here and written together with the
swap's release (``Claims.write``), so a step that polls, follows or confirms costs one commit,
and a step that fails half-way leaves nothing behind but its error count.

The step code is unchanged: it still opens ``ctx.store.transaction()``, fences and writes; this
store records those writes instead of sending them, and answers the step's own reads (the swap,
its legs, its deposits) as they will be once the writes land. A leg is different: a signed
intent must be stored before it is published, so ``add_leg`` (and the ANY_INPUT writes that
store a leg with its row) makes the end of its transaction a commit point, where everything
buffered so far is written (lease checked) before the step goes on.

ANY_INPUT steps take the same path: their deposit and withdrawal rows are buffered like any
other write. The step reads those rows once, at its start (or right after a commit point), so
they are read through; reading them with writes pending would see the rows as they were, and
is refused.

A step that fails after learning something (a leg's transaction, a deposit) still lands what it
learned, with its error count, as when each write was its own transaction. What one transaction
adds is that the step's writes land together or not at all: a crash, a lost lease or a write
the database refuses leaves none of them (the step is simply redone).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from oneclick.domain.any_input import (
    AnyInputDeposit,
    AnyInputWithdrawal,
    NewDeposit,
    WithdrawalState,
)
from oneclick.domain.engine import DepositRecord, EngineSwap, Leg, Phase, RefundReason
from oneclick.domain.records import IntentState
from oneclick.domain.swaps import SwapStatus
from oneclick.services.ports import Apply, EngineSession, EngineStore, LeaseLost

if TYPE_CHECKING:
    from oneclick.services.engine.any_input import AnyInputSession

Op = Callable[[EngineSession], Awaitable[None]]
_T = TypeVar("_T")
# Writes ``apply`` now, as a commit point (lease checked); False when the lease is lost.
CommitPoint = Callable[[Apply], Awaitable[bool]]


def _any_input(session: EngineSession) -> AnyInputSession:
    """The store's session as the ANY_INPUT port (``SqlSession`` has those queries)."""
    return cast("AnyInputSession", session)


def _sequence(ops: list[Op]) -> Apply:
    async def apply(session: EngineSession) -> None:
        for op in ops:
            await op(session)

    return apply


class StepStore:
    """The ``EngineStore`` a step sees: the swap, its legs and its deposits as claimed (read
    here once when the claim did not bring them), the step's writes applied to them as they are
    buffered; the writes themselves wait for the step's end or its next commit point."""

    def __init__(
        self,
        store: EngineStore,
        swap: EngineSwap,
        commit: CommitPoint,
        *,
        legs: Sequence[Leg] | None = None,
        deposits: Sequence[DepositRecord] | None = None,
    ) -> None:
        self._store = store
        self._commit = commit
        self._ops: list[Op] = []
        self.swap = swap  # as it will be once the buffered writes land
        self._legs = list(legs) if legs is not None else None
        self._deposits = list(deposits) if deposits is not None else None

    def take(self) -> Apply | None:
        """The buffered writes, for the release transaction (None when there are none)."""
        ops, self._ops = self._ops, []
        return _sequence(ops) if ops else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[EngineSession]:
        session = _BufferedSession(self)
        yield cast(EngineSession, session)
        if session.commit_point:
            apply = self.take()
            if apply is not None and not await self._commit(apply):
                raise LeaseLost(f"lease on swap {self.swap.id} lost before a commit point")

    def buffer(self, op: Op) -> None:
        self._ops.append(op)

    async def read_through(self, read: Callable[[Any], Awaitable[_T]]) -> _T:
        """Rows the unit does not carry, read from the store: only while nothing is buffered
        (they would not show the pending writes)."""
        if self._ops:
            raise RuntimeError("a step read rows it has buffered writes to: read them first")
        async with self._store.transaction() as tx:
            return await read(tx)

    async def legs(self) -> list[Leg]:
        if self._legs is None:
            async with self._store.transaction() as tx:
                self._legs = await tx.legs(self.swap.id)
        return self._legs

    async def deposits(self) -> list[DepositRecord]:
        if self._deposits is None:
            async with self._store.transaction() as tx:
                self._deposits = await tx.deposits(self.swap.id)
        return self._deposits


class _BufferedSession:
    """The part of ``EngineSession`` a step uses (``fence``, swaps, legs, deposits, their
    senders) and the ANY_INPUT rows (``AnyInputSession``)."""

    def __init__(self, unit: StepStore) -> None:
        self._unit = unit
        self.commit_point = False

    async def fence(self, swap_id: str, owner: str, now: datetime) -> EngineSwap:
        # The lease is checked where the writes land (``Claims.write``); the heartbeat cancels
        # a step whose lease is lost meanwhile.
        return self._unit.swap

    async def update_swap(
        self,
        swap_id: str,
        now: datetime,
        *,
        status: SwapStatus | None = None,
        phase: Phase | None = None,
        deposited_amount: int | None = None,
        refund_reason: RefundReason | None = None,
    ) -> None:
        async def op(session: EngineSession) -> None:
            await session.update_swap(
                swap_id, now, status=status, phase=phase, deposited_amount=deposited_amount,
                refund_reason=refund_reason,
            )  # fmt: skip

        self._unit.buffer(op)
        swap = self._unit.swap
        changes: dict[str, Any] = {"updated_at": now}
        if status is not None:
            changes.update(status=status, version=swap.version + 1)
        if phase is not None:
            changes["phase"] = phase
        if deposited_amount is not None:
            changes["deposited_amount"] = deposited_amount
        if refund_reason is not None:
            changes["refund_reason"] = refund_reason
        self._unit.swap = replace(swap, **changes)

    async def record_bridge_deposit(self, swap_id: str, deposit: DepositRecord) -> None:
        async def op(session: EngineSession) -> None:
            await session.record_bridge_deposit(swap_id, deposit)

        self._unit.buffer(op)
        known = await self._unit.deposits()
        for i, record in enumerate(known):
            if record.tx_hash == deposit.tx_hash:  # as the upsert merges it
                known[i] = replace(
                    record, chain=deposit.chain, amount=deposit.amount, status=deposit.status,
                    asset=deposit.asset or record.asset,
                )  # fmt: skip
                return
        known.append(deposit)

    async def deposits(self, swap_id: str) -> list[DepositRecord]:
        return list(await self._unit.deposits())

    async def deposit_senders(self, swap_id: str) -> dict[str, str]:
        # Read through: only the user's submissions write these (never the step).
        async with self._unit._store.transaction() as tx:
            return await tx.deposit_senders(swap_id)

    async def add_leg(self, leg: Leg) -> None:
        async def op(session: EngineSession) -> None:
            await session.add_leg(leg)

        self._unit.buffer(op)
        (await self._unit.legs()).append(leg)
        self.commit_point = True  # stored before anyone may publish it

    async def legs(self, swap_id: str) -> list[Leg]:
        return list(await self._unit.legs())

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
        async def op(session: EngineSession) -> None:
            await session.update_leg(
                intent_hash, now, state=state, tx_hash=tx_hash,
                destination_tx_hash=destination_tx_hash, delivered=delivered, reason=reason,
            )  # fmt: skip

        self._unit.buffer(op)
        given: dict[str, Any] = {
            "state": state, "tx_hash": tx_hash, "destination_tx_hash": destination_tx_hash,
            "delivered": delivered, "reason": reason,
        }  # fmt: skip
        changes = {k: v for k, v in given.items() if v is not None}
        legs = await self._unit.legs()
        for i, leg in enumerate(legs):
            if leg.intent_hash == intent_hash:
                legs[i] = replace(leg, **changes)

    # --- ANY_INPUT (``AnyInputSession``): the account's deposit and withdrawal rows ------------

    async def any_input_deposits(self, swap_id: str) -> list[AnyInputDeposit]:
        deposits: list[AnyInputDeposit] = await self._unit.read_through(
            lambda tx: tx.any_input_deposits(swap_id)
        )
        return deposits

    async def any_input_withdrawals(self, swap_id: str) -> list[AnyInputWithdrawal]:
        withdrawals: list[AnyInputWithdrawal] = await self._unit.read_through(
            lambda tx: tx.any_input_withdrawals(swap_id)
        )
        return withdrawals

    async def add_any_input_deposits(
        self, swap_id: str, found: list[NewDeposit], ids: list[str], now: datetime
    ) -> None:
        async def op(session: EngineSession) -> None:
            await _any_input(session).add_any_input_deposits(swap_id, found, ids, now)

        self._unit.buffer(op)

    async def update_any_input_deposit(
        self, deposit_id: str, now: datetime, **values: object
    ) -> None:
        async def op(session: EngineSession) -> None:
            await _any_input(session).update_any_input_deposit(deposit_id, now, **values)

        self._unit.buffer(op)

    async def add_swap_leg_of_deposit(self, deposit_id: str, leg: Leg, now: datetime) -> None:
        async def op(session: EngineSession) -> None:
            await _any_input(session).add_swap_leg_of_deposit(deposit_id, leg, now)

        self._unit.buffer(op)
        (await self._unit.legs()).append(leg)
        self.commit_point = True  # stored before anyone may publish it

    async def add_any_input_withdrawal(
        self, withdrawal: AnyInputWithdrawal, leg: Leg, deposit_ids: list[str]
    ) -> None:
        async def op(session: EngineSession) -> None:
            await _any_input(session).add_any_input_withdrawal(withdrawal, leg, deposit_ids)

        self._unit.buffer(op)
        (await self._unit.legs()).append(leg)
        self.commit_point = True  # stored before anyone may publish it

    async def finish_any_input_withdrawal(
        self,
        withdrawal_id: str,
        now: datetime,
        *,
        state: WithdrawalState,
        delivered: int | None = None,
        tx_hash: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        async def op(session: EngineSession) -> None:
            await _any_input(session).finish_any_input_withdrawal(
                withdrawal_id, now, state=state, delivered=delivered, tx_hash=tx_hash,
                retry_at=retry_at,
            )  # fmt: skip

        self._unit.buffer(op)
