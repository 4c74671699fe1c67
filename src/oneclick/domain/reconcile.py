"""Reconciliation rules (issue 13): what a custody account's balances are for, what may be sent
back to ``refundTo`` and how, and the per-deposit ledger of a swap. Pure: the scan that applies
them lives in :mod:`oneclick.services.reconcile`.

A balance is either *needed* (the swap engine still owns it, or a live intent may spend it:
ARCHITECTURE.md §4 rule 2), *refundable* (sent back to ``refundTo``), *dust* (too little for
the bridge to withdraw) or *parked* (no route back: an operator decides).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from oneclick.domain.assets import Asset
from oneclick.domain.engine import DepositRecord, Leg, Phase, SwapState
from oneclick.domain.records import IntentKind, IntentState
from oneclick.domain.swaps import SwapStatus

# Deposit statuses of the bridge (PROTOCOL.md §4.1) that prove a transfer paid the address.
SEEN = frozenset({"PENDING", "CREDITED", "COMPLETED"})
CREDITED = frozenset({"COMPLETED"})
REFUND_KINDS = frozenset({IntentKind.REFUND, IntentKind.STRAY_REFUND})


class Disposition(StrEnum):
    REFUND = "REFUND"
    DUST = "DUST"
    PARKED = "PARKED"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one balance: ``internal`` says how a refund travels (a ``transfer``
    inside the verifier rather than a withdrawal); ``reason`` why it stays."""

    disposition: Disposition
    internal: bool = False
    reason: str | None = None


def needed_tokens(swap: SwapState, legs: Iterable[Leg]) -> frozenset[str]:
    """Tokens the reconciliation must not touch: whatever a live intent may still spend, and
    the swap's own assets while the engine (or, for a parked swap, an operator) owns them.

    The engine owns the origin asset until its SWEEP is over (phase DONE) and the destination
    asset until the payout is done (SWEEP)."""
    needed: set[str] = set()
    for leg in legs:
        if leg.live:
            needed.update(leg.debits)
    if swap.status is SwapStatus.FAILED:
        needed.update((swap.origin_asset, swap.destination_asset))
    elif swap.phase is not Phase.DONE:
        needed.add(swap.origin_asset)
        if swap.phase is not Phase.SWEEP:
            needed.add(swap.destination_asset)
    return frozenset(needed)


def _no_route(asset: Asset, origin: Asset) -> str:
    return (
        f"no refund route: {asset.symbol} on {asset.blockchain} cannot reach refundTo on "
        f"{origin.blockchain}"
    )


def decide(swap: SwapState, origin: Asset | None, asset: Asset, amount: int) -> Decision:
    """How ``amount`` of ``asset`` held for ``swap`` goes back to ``refundTo``.

    ``refundType=INTENTS``: a ``transfer`` of any token inside the verifier. ``ORIGIN_CHAIN``:
    ``refundTo`` is an address on the origin asset's chain, so only tokens of that same chain go
    back (a PoA withdrawal, or ``ft_withdraw`` for NEAR-native tokens to a NEAR ``refundTo``);
    a bridge withdrawal must reach its minimum and exceed its fee, else it would deliver nothing
    (dust, recorded as such)."""
    if swap.refund_type == "INTENTS":
        return Decision(Disposition.REFUND, internal=True)
    if origin is None:
        return Decision(Disposition.PARKED, reason="the swap's origin asset is not configured")
    if origin.is_near_native != asset.is_near_native:
        return Decision(Disposition.PARKED, reason=_no_route(asset, origin))
    if not asset.is_near_native and asset.bridge_chain != origin.bridge_chain:
        return Decision(Disposition.PARKED, reason=_no_route(asset, origin))
    if asset.is_near_native:
        return Decision(Disposition.REFUND)
    if amount < asset.min_withdrawal_amount or amount <= asset.withdrawal_fee:
        return Decision(
            Disposition.DUST,
            reason=(
                f"dust: {amount} is below what the bridge withdraws (minimum "
                f"{asset.min_withdrawal_amount}, fee {asset.withdrawal_fee})"
            ),
        )
    return Decision(Disposition.REFUND)


