"""The engine's step for an ANY_INPUT quote (docs/protocol-notes.md "ANY_INPUT"): the quote's
reusable Intents account takes any number of deposits of any supported asset, from any chain,
until the quote's deadline. Each deposit is its own row with its own swap leg; the swapped
outputs pool in the account and leave in withdrawals once the pool is worth the threshold
(or, for ``1cs_v1:original``, each deposit is transferred to the recipient as it came).

One step does one thing, and at most one intent of the account is live at a time
(ARCHITECTURE.md §4 rule 2): drive the live leg; else record new deposits (balances read back,
then the bridge's list); else swap one deposit; else withdraw the pool. Nothing is ever
refunded: a swap that finds no acceptable offer is retried every ``any_input_retry``.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import replace
from datetime import datetime

from nearintents.encoding import b64decode
from nearintents.payload import TokenDiff
from nearintents.rpc import Quote, QuoteRequest
from oneclick.domain.any_input import (
    ORIGINAL,
    AnyInputDeposit,
    AnyInputWithdrawal,
    DepositPhase,
    SeenTransfer,
    WithdrawalState,
    committed,
    fair_out,
    least_out,
    new_deposits,
    pool_ready,
)
from oneclick.domain.engine import Leg, Phase, SwapState
from oneclick.domain.errors import TemporaryError
from oneclick.domain.records import IntentKind, IntentState
from oneclick.domain.requests import RecipientType
from oneclick.domain.swaps import SwapStatus
from oneclick.services.boundary import calling
from oneclick.services.bridge_deposits import recent_bridge_deposits
from oneclick.services.engine.context import EngineContext
from oneclick.services.engine.deposits import balance
from oneclick.services.engine.legs import (
    Outcome,
    confirm_leg,
    delivery_intent,
    follow_leg,
    publish_leg,
    signed_leg,
)
from oneclick.services.pricing import asset_prices

logger = logging.getLogger(__name__)


def _slippage_bps(swap: SwapState) -> int:
    """The quote's ``slippageTolerance`` (its signed request echo)."""
    try:
        value = json.loads(swap.quote_response)["quoteRequest"]["slippageTolerance"]
    except (ValueError, KeyError, TypeError):
        return 0
    return value if isinstance(value, int) else 0


async def _state(
    ctx: EngineContext, swap: SwapState
) -> tuple[list[AnyInputDeposit], list[AnyInputWithdrawal], list[Leg]]:
    async with ctx.store.transaction() as tx:
        return (
            await tx.any_input.deposits(swap.id),
            await tx.any_input.withdrawals(swap.id),
            await tx.swaps.legs(swap.id),
        )


def _destination(swap: SwapState) -> str | None:
    return None if swap.destination_asset == ORIGINAL else swap.destination_asset


async def step_any_input(ctx: EngineContext, swap: SwapState) -> datetime | None:
    deposits, withdrawals, legs = await _state(ctx, swap)
    by_hash = {leg.intent_hash: leg for leg in legs}
    held = _held(swap, deposits, withdrawals)
    for withdrawal in withdrawals:
        if withdrawal.state is WithdrawalState.PENDING:
            leg = by_hash[withdrawal.intent_hash]
            return await _drive_withdrawal(ctx, swap, withdrawal, leg, held)
    for deposit in deposits:
        if deposit.phase is DepositPhase.SWAP and deposit.swap_intent is not None:
            return await _drive_swap(ctx, swap, deposit, by_hash[deposit.swap_intent], held)
    now = ctx.clock.now()
    live = now < swap.quote_deadline
    if live and await _record_new_deposits(ctx, swap, deposits, withdrawals):
        return ctx.clock.now()
    due = [d for d in deposits if d.phase is DepositPhase.SWAP and d.next_try_at <= now]
    for deposit in due:
        if await _swap_deposit(ctx, swap, deposit):
            return ctx.clock.now()
    if await _withdraw_pool(ctx, swap, deposits, closing=not live):
        return ctx.clock.now()
    return await _settle_status(ctx, swap, deposits, live=live)


