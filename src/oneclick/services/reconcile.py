"""The reconciliation (issue 13): no coin left behind. A scan, batch by batch, of every custody
account ever issued, in any state, that refunds to ``refundTo`` whatever the swap does not need
(wrong tokens, deposits after the swap is done) or records why it cannot (dust, no route back).

Per account one ``mt_batch_balance_of`` over the configured tokens and, for bridged deposits, the
bridge's ``recent_deposits``; nothing else unless there is something to do. Acting on an account
takes the swap's lease (never while a worker steps it) and fences every write with it, so the
engine and the reconciliation never act on one account at once; refunds are legs of their own
kind (``STRAY_REFUND``) signed, persisted and published like the engine's, never of a token a
live intent or the engine still needs (:func:`oneclick.domain.reconcile.needed_tokens`).
No database transaction is held across a network call.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from oneclick.domain.engine import DepositRecord, Leg, Phase, SwapState
from oneclick.domain.errors import PermanentError, TemporaryError
from oneclick.domain.quotes import SwapType
from oneclick.domain.reconcile import Disposition, Holding, decide, needed_tokens
from oneclick.domain.records import IntentKind, IntentState
from oneclick.domain.requests import DepositType
from oneclick.services.boundary import calling
from oneclick.services.bridge_deposits import recent_bridge_deposits
from oneclick.services.engine.context import EngineContext
from oneclick.services.engine.legs import Outcome, confirm_leg, follow_leg, publish_leg
from oneclick.services.engine.payouts import sign_and_publish
from oneclick.services.ports import EngineSession, LeaseLost

logger = logging.getLogger(__name__)

PHASE = "RECONCILE"  # the phase label of the reconciliation in the engine's step metrics


class ReconcileRepository(Protocol):
    """The reconciliation's rows (``session.reconcile``): custody accounts in batches, a lease
    on one swap outside the claim queue, the balances that could not be refunded and the
    reasons recorded on deposits."""

    async def swaps_after(self, custody_index: int, limit: int) -> list[SwapState]: ...

    async def unconfirmed_stray_refunds(self, swap_ids: Collection[str]) -> set[str]: ...

    async def known_deposits(
        self, swap_ids: Collection[str]
    ) -> dict[tuple[str, str], str | None]: ...

    async def held_amounts(self, account_ids: Collection[str]) -> dict[str, dict[str, int]]: ...

    async def lease_swap(
        self, swap_id: str, owner: str, now: datetime, until: datetime
    ) -> bool: ...

    async def unlease_swap(self, swap_id: str, owner: str) -> None: ...

    async def set_holding(self, holding: Holding) -> None: ...

    async def drop_holdings(self, account_id: str, tokens: Collection[str]) -> None: ...

    async def set_deposit_reason(self, swap_id: str, token: str, reason: str | None) -> None: ...

    async def holdings(self) -> list[Holding]: ...


class ReconcileSession(EngineSession, Protocol):
    @property
    def reconcile(self) -> ReconcileRepository: ...


class ReconcileStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[ReconcileSession]: ...


@dataclass
class PassReport:
    """What one batch (or a whole pass) did."""

    accounts: int = 0
    acted: int = 0  # accounts leased and looked at closely
    refunds: int = 0
    held: int = 0  # dust or parked balances recorded
    busy: int = 0  # leased by a worker: next pass
    errors: int = 0

    def add(self, other: PassReport) -> None:
        for name in ("accounts", "acted", "refunds", "held", "busy", "errors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True, slots=True)
class _Known:
    """What the database knew about a batch before the network calls."""

    deposits: dict[tuple[str, str], str | None]
    open_refunds: set[str]
    holdings: dict[str, dict[str, int]] = field(default_factory=dict)


async def reconcile_batch(
    ctx: EngineContext, store: ReconcileStore, after: int, limit: int, lease: timedelta
) -> tuple[int | None, PassReport]:
    """Reconcile the accounts of the ``limit`` swaps after custody index ``after``; the last
    index looked at (None: the pass is over) and what was done."""
    report = PassReport()
    async with store.transaction() as tx:
        batch = await tx.reconcile.swaps_after(after, limit)
        if not batch:
            return None, report
        ids = [s.id for s in batch]
        known = _Known(
            await tx.reconcile.known_deposits(ids),
            await tx.reconcile.unconfirmed_stray_refunds(ids),
            await tx.reconcile.held_amounts([s.custody_account_id for s in batch]),
        )
    tokens = [asset.asset_id for asset in ctx.registry.all()]
    for swap in batch:
        report.accounts += 1
        before = (report.refunds, report.held)
        try:
            await _account(ctx, store, swap, tokens, known, lease, report)
        except LeaseLost:
            report.busy += 1
        except TemporaryError as exc:
            report.errors += 1
            ctx.metrics.step(PHASE, "retry")
            logger.warning(
                "reconciliation deferred: %s", exc.message,
                extra={"action": "reconcile", "swap_id": swap.id},
            )  # fmt: skip
        except Exception:  # the loop top: logged with the swap id, retried next pass
            report.errors += 1
            ctx.metrics.step(PHASE, "error")
            logger.exception(
                "reconciliation failed", extra={"action": "reconcile", "swap_id": swap.id}
            )
        # in the engine's step counters: refunds signed, balances recorded as held
        counts = (("refund", report.refunds - before[0]), ("held", report.held - before[1]))
        for outcome, count in counts:
            for _ in range(count):
                ctx.metrics.step(PHASE, outcome)
    return batch[-1].custody_index, report


async def _balances(ctx: EngineContext, account_id: str, tokens: Sequence[str]) -> dict[str, int]:
    if not tokens:
        return {}
    async with calling("the verifier (mt_batch_balance_of)"):
        found = await ctx.verifier.mt_batch_balance_of(account_id, tokens)
    if len(found) != len(tokens) or any(b < 0 for b in found):
        raise TemporaryError("mt_batch_balance_of answered a different number of balances")
    return dict(zip(tokens, found, strict=True))


async def _bridge_deposits(ctx: EngineContext, swap: SwapState) -> list[DepositRecord]:
    """Every deposit, in any token, the bridge saw to the swap's deposit address."""
    origin = ctx.registry.by_token_id(swap.origin_asset)
    if swap.deposit_type != DepositType.ORIGIN_CHAIN.value or origin is None:
        return []
    if origin.is_near_native or origin.bridge_chain is None:
        return []
    if ctx.upstream is not None:  # upstream mode: no bridge to ask; the balances tell
        return []
    found: list[DepositRecord] = []
    deposits = await recent_bridge_deposits(
        ctx.bridge, swap.custody_account_id, origin.bridge_chain
    )
    for deposit in deposits:
        tx_hash = deposit.tx_hash or deposit.mint_tx_hash
        if not tx_hash or deposit.account_id != swap.custody_account_id:
            continue  # the bridge is a peer: only what it says about this account counts
        found.append(
            DepositRecord(
                tx_hash=tx_hash, source="BRIDGE", chain=deposit.chain, amount=deposit.amount,
                status=deposit.status.value, created_at=deposit.created_at or ctx.clock.now(),
                asset=f"nep141:{deposit.near_token_id}",
            )
        )  # fmt: skip
    return found


