"""The REFUND phase and the SWEEP: what was credited and not swapped goes back to ``refundTo``
(``ft_withdraw`` with ``WITHDRAW_TO:`` on the origin chain, less the bridge's fee, or a
``transfer`` for ``refundType=INTENTS``). REFUND ends in ``REFUNDED``; the SWEEP refunds excess
and late deposits of finished swaps until the quote deadline, recorded on the swap."""

from __future__ import annotations

import logging
from datetime import datetime

from oneclick.domain.engine import Phase, SwapState
from oneclick.domain.errors import PermanentError
from oneclick.domain.records import IntentKind
from oneclick.domain.requests import RefundType
from oneclick.domain.swaps import SwapStatus
from oneclick.services.engine.context import EngineContext
from oneclick.services.engine.deposits import (
    balance,
    quiet_poll,
    scan_bridge_deposits,
    total_deposited,
)
from oneclick.services.engine.legs import Outcome
from oneclick.services.engine.payouts import drive_delivery, sign_and_publish
from oneclick.services.engine.swapping import resolve_swap_leg

logger = logging.getLogger(__name__)


def _internal(swap: SwapState) -> bool:
    return swap.refund_type == RefundType.INTENTS.value


def refundable(ctx: EngineContext, swap: SwapState, amount: int) -> bool:
    """Whether ``amount`` can be sent back: any amount inside the verifier; through the bridge
    only above its minimum withdrawal and its fee (else the refund would deliver nothing)."""
    asset = ctx.asset(swap.origin_asset)
    if _internal(swap) or asset.is_near_native:
        return amount > 0
    return amount >= asset.min_withdrawal_amount and amount > asset.withdrawal_fee


async def _record_deposited(ctx: EngineContext, swap: SwapState, origin_balance: int) -> None:
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        current = await tx.swaps.fence(swap.id, ctx.owner, now)
        deposited = total_deposited(current.state, await tx.swaps.legs(swap.id), origin_balance)
        if deposited != (current.state.deposited_amount or 0):
            current.record_deposited(deposited)
            await tx.swaps.save(current, now)


async def step_refund(ctx: EngineContext, swap: SwapState) -> datetime | None:
    swap_outcome = await resolve_swap_leg(ctx, swap)  # rule 2: never refund under a live swap
    if swap_outcome is Outcome.SETTLED:
        now = ctx.clock.now()
        async with ctx.store.transaction() as tx:
            current = await tx.swaps.fence(swap.id, ctx.owner, now)
            current.enter(Phase.PAYOUT)
            await tx.swaps.save(current, now)
        return now
    if swap_outcome is Outcome.PENDING:
        return ctx.clock.now() + ctx.policy.follow_poll
    outcome, done = await drive_delivery(
        ctx, swap, IntentKind.REFUND, internal=_internal(swap), token=swap.origin_asset
    )
    if outcome is Outcome.PENDING:
        return ctx.clock.now() + ctx.policy.withdrawal_poll
    left = await balance(ctx, swap, swap.origin_asset)
    await _record_deposited(ctx, swap, left)
    if left > 0:
        if not refundable(ctx, swap, left):
            raise PermanentError(
                f"{left} of {swap.origin_asset} is below what the bridge can refund"
            )
        await sign_and_publish(
            ctx, swap, IntentKind.REFUND, swap.origin_asset, left, swap.refund_to,
            internal=_internal(swap),
        )  # fmt: skip
        return ctx.clock.now()
    if not done:
        raise PermanentError("nothing to refund: the custody account holds none of the input")
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        current = await tx.swaps.fence(swap.id, ctx.owner, now)
        current.move_to(SwapStatus.REFUNDED)
        current.enter(Phase.SWEEP)
        await tx.swaps.save(current, now)
    logger.info(
        "swap refunded (%s)", swap.refund_reason.value if swap.refund_reason else "-",
        extra={"action": "refund", "swap_id": swap.id},
    )  # fmt: skip
    return now


async def step_sweep(ctx: EngineContext, swap: SwapState) -> datetime | None:
    await scan_bridge_deposits(ctx, swap)
    outcome, _ = await drive_delivery(
        ctx, swap, IntentKind.REFUND, internal=_internal(swap), token=swap.origin_asset
    )
    if outcome is Outcome.PENDING:
        return ctx.clock.now() + ctx.policy.withdrawal_poll
    left = await balance(ctx, swap, swap.origin_asset)
    await _record_deposited(ctx, swap, left)
    if left > 0:
        if refundable(ctx, swap, left):
            logger.info(
                "refunding %s left in the custody account", left,
                extra={"action": "sweep", "swap_id": swap.id},
            )  # fmt: skip
            await sign_and_publish(
                ctx, swap, IntentKind.REFUND, swap.origin_asset, left, swap.refund_to,
                internal=_internal(swap),
            )  # fmt: skip
            return ctx.clock.now()
        logger.warning(
            "%s left in the custody account is too little to refund", left,
            extra={"action": "sweep", "swap_id": swap.id},
        )  # fmt: skip
    now = ctx.clock.now()
    if now >= swap.quote_deadline:
        async with ctx.store.transaction() as tx:
            current = await tx.swaps.fence(swap.id, ctx.owner, now)
            current.enter(Phase.DONE)
            await tx.swaps.save(current, now)
        return None
    # ``updated_at`` moves with every refund recorded: a late deposit resets the wait.
    return min(now + quiet_poll(ctx, swap, now, ctx.policy.sweep_poll), swap.quote_deadline)
