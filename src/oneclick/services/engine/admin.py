"""What an operator does with a swap the engine cannot finish (``oneclick admin``): refund it,
retry it, and list the swaps that need attention."""

from __future__ import annotations

from datetime import datetime, timedelta

from oneclick.domain.engine import Phase, RefundReason, SwapState
from oneclick.domain.errors import NotFound, RequestError
from oneclick.domain.quotes import SwapType
from oneclick.domain.swap_aggregate import Swap
from oneclick.domain.swaps import SwapStatus
from oneclick.domain.transitions import REASON_OPERATOR
from oneclick.services.ports import Clock, EngineSession, EngineStore


async def _swap(tx: EngineSession, address: str, memo: str | None) -> Swap:
    record = await tx.swaps.by_deposit(address, memo or None)
    swap = await tx.swaps.load(record.id) if record else None
    if swap is None:
        raise NotFound(f"Deposit address {address} not found")
    return swap


def _busy() -> RequestError:
    return RequestError("a worker is stepping this swap right now; try again in a moment")


async def _reopen(tx: EngineSession, swap: Swap, now: datetime) -> SwapState:
    if not await tx.swaps.reopen(swap, now):
        raise _busy()
    found = await tx.swaps.get(swap.id)  # as scheduled, errors cleared
    assert found is not None
    return found


async def refund_swap(
    store: EngineStore, clock: Clock, address: str, memo: str | None
) -> SwapState:
    """Refund everything the custody account holds: for a parked (FAILED) swap or one that is
    still waiting or processing. A live swap intent is still resolved first (rule 2)."""
    now = clock.now()
    async with store.transaction() as tx:
        swap = await _swap(tx, address, memo)
        if swap.state.swap_type is SwapType.ANY_INPUT:  # documented upstream: never refunded
            raise RequestError("an ANY_INPUT quote is never refunded: `oneclick admin retry` it")
        if swap.status.is_terminal and swap.status is not SwapStatus.FAILED:
            raise RequestError(f"the swap is {swap.status}: leftovers are refunded by its sweep")
        reason = swap.state.refund_reason or RefundReason.OPERATOR_REFUND
        swap.refund_because(reason)
        if swap.status is SwapStatus.FAILED:
            swap.move_to(
                SwapStatus.PROCESSING, operator=True, reason=f"{REASON_OPERATOR}: {reason.value}"
            )
        swap.enter(Phase.REFUND)
        return await _reopen(tx, swap, now)


async def retry_swap(store: EngineStore, clock: Clock, address: str, memo: str | None) -> SwapState:
    """Run a parked swap again from where it stopped."""
    now = clock.now()
    async with store.transaction() as tx:
        swap = await _swap(tx, address, memo)
        if swap.status is SwapStatus.FAILED:
            status = (
                SwapStatus.PENDING_DEPOSIT if swap.phase is Phase.DEPOSIT else SwapStatus.PROCESSING
            )
            swap.move_to(status, operator=True, reason=REASON_OPERATOR)
        elif swap.phase is not Phase.SWEEP and swap.status.is_terminal:
            raise RequestError(f"the swap is {swap.status} and has nothing left to do")
        return await _reopen(tx, swap, now)


async def stuck_swaps(store: EngineStore, clock: Clock, grace: timedelta) -> list[SwapState]:
    """Parked swaps and those without an outcome past their request deadline plus ``grace``."""
    async with store.transaction() as tx:
        return await tx.swaps.attention(clock.now(), grace.total_seconds())
