"""``get_status``, ``status_report`` and ``submit_deposit``: a swap found by its deposit address
(and memo)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from oneclick.domain.addresses import require_intents_account
from oneclick.domain.amounts import format_units, usd_value
from oneclick.domain.any_input import ANY_ORIGINS
from oneclick.domain.assets import Asset
from oneclick.domain.engine import slippage_bps
from oneclick.domain.errors import Conflict, NotFound, RequestError, TemporaryError
from oneclick.domain.quotes import SwapType
from oneclick.domain.reconcile import (
    REFUND_KINDS,
    LedgerEntry,
    deposit_ledger,
    shown_deposit,
)
from oneclick.domain.records import DepositTx, IntentKind, IntentState
from oneclick.domain.requests import DepositType, RecipientType
from oneclick.domain.swaps import SwapRecord, SwapStatus, after_deposit_submitted
from oneclick.domain.transitions import REASON_DEPOSIT_SUBMITTED
from oneclick.domain.txhashes import tx_hash_problem
from oneclick.services.any_input import any_chain_hash_problem, deposit_lines
from oneclick.services.boundary import calling
from oneclick.services.context import ServiceContext
from oneclick.services.ports import StampedSnapshot, StoreSession, SwapSnapshot
from oneclick.services.pricing import asset_prices
from oneclick.services.upstream import FORWARDED

logger = logging.getLogger(__name__)

MAX_MEMO_LEN = 64  # deposits.memo and swaps.deposit_memo
_TX_HASH = re.compile(r"[\x21-\x7e]{1,256}", re.ASCII)


async def _find(tx: StoreSession, address: str, memo: str | None) -> SwapRecord:
    swap = await tx.swaps.by_deposit(address, memo or None)
    if swap is None:
        raise NotFound(f"Deposit address {address} not found")
    return swap


async def get_status(ctx: ServiceContext, address: str, memo: str | None) -> SwapRecord:
    """The swap behind ``address`` (+ ``memo`` when its quote had one); 404 otherwise."""
    async with ctx.store.transaction() as tx:
        return await _find(tx, address, memo)


SUBMIT_ATTEMPTS = 5  # version conflicts with the engine are retried this often (then 503)


async def _record_submission(
    ctx: ServiceContext, tx_hash: str, address: str, memo: str | None, near: str | None
) -> SwapRecord:
    async with ctx.store.transaction() as tx:
        swap = await _find(tx, address, memo)
        if swap.origin_asset in ANY_ORIGINS:  # a deposit on any chain the address serves
            problem = any_chain_hash_problem(ctx, tx_hash)
        else:
            problem = tx_hash_problem(_deposit_chain(ctx, swap), tx_hash)
        if problem is not None:
            raise RequestError(problem)
        await tx.swaps.record_deposit_tx(DepositTx(swap.id, tx_hash, near, memo, ctx.clock.now()))
        aggregate = await tx.swaps.load(swap.id)
        if aggregate is None:  # read a moment ago in this transaction
            raise Conflict(f"swap {swap.id} vanished concurrently")
        new_status = after_deposit_submitted(aggregate.status)
        if new_status is not aggregate.status:
            aggregate.move_to(new_status, reason=REASON_DEPOSIT_SUBMITTED)
            await tx.swaps.save(aggregate, ctx.clock.now())  # Conflict: retried by the caller
        await tx.swaps.wake(swap.id, ctx.clock.now())  # the engine looks at it right away
        return await _find(tx, address, memo)


async def submit_deposit(
    ctx: ServiceContext,
    *,
    tx_hash: str,
    address: str,
    memo: str | None,
    near_sender_account: str | None,
) -> SwapRecord:
    """Record the deposit tx (idempotent), then tell the bridge about it (outside the
    transaction). The bridge notification only speeds things up: its failure is logged.

    A hash that cannot be a transaction of the deposit's chain is a 400. Any other is kept
    unverified: ``/v0/status`` shows it only once the bridge reports it paying this address in
    the swap's asset (:func:`oneclick.domain.reconcile.shown_deposit`)."""
    if not _TX_HASH.fullmatch(tx_hash):
        raise RequestError("txHash must be a non-empty transaction hash without spaces")
    if near_sender_account is not None:  # a NEAR account id (at most 64 characters)
        require_intents_account(near_sender_account, what="nearSenderAccount")
    if memo is not None and len(memo) > MAX_MEMO_LEN:
        raise RequestError(f"memo must be at most {MAX_MEMO_LEN} characters")
    for attempt in range(1, SUBMIT_ATTEMPTS + 1):
        try:
            swap = await _record_submission(ctx, tx_hash, address, memo, near_sender_account)
            break
        except Conflict:
            # The engine moved the swap between our read and our write: read it again (the
            # deposit insert was rolled back with the transaction and is simply redone).
            if attempt == SUBMIT_ATTEMPTS:
                raise
            logger.info("deposit submission raced the engine: retrying",
                        extra={"action": "submit_deposit", "deposit_address": address})  # fmt: skip
    origin = ctx.registry.by_token_id(swap.origin_asset)
    if (
        swap.deposit_type == DepositType.ORIGIN_CHAIN.value
        and origin is not None
        and not origin.is_near_native
        and origin.bridge_chain is not None
    ):
        if ctx.upstream is not None:  # the address is the upstream's: so is the submission
            await _forward_submission(ctx, swap, tx_hash, address)
            return swap
        try:
            async with calling("the bridge (notify_deposit)"):
                await ctx.bridge.notify_deposit(
                    origin.bridge_chain,
                    address,
                    tx_hash,
                    near_sender_account=near_sender_account,
                    memo=swap.deposit_memo,
                )
        except (TemporaryError, ValueError) as exc:
            logger.warning(
                "notify_deposit failed: %s",
                exc,
                extra={"action": "notify_deposit", "swap_id": swap.id, "deposit_address": address},
            )
    return swap


