"""The SWAP phase: a fresh relay quote, its ``amount_in``/``amount_out`` signed verbatim as the
custody account's ``token_diff`` plus the input fee transfers, as ONE payload, persisted,
published with the quote hash and followed to settlement (PROTOCOL.md §3.5, §8.2: the relay
reconciles the solver's diff with the protocol fee). One live swap intent per account
(ARCHITECTURE.md §4)."""

from __future__ import annotations

import logging
from datetime import datetime

from nearintents.payload import AnyIntent, TokenDiff, Transfer
from nearintents.rpc import Quote, QuoteRequest
from oneclick.domain.engine import (
    APP_FEE_MEMO,
    Leg,
    Phase,
    RefundReason,
    SwapOrder,
    SwapState,
    is_same_asset,
    swap_ask,
    swap_order,
)
from oneclick.domain.errors import RequestError
from oneclick.domain.records import IntentKind, IntentState
from oneclick.services.boundary import calling
from oneclick.services.engine.context import EngineContext
from oneclick.services.engine.deposits import balance, wait_for_order
from oneclick.services.engine.legs import Outcome, follow_leg, publish_leg, sign_leg
from oneclick.services.engine.same_asset import step_same_asset

logger = logging.getLogger(__name__)


async def _legs(ctx: EngineContext, swap: SwapState) -> list[Leg]:
    async with ctx.store.transaction() as tx:
        return await tx.swaps.legs(swap.id)


async def resolve_swap_leg(ctx: EngineContext, swap: SwapState) -> Outcome | None:
    """Drive the live swap intent, if any: None when there is none (or it is dead now)."""
    legs = [leg for leg in await _legs(ctx, swap) if leg.kind is IntentKind.SWAP]
    if any(leg.state is IntentState.SETTLED for leg in legs):
        return Outcome.SETTLED
    live = [leg for leg in legs if leg.live]
    if not live:
        return None
    leg = await publish_leg(ctx, swap, live[-1])
    _, outcome = await follow_leg(ctx, swap, leg)
    return None if outcome is Outcome.DEAD else outcome


async def _move(
    ctx: EngineContext, swap: SwapState, phase: Phase, reason: RefundReason | None = None
) -> None:
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        current = await tx.swaps.fence(swap.id, ctx.owner, now)
        current.enter(phase)
        if reason is not None:
            current.refund_because(reason)
        await tx.swaps.save(current, now)


async def _best_order(
    ctx: EngineContext, swap: SwapState, credited: int
) -> tuple[Quote, SwapOrder] | None:
    fees = swap.fee_plan.fees()
    try:
        ask = swap_ask(swap, credited, fees)
    except RequestError:
        return None  # what arrived no longer covers the fees
    request = QuoteRequest(
        defuse_asset_identifier_in=swap.origin_asset,
        defuse_asset_identifier_out=swap.destination_asset,
        exact_amount_in=ask.exact_amount_in,
        exact_amount_out=ask.exact_amount_out,
        min_deadline_ms=ctx.quotes.relay_min_deadline_ms,
    )
    async with calling("the solver relay (quote)"):
        answers = await ctx.relay.quote(request)
    now = ctx.clock.now()
    best: tuple[Quote, SwapOrder] | None = None
    for answer in answers:
        # Solvers are untrusted: only offers for what we asked, still valid (PROTOCOL.md §3.1).
        if not isinstance(answer, Quote) or not answer.matches(request):
            continue
        if answer.expiration_time <= now:
            continue
        order = swap_order(swap, credited, fees, answer.amount_in, answer.amount_out)
        if order is None:
            continue
        if best is None or (order.expected_out, -order.spend) > (
            best[1].expected_out,
            -best[1].spend,
        ):
            best = (answer, order)
    return best


def _intents(swap: SwapState, order: SwapOrder) -> list[AnyIntent]:
    intents: list[AnyIntent] = [TokenDiff(diff=order.diff)]
    for recipient, amount in order.fee_transfers:
        intents.append(
            Transfer(receiver_id=recipient, tokens={swap.origin_asset: amount}, memo=APP_FEE_MEMO)
        )
    return intents


async def step_swap(ctx: EngineContext, swap: SwapState) -> datetime | None:
    outcome = await resolve_swap_leg(ctx, swap)
    now = ctx.clock.now()
    if outcome is Outcome.SETTLED:
        await _move(ctx, swap, Phase.PAYOUT)
        return now
    if outcome is Outcome.PENDING:
        return now + ctx.policy.follow_poll
    if now >= swap.request_deadline:
        reason = swap.refund_reason or RefundReason.DEADLINE_EXCEEDED
        logger.info(
            "no swap settled before the deadline: refunding (%s)", reason.value,
            extra={"action": "swap", "swap_id": swap.id},
        )  # fmt: skip
        await _move(ctx, swap, Phase.REFUND, reason)
        return now
    credited = await balance(ctx, swap, swap.origin_asset)
    if is_same_asset(swap):
        return await step_same_asset(ctx, swap, credited)
    found = await _best_order(ctx, swap, credited)
    now = ctx.clock.now()
    if found is None:
        logger.info(
            "no quote meets the minimum; retrying until the deadline",
            extra={"action": "swap", "swap_id": swap.id},
        )
        return await wait_for_order(ctx, swap, credited, RefundReason.NO_QUOTE_ABOVE_MINIMUM)
    quote, order = found
    deadline = min(now + ctx.policy.swap_intent_lifetime, quote.expiration_time)
    leg = await sign_leg(
        ctx,
        swap,
        IntentKind.SWAP,
        _intents(swap, order),
        deadline=deadline,
        debits={swap.origin_asset: order.spend},
        credits={swap.destination_asset: order.received},
        quote_hashes=(quote.quote_hash,),
    )
    await publish_leg(ctx, swap, leg)
    return ctx.clock.now()