async def _account(
    ctx: EngineContext,
    store: ReconcileStore,
    swap: SwapState,
    tokens: Sequence[str],
    known: _Known,
    lease: timedelta,
    report: PassReport,
) -> None:
    if swap.swap_type is SwapType.ANY_INPUT:
        return  # every token there is its engine's (services/engine/any_input.py)
    balances = await _balances(ctx, swap.custody_account_id, tokens)
    seen = await _bridge_deposits(ctx, swap)
    # The engine records its own asset's deposits while it runs; the rest are ours to record.
    new = [
        d for d in seen
        if known.deposits.get((swap.id, d.tx_hash), "?") != d.status
        and (d.asset != swap.origin_asset or swap.phase is Phase.DONE)
    ]  # fmt: skip
    owned = needed_tokens(swap, ())
    strays = {t: amount for t, amount in balances.items() if amount > 0 and t not in owned}
    held_before = known.holdings.get(swap.custody_account_id, {})
    if not new and swap.id not in known.open_refunds and strays == held_before:
        return  # the common case: nothing here but what the engine owns, or what is recorded
    now = ctx.clock.now()
    async with store.transaction() as tx:
        if not await tx.reconcile.lease_swap(swap.id, ctx.owner, now, now + lease):
            report.busy += 1
            return
    report.acted += 1
    try:
        await _act(ctx, store, swap, new, set(strays) | set(held_before), report)
    finally:
        async with store.transaction() as tx:
            await tx.reconcile.unlease_swap(swap.id, ctx.owner)


