"""The engine's side of upstream mode (:mod:`oneclick.services.upstream`).

    scan_upstream_deposit   the upstream's ``/v0/status`` of the deposit address it gave us: the
                            user's chain transactions (``KNOWN_DEPOSIT_TX``, shown as ours); the
                            custody balance stays the truth of what is credited
    upstream_delivery       a chain payout or refund: an upstream quote from an Intents deposit
                            to the receiver's address, and the ``transfer`` to its deposit
                            address (signed, persisted and published by the caller as a leg)
    confirm_upstream_leg    that quote's ``/v0/status``: the destination transaction and what
                            it delivered; REFUNDED means the funds came back: the leg is dead

The leg's own signed ``transfer`` names the upstream's deposit address, so nothing else needs
persisting and a restarted worker finds it again. Every surprise (unreachable, a 5xx, an answer
that does not validate, a refusal) is a ``TemporaryError``: retried with backoff for the
engine's bounded number of attempts, never a reason to park at once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from nearintents import signing
from nearintents.payload import AnyIntent, Transfer
from oneclick.domain.assets import Asset
from oneclick.domain.engine import DepositRecord, Leg, Phase, RefundReason, SwapState
from oneclick.domain.errors import NotFound, RequestError, TemporaryError
from oneclick.domain.records import IntentState
from oneclick.domain.swaps import SwapStatus
from oneclick.services.boundary import calling
from oneclick.services.engine.context import EngineContext
from oneclick.services.ports import UpstreamStatus
from oneclick.services.upstream import FORWARDED, check_payout_quote, payout_request

logger = logging.getLogger(__name__)

REFUNDED_BY_UPSTREAM = "refunded by the upstream"
# A payout the upstream refunded is paid again through a fresh quote, at most this many times:
# after that the step fails (retried with backoff, then parked) and the funds wait for an
# operator in the custody account.
MAX_UPSTREAM_REFUNDS = 3
# The upstream's view of the deposit it forwards, as a bridge deposit status (``shown_deposit``
# shows the PENDING and COMPLETED ones: the upstream has seen them on chain).
_DEPOSIT_STATUS = {
    SwapStatus.PENDING_DEPOSIT: "PENDING",
    SwapStatus.KNOWN_DEPOSIT_TX: "PENDING",
    SwapStatus.INCOMPLETE_DEPOSIT: "PENDING",
    SwapStatus.PROCESSING: "PENDING",
    SwapStatus.SUCCESS: "COMPLETED",
    SwapStatus.REFUNDED: "FAILED",
    SwapStatus.FAILED: "FAILED",
}


async def scan_upstream_deposit(ctx: EngineContext, swap: SwapState) -> None:
    """Record the chain transactions the upstream saw to the address it gave us."""
    assert ctx.upstream is not None
    try:
        status = await ctx.upstream.api.status(swap.deposit_address, swap.deposit_memo)
    except NotFound as exc:  # it gave us this address: not knowing it is its problem, for now
        ctx.metrics.waiting("upstream_unknown_address")
        raise TemporaryError(f"the upstream does not know its deposit address: {exc}") from exc
    await _record_upstream_deposit(ctx, swap, status)
    if status.status is SwapStatus.REFUNDED:
        await _refunded_by_upstream(ctx, swap, status)


async def _refunded_by_upstream(
    ctx: EngineContext, swap: SwapState, status: UpstreamStatus
) -> None:
    """The upstream refunded the deposit itself, to the user's ``refundTo`` (below its minimum,
    say): if nothing reached us, our swap is REFUNDED too, its SWEEP refunding anything that
    still arrives; if something did, our engine goes on with it as usual."""
    if swap.status not in (SwapStatus.PENDING_DEPOSIT, SwapStatus.KNOWN_DEPOSIT_TX):
        return
    async with calling("the verifier (mt_balance_of)"):
        credited = await ctx.verifier.mt_balance_of(swap.custody_account_id, swap.origin_asset)
    if credited > 0:
        return
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        current = await tx.swaps.fence(swap.id, ctx.owner, now)
        if current.phase is not Phase.DEPOSIT or current.status is not swap.status:
            return
        current.refund_because(RefundReason.DEPOSIT_TOO_LOW)
        current.move_to(SwapStatus.REFUNDED)
        current.enter(Phase.SWEEP)
        await tx.swaps.save(current, now)
    logger.warning(
        "the upstream refunded the deposit itself (refunded %s): the swap is REFUNDED",
        status.refunded_amount,
        extra={"action": "deposit", "swap_id": swap.id},
    )


async def _record_upstream_deposit(
    ctx: EngineContext, swap: SwapState, status: UpstreamStatus
) -> None:
    if not status.origin_tx_hashes:
        return
    origin = ctx.asset(swap.origin_asset)
    single = len(status.origin_tx_hashes) == 1
    now = ctx.clock.now()
    records = [
        DepositRecord(
            tx_hash=tx_hash,
            source="UPSTREAM",
            chain=origin.blockchain,
            amount=status.deposited_amount if single else None,
            status=_DEPOSIT_STATUS[status.status],
            created_at=now,
            asset=origin.asset_id,
        )
        for tx_hash in status.origin_tx_hashes
    ]
    if status.status is SwapStatus.SUCCESS:  # its hop into our custody account, for /v0/status
        records += [
            DepositRecord(
                tx_hash=tx_hash,
                source=FORWARDED,
                chain="near",
                amount=None,
                status=FORWARDED,
                created_at=now,
                asset=origin.asset_id,
            )
            for tx_hash in status.near_tx_hashes
        ]
    async with ctx.store.transaction() as tx:
        await tx.swaps.fence(swap.id, ctx.owner, now)
        known = {d.tx_hash: d for d in await tx.swaps.deposits(swap.id)}
        for record in records:
            seen = known.get(record.tx_hash)
            if seen is not None and seen.source == record.source and seen.status == record.status:
                continue  # unchanged: keep its first-seen time
            await tx.swaps.record_bridge_deposit(swap.id, record)


def rides_upstream_payout(ctx: EngineContext, asset: Asset, *, internal: bool) -> bool:
    return (
        ctx.upstream is not None and ctx.upstream.payouts and not internal
        and not asset.is_near_native
    )  # fmt: skip


async def upstream_delivery(
    ctx: EngineContext, swap: SwapState, asset: Asset, amount: int, receiver: str
) -> AnyIntent:
    """The ``transfer`` of ``amount`` to a fresh upstream quote's Intents deposit address that
    delivers it to ``receiver`` on the asset's chain (what it cannot deliver it refunds to our
    custody account)."""
    assert ctx.upstream is not None
    async with ctx.store.transaction() as tx:
        legs = await tx.swaps.legs(swap.id)
    refunded = sum(1 for leg in legs if leg.reason == REFUNDED_BY_UPSTREAM)
    if refunded >= MAX_UPSTREAM_REFUNDS:  # the funds are back with us: an operator decides
        raise TemporaryError(
            f"the upstream refunded {refunded} payouts of this swap; not paying it again"
        )
    request = payout_request(
        asset,
        amount,
        receiver,
        refund_to=swap.custody_account_id,
        dry=False,
        now=ctx.clock.now(),
    )
    try:
        quote = await ctx.upstream.api.quote(request)
    except RequestError as exc:  # a refusal of ours (its minimum moved?): retried, bounded
        raise TemporaryError(f"the upstream refused the payout quote: {exc.message}") from exc
    check_payout_quote(quote, amount)
    if quote.deposit_address is None:
        raise TemporaryError("the upstream 1Click gave no deposit address")
    logger.info(
        "upstream payout quote: %s of %s via %s", amount, asset.asset_id, quote.deposit_address,
        extra={"action": "payout", "swap_id": swap.id},
    )  # fmt: skip
    return Transfer(receiver_id=quote.deposit_address, tokens={asset.asset_id: amount})


def upstream_receiver(leg: Leg) -> str | None:
    """The upstream deposit address a chain payout or refund leg paid, if it is one (a single
    ``transfer``: a PoA withdrawal is an ``ft_withdraw``)."""
    try:
        payload = signing.extract_payload(json.loads(leg.signed_data))
    except (ValueError, KeyError, TypeError):
        return None
    intents = payload.get("intents")
    if not isinstance(intents, list) or len(intents) != 1:
        return None
    intent = intents[0]
    if not isinstance(intent, dict) or intent.get("intent") != "transfer":
        return None
    receiver = intent.get("receiver_id")
    return receiver if isinstance(receiver, str) else None


async def confirm_upstream_leg(
    ctx: EngineContext, swap: SwapState, leg: Leg, receiver: str, amount: int
) -> Leg | None:
    """The upstream's account of the payout our settled ``transfer`` paid for: delivered (with
    its destination transaction), still under way (None), or refunded to us (the leg is dead:
    the funds are back in the custody account and the next step pays them out again)."""
    assert ctx.upstream is not None
    try:
        status = await ctx.upstream.api.status(receiver, None)
    except NotFound as exc:
        raise TemporaryError(f"the upstream does not know its payout address: {exc}") from exc
    now = ctx.clock.now()
    if status.status is SwapStatus.SUCCESS:
        delivered = status.amount_out
        if not status.destination_tx_hashes or delivered is None:
            ctx.metrics.waiting("upstream_success_without_tx")
            return None
        if not 0 < delivered <= amount:
            raise TemporaryError(f"the upstream reports {delivered} delivered of {amount} paid")
        destination = status.destination_tx_hashes[0]
        async with ctx.store.transaction() as tx:
            await tx.swaps.fence(swap.id, ctx.owner, now)
            await tx.swaps.update_leg(
                leg.intent_hash, now, delivered=delivered, destination_tx_hash=destination
            )
        return replace(leg, delivered=delivered, destination_tx_hash=destination)
    if status.status is SwapStatus.REFUNDED:
        logger.warning(
            "the upstream refunded our payout leg: paying it out again",
            extra={"action": "confirm", "swap_id": swap.id, "intent_hash": leg.intent_hash},
        )
        async with ctx.store.transaction() as tx:
            await tx.swaps.fence(swap.id, ctx.owner, now)
            await tx.swaps.update_leg(
                leg.intent_hash, now, state=IntentState.DEAD, reason=REFUNDED_BY_UPSTREAM
            )
        return None
    if status.status is SwapStatus.FAILED:
        raise TemporaryError("the upstream reports our payout leg FAILED")
    if now > leg.deadline + ctx.policy.bridge_index_grace:
        raise TemporaryError(f"the upstream's payout is still {status.status.value}")
    ctx.metrics.waiting("upstream_payout_under_way")
    return None