# --- deposits -------------------------------------------------------------------------------


async def _record_new_deposits(
    ctx: EngineContext,
    swap: SwapState,
    deposits: list[AnyInputDeposit],
    withdrawals: list[AnyInputWithdrawal],
) -> bool:
    tokens = [asset.asset_id for asset in ctx.registry.all()]
    async with calling("the verifier (mt_batch_balance_of)"):
        amounts = await ctx.verifier.mt_batch_balance_of(swap.custody_account_id, tokens)
    if len(amounts) != len(tokens):
        raise TemporaryError("the verifier answered a balance list of the wrong length")
    balances = dict(zip(tokens, amounts, strict=True))
    seen = await _bridge_transfers(ctx, swap)
    held = _held(swap, deposits, withdrawals)
    recorded = {d.tx_hash for d in deposits if d.tx_hash}
    found = new_deposits(balances, held, seen, recorded)
    if not found:
        return False
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        current = await tx.swaps.fence(swap.id, ctx.owner, now)
        await tx.any_input.add_deposits(swap.id, found, [str(uuid.uuid4()) for _ in found], now)
        current.move_to(SwapStatus.PROCESSING)
        await tx.swaps.save(current, now)  # news, with or without a new status
    for deposit in found:
        logger.info(
            "ANY_INPUT deposit of %s %s (%s, %s)", deposit.amount, deposit.token,
            deposit.source, deposit.tx_hash or "no tx",
            extra={"action": "any_input_deposit", "swap_id": swap.id},
        )  # fmt: skip
    return True


async def _bridge_transfers(ctx: EngineContext, swap: SwapState) -> list[SeenTransfer]:
    """Every transfer the bridge reports into the account, on every chain it serves."""
    chains = sorted(
        {a.bridge_chain for a in ctx.registry.all() if a.bridge_chain and not a.is_near_native}
    )
    tokens = {a.asset_id.removeprefix("nep141:"): a.asset_id for a in ctx.registry.all()}
    seen: list[SeenTransfer] = []
    for chain in chains:
        for deposit in await recent_bridge_deposits(ctx.bridge, swap.custody_account_id, chain):
            token = tokens.get(deposit.near_token_id)
            tx_hash = deposit.tx_hash or deposit.mint_tx_hash
            if token is None or not tx_hash or deposit.account_id != swap.custody_account_id:
                continue  # not ours, or a token we do not serve (the operator's)
            completed = deposit.status.value == "COMPLETED"
            seen.append(SeenTransfer(tx_hash, str(deposit.chain), token, deposit.amount,
                                     completed))  # fmt: skip
    return seen


# --- following a leg ------------------------------------------------------------------------


async def _follow(
    ctx: EngineContext, swap: SwapState, leg: Leg, held: dict[str, int]
) -> tuple[Leg, Outcome]:
    """:func:`follow_leg`, except past the leg's deadline with its nonce unused (it may have been
    garbage-collected) and no final transaction to ask: there ``follow_leg`` reads a swap's
    credits as proof, but in an ANY_INPUT account another deposit's swap credits the same token.
    The debit side decides instead: executed iff the account holds less of a debited token than
    the recorded deposits (``held``, :func:`oneclick.domain.any_input.committed`) account for.
    Deposits recorded later only add to the balance, never take from it."""
    if leg.state in (IntentState.SETTLED, IntentState.DEAD):
        return await follow_leg(ctx, swap, leg)
    if ctx.clock.now() <= leg.deadline + ctx.policy.dead_margin:
        return await follow_leg(ctx, swap, leg)
    async with calling("the verifier (is_nonce_used)"):
        used = await ctx.verifier.is_nonce_used(leg.signer_id, b64decode(leg.nonce))
    async with calling("the solver relay (get_status)"):
        status = await ctx.relay.get_status(leg.intent_hash)
    tx_hash = status.tx_hash or leg.tx_hash
    executed: bool | None = True if used else None
    if executed is None and tx_hash is not None:
        async with calling("NEAR RPC (tx)"):
            executed = await ctx.verifier.executed_in(tx_hash, leg.intent_hash)
    if executed is None:
        executed = False
        for token in leg.debits:
            if await balance(ctx, swap, token) < held.get(token, 0):
                executed = True
    now = ctx.clock.now()
    state = IntentState.SETTLED if executed else IntentState.DEAD
    reason = None if executed else f"expired ({status.status.value})"
    async with ctx.store.transaction() as tx:
        await tx.swaps.fence(swap.id, ctx.owner, now)
        await tx.swaps.update_leg(leg.intent_hash, now, state=state, tx_hash=tx_hash, reason=reason)
    leg = replace(leg, state=state, tx_hash=tx_hash, reason=reason)
    return leg, Outcome.SETTLED if executed else Outcome.DEAD


