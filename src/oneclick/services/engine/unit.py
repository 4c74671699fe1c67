"""One step, one transaction: the step's writes are buffered here and written together with the
swap's release (``Claims.write``), so a step that polls, follows or confirms costs one commit,
and a step that fails half-way leaves nothing behind but its error count.

The step code does not know: it still opens ``ctx.store.transaction()``, fences and writes
through the session's repositories (``swaps``, ``any_input``); this store's repositories record
those writes instead of sending them (each restates only its own writes), and answer the step's
own reads (the swap, its legs, its deposits) as they will be once the writes land. A leg is
different: a signed intent must be stored before it is published, so storing one makes the end
of its transaction a commit point, where everything buffered so far is written (lease checked)
before the step goes on.

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
from typing import Any, TypeVar, cast

from oneclick.domain.any_input import (
    AnyInputDeposit,
    AnyInputWithdrawal,
    NewDeposit,
    WithdrawalState,
)
from oneclick.domain.engine import DepositRecord, Leg, SwapState
from oneclick.domain.records import IntentState
from oneclick.domain.swap_aggregate import Swap
from oneclick.services.ports import Apply, EngineSession, EngineStore, LeaseLost

Op = Callable[[EngineSession], Awaitable[None]]
_T = TypeVar("_T")
# Writes ``apply`` now, as a commit point (lease checked); False when the lease is lost.
CommitPoint = Callable[[Apply], Awaitable[bool]]


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
        swap: SwapState,
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
                self._legs = await tx.swaps.legs(self.swap.id)
        return self._legs

    async def deposits(self) -> list[DepositRecord]:
        if self._deposits is None:
            async with self._store.transaction() as tx:
                self._deposits = await tx.swaps.deposits(self.swap.id)
        return self._deposits


class _BufferedSession:
    """The part of ``EngineSession`` a step uses: its repositories, buffered."""

    def __init__(self, unit: StepStore) -> None:
        self._unit = unit
        self.commit_point = False
        self.swaps = _BufferedSwaps(unit, self)
        self.any_input = _BufferedAnyInput(unit, self)


class _BufferedSwaps:
    """``SwapRepository`` over the step's unit: the swap, its legs and deposits as they will be;
    ``save``, ``add_leg``, ``update_leg`` and ``record_bridge_deposit`` buffered; the deposit
    senders read through."""

    def __init__(self, unit: StepStore, session: _BufferedSession) -> None:
        self._unit = unit
        self._session = session

    async def load(self, swap_id: str) -> Swap | None:
        return Swap(self._unit.swap)

    async def fence(self, swap_id: str, owner: str, now: datetime) -> Swap:
        # The lease is checked where the writes land (``Claims.write``); the heartbeat cancels
        # a step whose lease is lost meanwhile.
        return Swap(self._unit.swap)

    async def save(self, swap: Swap, now: datetime) -> None:
        pending = swap.copy()

        async def op(session: EngineSession) -> None:
            # A fresh copy each time: a group commit may replay a step's writes.
            await session.swaps.save(pending.copy(), now)

        self._unit.buffer(op)
        swap.saved(now)  # as the store's save leaves it: one version on
        self._unit.swap = swap.state

    async def record_bridge_deposit(self, swap_id: str, deposit: DepositRecord) -> None:
        async def op(session: EngineSession) -> None:
            await session.swaps.record_bridge_deposit(swap_id, deposit)

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
            return await tx.swaps.deposit_senders(swap_id)

    async def add_leg(self, leg: Leg) -> None:
        async def op(session: EngineSession) -> None:
            await session.swaps.add_leg(leg)

        self._unit.buffer(op)
        (await self._unit.legs()).append(leg)
        self._session.commit_point = True  # stored before anyone may publish it

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
            await session.swaps.update_leg(
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


class _BufferedAnyInput:
    """``AnyInputRepository`` over the step's unit: the rows read through (the step reads them
    at its start), the writes buffered."""

    def __init__(self, unit: StepStore, session: _BufferedSession) -> None:
        self._unit = unit
        self._session = session

    async def deposits(self, swap_id: str) -> list[AnyInputDeposit]:
        found: list[AnyInputDeposit] = await self._unit.read_through(
            lambda tx: tx.any_input.deposits(swap_id)
        )
        return found

    async def withdrawals(self, swap_id: str) -> list[AnyInputWithdrawal]:
        found: list[AnyInputWithdrawal] = await self._unit.read_through(
            lambda tx: tx.any_input.withdrawals(swap_id)
        )
        return found

    async def add_deposits(
        self, swap_id: str, found: list[NewDeposit], ids: list[str], now: datetime
    ) -> None:
        async def op(session: EngineSession) -> None:
            await session.any_input.add_deposits(swap_id, found, ids, now)

        self._unit.buffer(op)

    async def update_deposit(self, deposit_id: str, now: datetime, **values: object) -> None:
        async def op(session: EngineSession) -> None:
            await session.any_input.update_deposit(deposit_id, now, **values)

        self._unit.buffer(op)

    async def add_swap_leg(self, deposit_id: str, leg: Leg, now: datetime) -> None:
        async def op(session: EngineSession) -> None:
            await session.any_input.add_swap_leg(deposit_id, leg, now)

        self._unit.buffer(op)
        (await self._unit.legs()).append(leg)
        self._session.commit_point = True  # stored before anyone may publish it

    async def add_withdrawal(
        self, withdrawal: AnyInputWithdrawal, leg: Leg, deposit_ids: list[str]
    ) -> None:
        async def op(session: EngineSession) -> None:
            await session.any_input.add_withdrawal(withdrawal, leg, deposit_ids)

        self._unit.buffer(op)
        (await self._unit.legs()).append(leg)
        self._session.commit_point = True  # stored before anyone may publish it

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
        async def op(session: EngineSession) -> None:
            await session.any_input.finish_withdrawal(
                withdrawal_id, now, state=state, delivered=delivered, tx_hash=tx_hash,
                retry_at=retry_at,
            )  # fmt: skip

        self._unit.buffer(op)
