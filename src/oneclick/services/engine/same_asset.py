"""Same-asset swaps (``destinationAsset == originAsset``): no relay quote. The SWAP phase only
takes the input fees (one ``transfer`` each, memo ``APP_FEE``, signed as one leg whose credits
record what is left to deliver); with no fee there is nothing to sign and the swap goes
straight to PAYOUT. The payout then delivers exactly that amount: an overpayment stays in the
custody account and the SWEEP refunds it, as for any other EXACT_INPUT swap."""

from __future__ import annotations

import logging
from datetime import datetime

from nearintents.payload import AnyIntent, Transfer
from oneclick.domain.engine import (
    APP_FEE_MEMO,
    Phase,
    RefundReason,
    SwapState,
    same_asset_order,
)
from oneclick.domain.errors import TemporaryError
from oneclick.domain.records import IntentKind, IntentState
from oneclick.services.engine.context import EngineContext
from oneclick.services.engine.deposits import wait_for_order
from oneclick.services.engine.legs import publish_leg, sign_leg

logger = logging.getLogger(__name__)


async def step_same_asset(ctx: EngineContext, swap: SwapState, credited: int) -> datetime:
    """The SWAP phase of a same-asset swap, ``credited`` being the custody balance."""
    order = same_asset_order(swap, credited, swap.fee_plan.fees())
    now = ctx.clock.now()
    if order is None:
        logger.info(
            "the deposit does not cover the same-asset order; waiting until the deadline",
            extra={"action": "swap", "swap_id": swap.id},
        )
        return await wait_for_order(ctx, swap, credited, RefundReason.DEPOSIT_TOO_LOW)
    if not order.fee_transfers:
        async with ctx.store.transaction() as tx:
            current = await tx.swaps.fence(swap.id, ctx.owner, now)
            current.record_deposited(max(current.state.deposited_amount or 0, credited))
            current.enter(Phase.PAYOUT)
            await tx.swaps.save(current, now)
        return now
    intents: list[AnyIntent] = [
        Transfer(receiver_id=recipient, tokens={swap.origin_asset: amount}, memo=APP_FEE_MEMO)
        for recipient, amount in order.fee_transfers
    ]
    leg = await sign_leg(
        ctx,
        swap,
        IntentKind.SWAP,
        intents,
        deadline=now + ctx.policy.swap_intent_lifetime,
        debits={swap.origin_asset: order.spend},
        credits={swap.destination_asset: order.received},
    )
    await publish_leg(ctx, swap, leg)
    return ctx.clock.now()


async def same_asset_payout(ctx: EngineContext, swap: SwapState, available: int) -> int:
    """What the payout of a same-asset swap delivers: what its fee leg left to deliver, or
    with no fee the order for what was credited; never more than ``available``."""
    async with ctx.store.transaction() as tx:
        legs = await tx.swaps.legs(swap.id)
    settled = [leg for leg in legs if leg.kind is IntentKind.SWAP]
    settled = [leg for leg in settled if leg.state is IntentState.SETTLED]
    if settled:
        amount = sum(leg.credits.get(swap.destination_asset, 0) for leg in settled)
    else:
        order = same_asset_order(swap, swap.deposited_amount or available, swap.fee_plan.fees())
        amount = order.received if order is not None else 0
    if amount <= 0 or available < amount:
        ctx.metrics.waiting("output_not_visible")
        raise TemporaryError(
            f"the same-asset payout of {amount} is not covered by the balance yet ({available})"
        )
    return amount