class DepositOutcome(StrEnum):
    """What became of one inbound transfer (``swapDetails.deposits[].status``)."""

    PENDING = "pending"  # seen by the bridge, not credited yet
    CREDITED = "credited"  # in the custody account, not used yet
    SWAPPED = "swapped"
    REFUNDED = "refunded"
    PARKED = "parked"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    tx_hash: str
    chain: str | None
    asset: str
    amount: int
    outcome: DepositOutcome
    swapped: int = 0
    refunded: int = 0
    refund_tx_hashes: tuple[str, ...] = ()
    reason: str | None = None


def shown_deposit(swap: SwapState, deposit: DepositRecord) -> bool:
    """A transfer ``originChainTxHashes`` may show: seen by the bridge paying this address in the
    swap's own asset. A submitted hash the chain has not confirmed (``status`` unknown) or a
    transfer of another token never is."""
    return deposit.status in SEEN and deposit.asset in (None, swap.origin_asset)


@dataclass
class _Sink:
    kind: DepositOutcome
    left: int
    tx_hash: str | None = None


def _sinks(swap: SwapState, legs: Sequence[Leg], token: str) -> list[_Sink]:
    sinks: list[_Sink] = []
    if token == swap.origin_asset:
        swapped = sum(
            leg.debits.get(token, 0)
            for leg in legs
            if leg.kind is IntentKind.SWAP and leg.state is IntentState.SETTLED
        )
        sinks.append(_Sink(DepositOutcome.SWAPPED, swapped))
    for leg in legs:
        if leg.kind in REFUND_KINDS and leg.state is IntentState.SETTLED and token in leg.debits:
            if leg.bounced:  # it came back: nothing left the account
                continue
            sinks.append(_Sink(DepositOutcome.REFUNDED, leg.debits[token], leg.destination_tx_hash))
    return sinks


def deposit_ledger(
    swap: SwapState, deposits: Sequence[DepositRecord], legs: Sequence[Leg]
) -> list[LedgerEntry]:
    """Every transfer the bridge saw for the swap's custody account and what became of it.

    Credited transfers of each token are matched first in, first out against what left the
    account in that token: the settled swap intent (origin asset only), then the refunds in the
    order they were signed. What no outflow covers is still held: ``parked`` when the
    reconciliation recorded why, else ``credited``."""
    entries: list[LedgerEntry] = []
    sinks: dict[str, list[_Sink]] = {}
    for deposit in deposits:
        if deposit.status not in SEEN or deposit.amount is None:
            continue  # unverified (a submitted hash) or failed at the bridge
        token = deposit.asset or swap.origin_asset
        if deposit.status not in CREDITED:
            entries.append(
                LedgerEntry(deposit.tx_hash, deposit.chain, token, deposit.amount,
                            DepositOutcome.PENDING)
            )  # fmt: skip
            continue
        queue = sinks.setdefault(token, _sinks(swap, legs, token))
        left, swapped, refunded, refund_txs = deposit.amount, 0, 0, []
        for sink in queue:
            if left == 0:
                break
            take = min(left, sink.left)
            if take == 0:
                continue
            sink.left -= take
            left -= take
            if sink.kind is DepositOutcome.SWAPPED:
                swapped += take
            else:
                refunded += take
                if sink.tx_hash and sink.tx_hash not in refund_txs:
                    refund_txs.append(sink.tx_hash)
        if swapped:
            outcome = DepositOutcome.SWAPPED
        elif refunded:
            outcome = DepositOutcome.REFUNDED
        elif deposit.reason:
            outcome = DepositOutcome.PARKED
        else:
            outcome = DepositOutcome.CREDITED
        entries.append(
            LedgerEntry(
                deposit.tx_hash, deposit.chain, token, deposit.amount, outcome, swapped, refunded,
                tuple(refund_txs), deposit.reason if left else None,
            )
        )  # fmt: skip
    return entries


@dataclass(frozen=True, slots=True)
class Holding:
    """A balance the reconciliation could not send back (``custody_holdings``)."""

    account_id: str
    token: str
    swap_id: str
    amount: int
    disposition: Disposition  # DUST or PARKED
    reason: str
    updated_at: datetime
    deposit_address: str = ""
    deposit_memo: str | None = None