async def _act(
    ctx: EngineContext,
    store: ReconcileStore,
    swap: SwapState,
    new: list[DepositRecord],
    candidates: set[str],
    report: PassReport,
) -> None:
    now = ctx.clock.now()
    async with store.transaction() as tx:
        swap = (await tx.swaps.fence(swap.id, ctx.owner, now)).state
        for deposit in new:
            await tx.swaps.record_bridge_deposit(swap.id, deposit)
        legs = await tx.swaps.legs(swap.id)
    problems = await _drive_refunds(ctx, swap, legs)
    async with store.transaction() as tx:
        legs = await tx.swaps.legs(swap.id)
    needed = needed_tokens(swap, legs)
    # Balances read again under the lease: the engine may have moved funds since the scan.
    balances = await _balances(ctx, swap.custody_account_id, sorted(candidates - needed))
    origin = ctx.registry.by_token_id(swap.origin_asset)
    keep: dict[str, Holding] = {}
    for token, amount in balances.items():
        asset = ctx.registry.by_token_id(token)
        if amount <= 0 or asset is None:
            continue
        decision = decide(swap, origin, asset, amount)
        if decision.disposition is Disposition.REFUND:
            logger.info(
                "refunding %s %s the swap does not need to %s", amount, token, swap.refund_to,
                extra={"action": "reconcile", "swap_id": swap.id},
            )  # fmt: skip
            await sign_and_publish(
                ctx, swap, IntentKind.STRAY_REFUND, token, amount, swap.refund_to,
                internal=decision.internal,
            )  # fmt: skip
            report.refunds += 1
            continue
        reason = decision.reason or decision.disposition.value
        keep[token] = Holding(
            swap.custody_account_id, token, swap.id, amount, decision.disposition, reason,
            ctx.clock.now(),
        )  # fmt: skip
    for token, (amount, reason) in problems.items():
        keep[token] = Holding(
            swap.custody_account_id, token, swap.id, amount, Disposition.PARKED, reason,
            ctx.clock.now(),
        )  # fmt: skip
    await _record_holdings(ctx, store, swap, keep, candidates)
    report.held += len(keep)


async def _record_holdings(
    ctx: EngineContext,
    store: ReconcileStore,
    swap: SwapState,
    keep: dict[str, Holding],
    candidates: set[str],
) -> None:
    now = ctx.clock.now()
    async with store.transaction() as tx:
        await tx.swaps.fence(swap.id, ctx.owner, now)
        for holding in keep.values():
            await tx.reconcile.set_holding(holding)
            await tx.reconcile.set_deposit_reason(swap.id, holding.token, holding.reason)
        gone = candidates - keep.keys()
        if gone:
            await tx.reconcile.drop_holdings(swap.custody_account_id, gone)
            for token in gone:
                await tx.reconcile.set_deposit_reason(swap.id, token, None)
    for holding in keep.values():
        logger.warning(
            "%s %s left in the custody account: %s", holding.amount, holding.token,
            holding.reason, extra={"action": "reconcile", "swap_id": swap.id},
        )  # fmt: skip


async def _drive_refunds(
    ctx: EngineContext, swap: SwapState, legs: list[Leg]
) -> dict[str, tuple[int, str]]:
    """Follow the reconciliation's refunds to delivery; the tokens whose refund the bridge
    reports as failed (the funds come back to the account: an operator looks at it)."""
    problems: dict[str, tuple[int, str]] = {}
    internal = swap.refund_type == "INTENTS"
    for leg in legs:
        if leg.kind is not IntentKind.STRAY_REFUND or leg.state is IntentState.DEAD:
            continue
        if leg.delivered is not None or not leg.debits:
            continue
        token, amount = next(iter(leg.debits.items()))
        if leg.live:
            leg = await publish_leg(ctx, swap, leg)
            leg, outcome = await follow_leg(ctx, swap, leg)
            if outcome is not Outcome.SETTLED:
                continue
        try:
            await confirm_leg(ctx, swap, leg, ctx.asset(token), internal=internal)
        except PermanentError as exc:
            problems[token] = (amount, f"refund {leg.intent_hash} failed: {exc.message}")
    return problems


async def held_balances(store: ReconcileStore) -> list[Holding]:
    """Every balance the reconciliation could not refund (``oneclick admin stuck``)."""
    async with store.transaction() as tx:
        return await tx.reconcile.holdings()