def _held(
    swap: SwapState, deposits: list[AnyInputDeposit], withdrawals: list[AnyInputWithdrawal]
) -> dict[str, int]:
    settled = {w.id for w in withdrawals if w.state is WithdrawalState.SUCCESS}
    return committed(deposits, _destination(swap), settled)


# --- swaps ----------------------------------------------------------------------------------


async def _retry_later(
    ctx: EngineContext, swap: SwapState, deposit: AnyInputDeposit, why: str
) -> None:
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        await tx.swaps.fence(swap.id, ctx.owner, now)
        await tx.any_input.update_deposit(
            deposit.id, now, swap_intent=None, attempts=deposit.attempts + 1,
            next_try_at=now + ctx.policy.any_input_retry, last_error=why[:500],
        )  # fmt: skip
    logger.info(
        "ANY_INPUT deposit %d not swapped (%s): retrying in %s", deposit.seq, why,
        ctx.policy.any_input_retry, extra={"action": "any_input_swap", "swap_id": swap.id},
    )  # fmt: skip


async def _pool_as_is(ctx: EngineContext, swap: SwapState, deposit: AnyInputDeposit) -> None:
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        await tx.swaps.fence(swap.id, ctx.owner, now)
        await tx.any_input.update_deposit(
            deposit.id, now, phase=DepositPhase.POOLED, amount_out=deposit.amount, last_error=None
        )


async def _swap_deposit(ctx: EngineContext, swap: SwapState, deposit: AnyInputDeposit) -> bool:
    """Swap one deposit (or pool it as it is): True when something was done."""
    destination = _destination(swap)
    if destination is None or deposit.asset == destination:
        await _pool_as_is(ctx, swap, deposit)
        return True
    asset_in, asset_out = ctx.asset(deposit.asset), ctx.asset(destination)
    request = QuoteRequest(
        defuse_asset_identifier_in=deposit.asset,
        defuse_asset_identifier_out=destination,
        exact_amount_in=deposit.amount,
        min_deadline_ms=ctx.quotes.relay_min_deadline_ms,
    )
    async with calling("the solver relay (quote)"):
        answers = await ctx.relay.quote(request)
    prices = await asset_prices(ctx.prices, [asset_in, asset_out]) if ctx.prices else {}
    floor = least_out(fair_out(deposit.amount, asset_in, asset_out, prices), _slippage_bps(swap))
    now = ctx.clock.now()
    offers = [
        a for a in answers
        if isinstance(a, Quote) and a.matches(request) and a.expiration_time > now
        and a.amount_in == deposit.amount and a.amount_out >= floor
    ]  # fmt: skip
    if not offers:
        await _retry_later(ctx, swap, deposit, f"no offer of at least {floor} {destination}")
        return False
    best = max(offers, key=lambda q: q.amount_out)
    deadline = min(now + ctx.policy.swap_intent_lifetime, best.expiration_time)
    leg = await signed_leg(
        ctx, swap, IntentKind.SWAP,
        [TokenDiff(diff={deposit.asset: -best.amount_in, destination: best.amount_out})],
        deadline=deadline, debits={deposit.asset: best.amount_in},
        credits={destination: best.amount_out}, quote_hashes=(best.quote_hash,),
    )  # fmt: skip
    async with ctx.store.transaction() as tx:
        await tx.swaps.fence(swap.id, ctx.owner, ctx.clock.now())
        await tx.any_input.add_swap_leg(deposit.id, leg, ctx.clock.now())
    await publish_leg(ctx, swap, leg)
    return True