async def _forward_submission(
    ctx: ServiceContext, swap: SwapRecord, tx_hash: str, address: str
) -> None:
    """Upstream mode: ``/v0/deposit/submit`` forwarded, best effort like ``notify_deposit``
    (the upstream finds the deposit without it, only later)."""
    assert ctx.upstream is not None
    try:
        await ctx.upstream.api.submit_deposit(tx_hash, address, swap.deposit_memo)
    except (TemporaryError, RequestError) as exc:
        logger.warning(
            "forwarding the deposit to the upstream failed: %s",
            exc.message,
            extra={"action": "notify_deposit", "swap_id": swap.id, "deposit_address": address},
        )


def _deposit_chain(ctx: ServiceContext, swap: SwapRecord) -> str:
    """The blockchain a deposit to ``swap`` is made on."""
    origin = ctx.registry.by_token_id(swap.origin_asset)
    if swap.deposit_type == DepositType.INTENTS.value or origin is None or origin.is_near_native:
        return "near"
    return origin.blockchain


@dataclass(frozen=True, slots=True)
class TxLink:
    hash: str
    explorer_url: str


@dataclass(frozen=True, slots=True)
class DepositLine:
    """One inbound transfer and what became of it (``swapDetails.deposits[]``, full profile)."""

    tx: TxLink
    entry: LedgerEntry
    refund_txs: list[TxLink]


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount as the wire shows it: base units, formatted, USD."""

    value: str
    formatted: str
    usd: str


@dataclass(frozen=True, slots=True)
class SwapProgress:
    """``swapDetails`` of ``/v0/status``: what the engine has done so far (PROTOCOL.md §5.4)."""

    intent_hashes: list[str]
    near_tx_hashes: list[str]
    origin_chain_txs: list[TxLink]
    destination_chain_txs: list[TxLink]
    amount_in: Amount | None = None
    amount_out: Amount | None = None
    slippage: int | None = None
    deposited: Amount | None = None
    refunded: Amount | None = None
    refund_reason: str | None = None
    withdraw_fee: str | None = None
    referral: str | None = None
    deposits: list[DepositLine] = field(default_factory=list)
    any_input_deposits: list[dict[str, Any]] | None = None  # ANY_INPUT quotes only


def _amount(value: int, asset: Asset | None, prices: dict[str, Decimal]) -> Amount:
    if asset is None:
        return Amount(str(value), str(value), "0")
    usd = usd_value(value, asset.decimals, prices.get(asset.asset_id))
    return Amount(str(value), format_units(value, asset.decimals), usd)


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What ``/v0/status`` (and ``/v0/deposit/submit``) answer about a swap: its wire status,
    the signed quote response (parsed once; never re-signed) and the engine's progress."""

    status: SwapStatus
    updated_at: datetime
    quote_response: dict[str, Any]
    progress: SwapProgress


