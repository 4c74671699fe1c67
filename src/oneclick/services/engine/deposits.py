"""The DEPOSIT phase and deposit bookkeeping: the bridge's ``recent_deposits`` give the
transactions (``KNOWN_DEPOSIT_TX``, ``originChainTxHashes``); the verifier balance is the truth
of what is credited (ARCHITECTURE.md §4 rule 3)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from oneclick.domain.engine import (
    DepositRecord,
    Leg,
    Phase,
    RefundReason,
    SwapState,
    deposit_status,
    late_reason,
)
from oneclick.domain.records import IntentState
from oneclick.domain.requests import DepositType
from oneclick.domain.swaps import SwapStatus, can_transition
from oneclick.services.boundary import calling
from oneclick.services.bridge_deposits import recent_bridge_deposits
from oneclick.services.engine.context import EngineContext
from oneclick.services.engine.near_deposits import (
    confirm_submitted_transfers,
    sweep_near_deposit,
)
from oneclick.services.engine.upstream_legs import scan_upstream_deposit

logger = logging.getLogger(__name__)


async def balance(ctx: EngineContext, swap: SwapState, token_id: str) -> int:
    async with calling("the verifier (mt_balance_of)"):
        return await ctx.verifier.mt_balance_of(swap.custody_account_id, token_id)


async def scan_bridge_deposits(ctx: EngineContext, swap: SwapState) -> None:
    """Record every deposit the bridge has seen for the custody account (ORIGIN_CHAIN deposits
    of bridged assets; NEAR-native and INTENTS deposits are seen only as balance)."""
    origin = ctx.asset(swap.origin_asset)
    if swap.deposit_type != DepositType.ORIGIN_CHAIN.value or origin.is_near_native:
        return
    if ctx.upstream is not None:  # upstream mode: the deposit address is the upstream's
        await scan_upstream_deposit(ctx, swap)
        return
    found: list[DepositRecord] = []
    deposits = await recent_bridge_deposits(
        ctx.bridge, swap.custody_account_id, origin.bridge_chain
    )
    for deposit in deposits:
        if deposit.near_token_id != origin.asset_id.removeprefix("nep141:"):
            continue  # another token sent to the same address: not this swap's asset
        tx_hash = deposit.tx_hash or deposit.mint_tx_hash
        if not tx_hash:
            continue
        found.append(
            DepositRecord(
                tx_hash=tx_hash,
                source="BRIDGE",
                chain=deposit.chain,
                amount=deposit.amount,
                status=deposit.status.value,
                created_at=deposit.created_at or ctx.clock.now(),
                asset=origin.asset_id,
            )
        )
    if not found:
        return
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        await tx.swaps.fence(swap.id, ctx.owner, now)
        for record in found:
            await tx.swaps.record_bridge_deposit(swap.id, record)


def quiet_poll(ctx: EngineContext, swap: SwapState, now: datetime, base: timedelta) -> timedelta:
    """The wait before the next poll of an account where nothing is new: ``base`` at first,
    then a quarter of the time since the swap last changed (``updated_at``: any news, a deposit
    seen, a status, resets it), at most ``quiet_poll_max``. Nothing can be missed by waiting:
    the callers cap the wait at the next deadline, where the account is read again before
    anything is decided, and ``/v0/deposit/submit`` wakes the swap at once."""
    quiet = now - swap.updated_at
    return max(base, min(quiet / 4, ctx.policy.quiet_poll_max))


def total_deposited(swap: SwapState, legs: list[Leg], origin_balance: int) -> int:
    """Everything credited so far: what is still there plus what settled legs took out."""
    spent = sum(
        leg.debits.get(swap.origin_asset, 0)
        for leg in legs
        if leg.state is IntentState.SETTLED and not leg.bounced
    )
    return max(swap.deposited_amount or 0, origin_balance + spent)


async def wait_for_order(
    ctx: EngineContext, swap: SwapState, credited: int, reason: RefundReason
) -> datetime:
    """Nothing can be signed yet: record what is deposited and the refund reason should the
    deadline come first, and look again after ``quote_retry`` (never past the deadline)."""
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        current = await tx.swaps.fence(swap.id, ctx.owner, now)
        legs = await tx.swaps.legs(swap.id)
        current.refund_because(reason)
        current.record_deposited(total_deposited(swap, legs, credited))
        await tx.swaps.save(current, now)
    return min(now + ctx.policy.quote_retry, swap.request_deadline)


async def step_deposit(ctx: EngineContext, swap: SwapState) -> datetime | None:
    await scan_bridge_deposits(ctx, swap)
    if (
        swap.deposit_type == DepositType.ORIGIN_CHAIN.value
        and ctx.asset(swap.origin_asset).is_near_native
    ):
        await sweep_near_deposit(ctx, swap)
        # After the sweep: a transfer whose balance it saw at `final` is final in `tx` too, so
        # the user's hash is confirmed before the swap leaves this step.
        await confirm_submitted_transfers(ctx, swap)
    credited = await balance(ctx, swap, swap.origin_asset)
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        current = await tx.swaps.fence(swap.id, ctx.owner, now)
        swap = current.state
        # another token's transfer to the address is the reconciliation's, not this swap's
        known = any(d.asset in (None, swap.origin_asset) for d in await tx.swaps.deposits(swap.id))
        deposited = max(swap.deposited_amount or 0, credited)
        if now >= swap.request_deadline:
            if credited > 0:
                reason = late_reason(credited, swap.min_amount_in)
                current.enter(Phase.REFUND)
                current.refund_because(reason)
                current.record_deposited(deposited)
                await tx.swaps.save(current, now)
                logger.info(
                    "deadline passed before the swap: refunding (%s)", reason.value,
                    extra={"action": "deposit", "swap_id": swap.id},
                )  # fmt: skip
                return now
            if now >= swap.quote_deadline:
                current.enter(Phase.DONE)
                await tx.swaps.save(current, now)
                logger.info(
                    "quote expired with nothing credited",
                    extra={"action": "deposit", "swap_id": swap.id},
                )
                return None
            wait = quiet_poll(ctx, swap, now, ctx.policy.deposit_poll)
            return min(now + wait, swap.quote_deadline)
        status = deposit_status(credited, swap.min_amount_in, known_tx=known)
        new_status = status if can_transition(swap.status, status) else None
        if status is SwapStatus.PROCESSING:
            if new_status is not None:
                current.move_to(new_status)
            current.enter(Phase.SWAP)
            current.record_deposited(deposited)
            await tx.swaps.save(current, now)
            return now
        if new_status is not None or deposited != (swap.deposited_amount or 0):
            if new_status is not None:
                current.move_to(new_status)
            if credited:
                current.record_deposited(deposited)
            await tx.swaps.save(current, now)
            return min(now + ctx.policy.deposit_poll, swap.request_deadline)  # news: poll soon
    wait = quiet_poll(ctx, swap, now, ctx.policy.deposit_poll)
    return min(now + wait, swap.request_deadline)