async def _drive_swap(
    ctx: EngineContext, swap: SwapState, deposit: AnyInputDeposit, leg: Leg, held: dict[str, int]
) -> datetime | None:
    leg = await publish_leg(ctx, swap, leg)
    leg, outcome = await _follow(ctx, swap, leg, held)
    if outcome is Outcome.PENDING:
        return ctx.clock.now() + ctx.policy.follow_poll
    if outcome is Outcome.DEAD:
        await _retry_later(ctx, swap, deposit, f"swap intent {leg.intent_hash} expired")
        return ctx.clock.now()
    received = sum(leg.credits.values())
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        await tx.swaps.fence(swap.id, ctx.owner, now)
        await tx.any_input.update_deposit(
            deposit.id, now, phase=DepositPhase.POOLED, amount_out=received, last_error=None
        )
    logger.info(
        "ANY_INPUT deposit %d swapped: %s %s -> %s %s", deposit.seq, deposit.amount,
        deposit.asset, received, swap.destination_asset,
        extra={"action": "any_input_swap", "swap_id": swap.id},
    )  # fmt: skip
    return now


# --- withdrawals ----------------------------------------------------------------------------


async def _withdraw_pool(
    ctx: EngineContext, swap: SwapState, deposits: list[AnyInputDeposit], *, closing: bool
) -> bool:
    """Withdraw what is pooled, when it is due: each deposit on its own for ``original``, the
    whole pool once it reaches the threshold otherwise. The amount is read back from the
    account (never more than it holds)."""
    now = ctx.clock.now()
    pooled = [
        d for d in deposits
        if d.phase is DepositPhase.POOLED and d.withdrawal_id is None and d.next_try_at <= now
    ]  # fmt: skip
    if not pooled:
        return False
    internal = swap.recipient_type == RecipientType.INTENTS.value
    destination = _destination(swap)
    carried = pooled[:1] if destination is None else pooled  # original: one deposit at a time
    token = destination or carried[0].asset
    asset = ctx.asset(token)
    amount = sum(d.amount_out or 0 for d in carried)
    if destination is not None:
        prices = await asset_prices(ctx.prices, [asset]) if ctx.prices else {}
        ready = pool_ready(
            amount, asset, prices.get(token), ctx.policy.any_input_threshold_usd,
            closing=closing,
            bridge_fee=0 if internal or asset.is_near_native else asset.withdrawal_fee,
            bridge_minimum=0 if internal or asset.is_near_native else asset.min_withdrawal_amount,
        )  # fmt: skip
        if not ready:
            return False
    held = await balance(ctx, swap, token)
    if held < amount:
        # Settled at the relay but not yet at ``final``: the views trail; retried, bounded.
        ctx.metrics.waiting("output_not_visible")
        raise TemporaryError(f"the pool holds {held} {token}, less than the {amount} recorded")
    intent = delivery_intent(asset, amount, swap.recipient, internal=internal)
    deadline = now + ctx.policy.withdraw_intent_lifetime
    leg = await signed_leg(
        ctx, swap, IntentKind.WITHDRAW, [intent], deadline=deadline, debits={token: amount}
    )
    withdrawal = AnyInputWithdrawal(
        id=str(uuid.uuid4()), swap_id=swap.id, asset=token, amount=amount,
        intent_hash=leg.intent_hash, state=WithdrawalState.PENDING, delivered=None,
        tx_hash=None, created_at=now, updated_at=now,
    )  # fmt: skip
    async with ctx.store.transaction() as tx:
        await tx.swaps.fence(swap.id, ctx.owner, ctx.clock.now())
        await tx.any_input.add_withdrawal(withdrawal, leg, [d.id for d in carried])
    logger.info(
        "ANY_INPUT withdrawal of %s %s to %s (%d deposits)", amount, token, swap.recipient,
        len(carried), extra={"action": "any_input_withdraw", "swap_id": swap.id},
    )  # fmt: skip
    await publish_leg(ctx, swap, leg)
    return True