async def status_report(ctx: ServiceContext, address: str, memo: str | None) -> StatusReport:
    """The swap behind ``address`` (+ ``memo``) and its progress, read in one transaction
    (``swap_snapshot``: the hottest read, kept to the fewest round trips; no network but cached
    prices); 404 otherwise."""
    snapshot = await swap_snapshot(ctx, address, memo)
    return await report_of(ctx, snapshot, await snapshot_prices(ctx, snapshot))


async def swap_snapshot(ctx: ServiceContext, address: str, memo: str | None) -> SwapSnapshot:
    """What ``/v0/status`` shows of the swap behind ``address`` (+ ``memo``); 404 otherwise."""
    snapshot = await ctx.store.swap_snapshot(address, memo or None)
    if snapshot is None:
        raise NotFound(f"Deposit address {address} not found")
    return snapshot


async def swap_snapshot_since(
    ctx: ServiceContext, address: str, memo: str | None, seen: Hashable | None
) -> StampedSnapshot:
    """:func:`swap_snapshot`, or only its stamp when the swap is unchanged since ``seen``
    (``Store.swap_snapshot_since``); 404 when there is no such swap."""
    stamped = await ctx.store.swap_snapshot_since(address, memo or None, seen)
    if stamped is None:
        raise NotFound(f"Deposit address {address} not found")
    return stamped


async def snapshot_prices(ctx: ServiceContext, snapshot: SwapSnapshot) -> dict[str, Decimal]:
    """The USD prices the report of ``snapshot`` shows its amounts in (cached by the source)."""
    return await prices_of(ctx, snapshot.swap.origin_asset, snapshot.swap.destination_asset)


async def prices_of(ctx: ServiceContext, origin: str, destination: str) -> dict[str, Decimal]:
    """:func:`snapshot_prices` of a swap from ``origin`` to ``destination`` (asset ids)."""
    assets = (ctx.registry.by_token_id(origin), ctx.registry.by_token_id(destination))
    return await asset_prices(ctx.prices, [a for a in assets if a])


def build_report(
    ctx: ServiceContext, snapshot: SwapSnapshot, prices: dict[str, Decimal]
) -> StatusReport:
    """The report of ``snapshot`` with ``prices``: a function of the two alone (and of the
    process's fixed registry and explorer links), so an answer may be reused while both stay
    equal (``api.hot``)."""
    document = json.loads(snapshot.swap.quote_response)
    return StatusReport(
        status=snapshot.swap.status,
        updated_at=snapshot.swap.updated_at,
        quote_response=document,
        progress=_progress(ctx, snapshot, document, prices),
    )


def reusable(snapshot: SwapSnapshot) -> bool:
    """Whether the report of ``snapshot`` is :func:`build_report`'s alone: an ANY_INPUT swap's
    also shows its deposits and withdrawals, read apart (:func:`report_of`)."""
    return snapshot.swap.swap_type is not SwapType.ANY_INPUT


async def report_of(
    ctx: ServiceContext, snapshot: SwapSnapshot, prices: dict[str, Decimal]
) -> StatusReport:
    """The whole report of ``snapshot``: :func:`build_report`, and for an ANY_INPUT swap its
    deposits (``anyInputDeposits``)."""
    report = build_report(ctx, snapshot, prices)
    if reusable(snapshot):
        return report
    lines, origin_txs = await deposit_lines(ctx, snapshot)
    explorer = ctx.engine.explorer_url
    progress = replace(
        report.progress,
        any_input_deposits=lines,
        amount_in=None,  # deposits of many assets: each is in anyInputDeposits
        slippage=None,  # nothing was quoted to compare with
        origin_chain_txs=[TxLink(h, explorer(chain, h)) for h, chain in origin_txs],
    )
    return replace(report, progress=progress)


