"""The PAYOUT phase: everything the swap delivered goes to the recipient (``ft_withdraw`` with
``WITHDRAW_TO:`` through the bridge, ``ft_withdraw`` to a NEAR account, or a ``transfer`` inside
the verifier), persisted, published standalone, followed to the destination transaction; then
``SUCCESS`` and the SWEEP of anything left over."""

from __future__ import annotations

import logging
from datetime import datetime

from oneclick.domain.engine import Leg, Phase, SwapState, is_same_asset
from oneclick.domain.errors import TemporaryError
from oneclick.domain.records import IntentKind, IntentState
from oneclick.domain.requests import RecipientType
from oneclick.domain.swaps import SwapStatus
from oneclick.services.engine.context import EngineContext
from oneclick.services.engine.deposits import balance
from oneclick.services.engine.legs import (
    Outcome,
    confirm_leg,
    delivery_intent,
    follow_leg,
    publish_leg,
    sign_leg,
)
from oneclick.services.engine.near_payouts import is_bounced, plan_near_delivery
from oneclick.services.engine.same_asset import same_asset_payout
from oneclick.services.engine.upstream_legs import rides_upstream_payout, upstream_delivery

logger = logging.getLogger(__name__)


async def drive_delivery(
    ctx: EngineContext, swap: SwapState, kind: IntentKind, *, internal: bool, token: str
) -> tuple[Outcome | None, list[Leg]]:
    """Drive the open legs of ``kind``: PENDING while one is live or not yet confirmed, SETTLED
    when the last one is delivered, None when there is nothing open (all complete or dead)."""
    async with ctx.store.transaction() as tx:
        legs = [leg for leg in await tx.swaps.legs(swap.id) if leg.kind is kind]
    asset = ctx.asset(token)
    result: Outcome | None = None
    done: list[Leg] = []
    for leg in legs:
        if leg.state is IntentState.DEAD or is_bounced(leg):  # a bounced one is signed anew
            continue
        if leg.live:
            leg = await publish_leg(ctx, swap, leg)
            leg, outcome = await follow_leg(ctx, swap, leg)
            if outcome is Outcome.PENDING:
                return Outcome.PENDING, done
            if outcome is Outcome.DEAD:
                continue
        confirmed = await confirm_leg(ctx, swap, leg, asset, internal=internal)
        if confirmed is None:
            return Outcome.PENDING, done
        done.append(confirmed)
        result = Outcome.SETTLED
    return result, done


async def step_payout(ctx: EngineContext, swap: SwapState) -> datetime | None:
    internal = swap.recipient_type == RecipientType.INTENTS.value
    token = swap.destination_asset
    outcome, done = await drive_delivery(
        ctx, swap, IntentKind.WITHDRAW, internal=internal, token=token
    )
    if outcome is Outcome.PENDING:
        return ctx.clock.now() + ctx.policy.withdrawal_poll
    if outcome is Outcome.SETTLED:
        now = ctx.clock.now()
        async with ctx.store.transaction() as tx:
            current = await tx.swaps.fence(swap.id, ctx.owner, now)
            current.move_to(SwapStatus.SUCCESS)
            current.enter(Phase.SWEEP)
            await tx.swaps.save(current, now)
        logger.info(
            "swap delivered: %s to %s", sum(leg.delivered or 0 for leg in done), swap.recipient,
            extra={"action": "payout", "swap_id": swap.id},
        )  # fmt: skip
        return now
    amount = await balance(ctx, swap, token)
    if is_same_asset(swap):  # the excess of an overpayment is the SWEEP's, not the recipient's
        amount = await same_asset_payout(ctx, swap, amount)
    if amount <= 0:
        # The swap is final (follow_leg), so this is a NEAR RPC node behind the others, not a
        # loss: retried for the bounded number of attempts, never parked at once.
        ctx.metrics.waiting("output_not_visible")
        raise TemporaryError("the swap settled but its output is not visible at final yet")
    now = ctx.clock.now()
    await sign_and_publish(
        ctx, swap, IntentKind.WITHDRAW, token, amount, swap.recipient, internal=internal
    )
    return ctx.clock.now()


async def sign_and_publish(
    ctx: EngineContext,
    swap: SwapState,
    kind: IntentKind,
    token: str,
    amount: int,
    receiver: str,
    *,
    internal: bool,
) -> Leg:
    asset = ctx.asset(token)
    if rides_upstream_payout(ctx, asset, internal=internal):  # never NEAR-native
        intent = await upstream_delivery(ctx, swap, asset, amount, receiver)
    elif not internal and asset.is_near_native:
        intent = await plan_near_delivery(ctx, swap, kind, asset, amount, receiver)
    else:
        intent = delivery_intent(asset, amount, receiver, internal=internal)
    deadline = ctx.clock.now() + ctx.policy.withdraw_intent_lifetime
    leg = await sign_leg(ctx, swap, kind, [intent], deadline=deadline, debits={token: amount})
    return await publish_leg(ctx, swap, leg)