async def _drive_withdrawal(
    ctx: EngineContext,
    swap: SwapState,
    withdrawal: AnyInputWithdrawal,
    leg: Leg,
    held: dict[str, int],
) -> datetime | None:
    internal = swap.recipient_type == RecipientType.INTENTS.value
    if leg.live:
        leg = await publish_leg(ctx, swap, leg)
        leg, outcome = await _follow(ctx, swap, leg, held)
        if outcome is Outcome.PENDING:
            return ctx.clock.now() + ctx.policy.follow_poll
        if outcome is Outcome.DEAD:
            now = ctx.clock.now()
            async with ctx.store.transaction() as tx:
                await tx.swaps.fence(swap.id, ctx.owner, now)
                await tx.any_input.finish_withdrawal(
                    withdrawal.id, now, state=WithdrawalState.FAILED,
                    retry_at=now + ctx.policy.any_input_retry,
                )  # fmt: skip
            logger.warning(
                "ANY_INPUT withdrawal expired unexecuted: retrying in %s",
                ctx.policy.any_input_retry,
                extra={"action": "any_input_withdraw", "swap_id": swap.id},
            )
            return now
    confirmed = await confirm_leg(ctx, swap, leg, ctx.asset(withdrawal.asset), internal=internal)
    if confirmed is None:
        return ctx.clock.now() + ctx.policy.withdrawal_poll
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        await tx.swaps.fence(swap.id, ctx.owner, now)
        await tx.any_input.finish_withdrawal(
            withdrawal.id, now, state=WithdrawalState.SUCCESS, delivered=confirmed.delivered,
            tx_hash=confirmed.destination_tx_hash,
        )  # fmt: skip
    logger.info(
        "ANY_INPUT withdrawal delivered: %s %s", confirmed.delivered, withdrawal.asset,
        extra={"action": "any_input_withdraw", "swap_id": swap.id},
    )  # fmt: skip
    return now


# --- the quote's own status -----------------------------------------------------------------


async def _settle_status(
    ctx: EngineContext, swap: SwapState, deposits: list[AnyInputDeposit], *, live: bool
) -> datetime | None:
    """While the address is live: poll again. Once it is inactive and nothing is left to do:
    SUCCESS when deposits were delivered (those never swapped are STRANDED for an operator),
    and the quote is done."""
    now = ctx.clock.now()
    waiting = [d for d in deposits if d.phase in (DepositPhase.SWAP, DepositPhase.POOLED)]
    if live:
        pending = [d.next_try_at for d in waiting if d.next_try_at > now]  # retries due later
        return min([now + ctx.policy.deposit_poll, swap.quote_deadline, *pending])
    swappable = [d for d in waiting if d.phase is DepositPhase.SWAP]
    unwithdrawable = [d for d in waiting if d.phase is DepositPhase.POOLED]
    async with ctx.store.transaction() as tx:
        current = await tx.swaps.fence(swap.id, ctx.owner, now)
        for deposit in swappable + unwithdrawable:
            await tx.any_input.update_deposit(
                deposit.id, now, phase=DepositPhase.STRANDED,
                last_error=deposit.last_error or "the address went inactive first",
            )  # fmt: skip
        if current.status is SwapStatus.PROCESSING:
            current.move_to(SwapStatus.SUCCESS)
        current.enter(Phase.DONE)
        await tx.swaps.save(current, now)
    if waiting:
        logger.warning(
            "ANY_INPUT address inactive with %d deposits not delivered: held for an operator",
            len(waiting), extra={"action": "any_input_close", "swap_id": swap.id},
        )  # fmt: skip
    return None