def _progress(
    ctx: ServiceContext,
    snapshot: SwapSnapshot,
    document: dict[str, Any],
    prices: dict[str, Decimal],
) -> SwapProgress:
    swap, legs, deposits = snapshot.swap, snapshot.legs, snapshot.deposits
    referral = document.get("quoteRequest", {}).get("referral")
    origin = ctx.registry.by_token_id(swap.origin_asset)
    destination = ctx.registry.by_token_id(swap.destination_asset)
    explorer = ctx.engine.explorer_url
    origin_chain = "near" if swap.deposit_type == DepositType.INTENTS.value else None
    origin_chain = origin_chain or (origin.blockchain if origin else "near")
    visible = [leg for leg in legs if leg.state is not IntentState.DEAD]
    swapped = [
        leg for leg in legs if leg.kind is IntentKind.SWAP and leg.state is IntentState.SETTLED
    ]
    payouts = [leg for leg in legs if leg.kind is IntentKind.WITHDRAW and leg.delivered is not None]
    # The engine's refunds and the reconciliation's (late deposits, other tokens), delivered.
    returned = [leg for leg in legs if leg.kind in REFUND_KINDS and leg.delivered is not None]
    refunds = [leg for leg in returned if swap.origin_asset in leg.debits]
    internal_out = swap.recipient_type == RecipientType.INTENTS.value
    dest_chain = "near" if internal_out or destination is None else destination.blockchain
    destination_txs = [
        TxLink(leg.destination_tx_hash, explorer(dest_chain, leg.destination_tx_hash))
        for leg in payouts
        if leg.destination_tx_hash
    ]
    refund_chain = "near" if swap.refund_type != "ORIGIN_CHAIN" else origin_chain
    refund_txs = [
        TxLink(leg.destination_tx_hash, explorer(refund_chain, leg.destination_tx_hash))
        for leg in returned
        if leg.destination_tx_hash
    ]
    amount_in = sum(leg.debits.get(swap.origin_asset, 0) for leg in swapped)
    delivered = sum(leg.delivered or 0 for leg in payouts)
    paid_out = sum(leg.debits.get(swap.destination_asset, 0) for leg in payouts)
    refunded = sum(leg.delivered or 0 for leg in refunds)
    quoted_out = int(document.get("quote", {}).get("amountOut", "0") or 0)
    done = swap.status is SwapStatus.SUCCESS and payouts
    return SwapProgress(
        intent_hashes=[leg.intent_hash for leg in visible],
        near_tx_hashes=[d.tx_hash for d in deposits if d.source == FORWARDED]  # upstream mode
        + [leg.tx_hash for leg in visible if leg.tx_hash],
        origin_chain_txs=[
            TxLink(d.tx_hash, explorer(origin_chain, d.tx_hash))
            for d in deposits
            if shown_deposit(swap, d)  # never a hash the chain has not confirmed (issue 13)
        ]
        + refund_txs,
        destination_chain_txs=destination_txs,
        amount_in=_amount(amount_in, origin, prices) if swapped else None,
        amount_out=_amount(delivered, destination, prices) if payouts else None,
        slippage=slippage_bps(quoted_out, delivered) if done else None,
        deposited=_amount(swap.deposited_amount, origin, prices) if swap.deposited_amount else None,
        refunded=_amount(refunded, origin, prices) if refunds else None,
        refund_reason=swap.refund_reason.value
        if swap.refund_reason and swap.status is SwapStatus.REFUNDED
        else None,
        withdraw_fee=str(paid_out - delivered) if payouts else None,
        referral=referral if isinstance(referral, str) else None,
        deposits=[
            DepositLine(
                TxLink(e.tx_hash, explorer(origin_chain, e.tx_hash)),
                e,
                [TxLink(h, explorer(refund_chain, h)) for h in e.refund_tx_hashes],
            )
            for e in deposit_ledger(swap, deposits, legs)
        ],
    )
