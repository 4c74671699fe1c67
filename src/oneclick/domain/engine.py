"""The swap engine's pure rules (ARCHITECTURE.md §4): the phases inside the wire statuses, the
status a credit implies, the swap order for each swap type, refund reasons and slippage.

A swap's *phase* says what the engine does next; its wire status says what clients see::

    DEPOSIT  (PENDING_DEPOSIT | KNOWN_DEPOSIT_TX | INCOMPLETE_DEPOSIT)  wait for enough credit
    SWAP     (PROCESSING)  one swap intent at a time until one settles (or the deadline: REFUND)
    PAYOUT   (PROCESSING)  deliver the output, then SUCCESS
    REFUND   (any non-terminal)  give back everything credited, then REFUNDED
    SWEEP    (SUCCESS | REFUNDED)  refund excess and late deposits until the quote deadline
    DONE     nothing left to do (terminal, or expired with nothing deposited)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from oneclick.domain.amounts import BPS, mul_div_floor
from oneclick.domain.errors import PermanentError, RequestError
from oneclick.domain.quotes import (
    Fees,
    InputFee,
    SolverAsk,
    SwapType,
    flex_min_out,
    order_amounts,
    solver_ask,
)
from oneclick.domain.records import IntentKind, IntentState
from oneclick.domain.swaps import SwapStatus

APP_FEE_MEMO = "APP_FEE"
WITHDRAW_PREFIX = "WITHDRAW_TO:"
BITCOINCASH_PREFIX = "bitcoincash:"


class Phase(StrEnum):
    DEPOSIT = "DEPOSIT"
    SWAP = "SWAP"
    PAYOUT = "PAYOUT"
    REFUND = "REFUND"
    SWEEP = "SWEEP"
    DONE = "DONE"


class RefundReason(StrEnum):
    DEPOSIT_TOO_LOW = "DEPOSIT_TOO_LOW"
    NO_QUOTE_ABOVE_MINIMUM = "NO_QUOTE_ABOVE_MINIMUM"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    OPERATOR_REFUND = "OPERATOR_REFUND"


LIVE_STATES = frozenset({IntentState.SIGNED, IntentState.PUBLISHED, IntentState.FAILED})


@dataclass(frozen=True, slots=True)
class FeePlan:
    """The fee plan stored with the quote (``swaps.fees``). The protocol fee is not part of it:
    the relay's amounts already account for it (:mod:`oneclick.domain.quotes`)."""

    input_fees: tuple[InputFee, ...] = ()
    withdraw_fee: int = 0

    @classmethod
    def from_json(cls, text: str) -> FeePlan:
        try:
            data = json.loads(text)
            fees = tuple(InputFee(str(f["recipient"]), int(f["bps"])) for f in data["input_fees"])
            return cls(fees, int(data.get("withdraw_fee", "0")))
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentError(f"unreadable fee plan: {exc}") from exc

    def fees(self) -> Fees:
        return Fees(self.input_fees, self.withdraw_fee)


@dataclass(frozen=True, slots=True)
class SwapState:
    """A swap with everything the engine needs (the ``swaps`` row)."""

    id: str
    status: SwapStatus
    phase: Phase
    custody_index: int
    custody_account_id: str
    deposit_address: str
    deposit_memo: str | None
    swap_type: SwapType
    deposit_type: str
    recipient_type: str
    refund_type: str
    origin_asset: str
    destination_asset: str
    amount_in: int
    min_amount_in: int
    amount_out: int
    min_amount_out: int
    recipient: str
    refund_to: str
    request_deadline: datetime
    quote_deadline: datetime
    fee_plan: FeePlan
    quote_response: str
    updated_at: datetime
    next_run_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    deposited_amount: int | None = None
    refund_reason: RefundReason | None = None
    version: int = 0


BOUNCED = "bounced"  # Leg.reason prefix of a withdrawal whose tokens all came back


@dataclass(frozen=True, slots=True)
class Leg:
    """A signed intent of the engine (swap, payout or refund) as persisted before publishing.

    ``debits``/``credits`` are the custody account's expected token movements when it settles;
    ``delivered`` is what reached the receiver (after the bridge's withdrawal fee)."""

    intent_hash: str
    swap_id: str
    kind: IntentKind
    signer_id: str
    nonce: str
    signed_data: str
    state: IntentState
    deadline: datetime
    created_at: datetime
    quote_hashes: tuple[str, ...] = ()
    debits: dict[str, int] = field(default_factory=dict)
    credits: dict[str, int] = field(default_factory=dict)
    tx_hash: str | None = None
    destination_tx_hash: str | None = None
    delivered: int | None = None
    reason: str | None = None

    @property
    def live(self) -> bool:
        """Might still execute: not settled and not provably dead (rule 2)."""
        return self.state in LIVE_STATES

    @property
    def bounced(self) -> bool:
        """A withdrawal that executed and came back whole (to NEAR: ``ft_resolve_withdraw``
        refunded it): nothing left the custody account, nothing was delivered."""
        return (
            self.state is IntentState.SETTLED
            and self.delivered == 0
            and (self.reason or "").startswith(BOUNCED)
        )

    @property
    def complete(self) -> bool:
        """Settled and, for a withdrawal, delivered (``delivered`` known)."""
        return self.state is IntentState.SETTLED and self.delivered is not None


@dataclass(frozen=True, slots=True)
class DepositRecord:
    tx_hash: str
    source: str  # SUBMITTED or BRIDGE
    chain: str | None
    amount: int | None
    status: str | None  # the bridge's deposit status; None: submitted, not seen by the bridge
    created_at: datetime
    asset: str | None = None  # the token it paid (None: not known yet, or recorded before 0003)
    reason: str | None = None  # why what it brought is parked (set by the reconciliation)


def deposit_status(credited: int, minimum: int, *, known_tx: bool) -> SwapStatus:
    """The wire status a credit implies while the swap waits for its deposit (§4 table)."""
    if credited >= minimum > 0:
        return SwapStatus.PROCESSING
    if credited > 0:
        return SwapStatus.INCOMPLETE_DEPOSIT
    return SwapStatus.KNOWN_DEPOSIT_TX if known_tx else SwapStatus.PENDING_DEPOSIT


def late_reason(credited: int, minimum: int) -> RefundReason:
    """Why a swap whose request deadline passed before it swapped is refunded."""
    return RefundReason.DEPOSIT_TOO_LOW if credited < minimum else RefundReason.DEADLINE_EXCEEDED


@dataclass(frozen=True, slots=True)
class SwapOrder:
    """The swap intent's contents for one relay offer: the offer's amounts signed verbatim as
    ``token_diff {origin: -amount_in, destination: +amount_out}`` and the input fee transfers,
    with the custody account's movements."""

    diff: dict[str, int]
    fee_transfers: tuple[tuple[str, int], ...]
    spend: int  # origin debited: the diff's input side plus the fee transfers
    received: int  # destination credited by the diff
    expected_out: int  # what the recipient should get: received less the withdrawal fee
    gross: int  # the input this swap accounts for (fees are a share of it)


def _gross(swap: SwapState, credited: int) -> int:
    if swap.swap_type is SwapType.FLEX_INPUT:
        return credited
    return swap.amount_in


def swap_ask(swap: SwapState, credited: int, fees: Fees) -> SolverAsk:
    """What to ask the relay now (PROTOCOL.md §5.6): EXACT_INPUT swaps ``amountIn`` less fees,
    FLEX_INPUT what arrived less fees, EXACT_OUTPUT buys exactly the promised output."""
    if swap.swap_type is SwapType.EXACT_OUTPUT:
        return solver_ask(SwapType.EXACT_OUTPUT, swap.amount_out, fees)
    return solver_ask(SwapType.EXACT_INPUT, _gross(swap, credited), fees)


def minimum_out(swap: SwapState, gross: int) -> int:
    """The least the recipient must get: ``minAmountOut``, pro rata for FLEX_INPUT."""
    if swap.swap_type is SwapType.FLEX_INPUT:
        return flex_min_out(swap.min_amount_out, gross, swap.amount_in)
    if swap.swap_type is SwapType.EXACT_OUTPUT:
        return swap.amount_out
    return swap.min_amount_out


def swap_order(
    swap: SwapState, credited: int, fees: Fees, relay_in: int, relay_out: int
) -> SwapOrder | None:
    """The order for the relay's offer ``{in: relay_in, out: relay_out}``, or None when it does
    not meet the minimum output or costs more than the swap may spend (or is not an offer: the
    relay is untrusted, its next quote may be fine)."""
    if relay_in <= 0 or relay_out <= 0:
        return None
    amounts = order_amounts(swap.swap_type, _gross(swap, credited), fees, relay_in, relay_out)
    if swap.swap_type is SwapType.EXACT_OUTPUT:
        limit = min(credited, swap.amount_in)  # amountIn carries the slippage buffer
    else:
        limit = min(credited, amounts.gross)
    expected_out = amounts.expected_out
    if (
        amounts.spend > limit
        or expected_out < minimum_out(swap, amounts.gross)
        or expected_out <= 0
    ):
        return None
    diff = {swap.origin_asset: -relay_in, swap.destination_asset: relay_out}
    return SwapOrder(
        diff, amounts.fee_transfers, amounts.spend, relay_out, expected_out, amounts.gross
    )


def is_same_asset(swap: SwapState) -> bool:
    """A quote that moves one asset (a chain deposit delivered inside Intents, or out): no
    relay, the fees are its only "swap" (PROTOCOL.md §5.6's amounts with ``U = V``)."""
    return swap.origin_asset == swap.destination_asset


def same_asset_order(swap: SwapState, credited: int, fees: Fees) -> SwapOrder | None:
    """The same-asset order for ``credited``: the input fees taken, ``received`` left to
    deliver; None when ``credited`` does not cover it (yet)."""
    try:
        moved = swap_ask(swap, credited, fees).exact_amount_in
    except RequestError:
        return None  # what arrived does not cover the fees
    if moved is None:
        return None  # EXACT_OUTPUT: refused for same-asset quotes
    return swap_order(swap, credited, fees, moved, moved)


def slippage_bps(quoted: int, actual: int) -> int:
    """Actual slippage against the quote in bps, rounded toward zero; negative when the recipient
    got more than quoted."""
    if quoted <= 0:
        return 0
    shortfall = quoted - actual
    magnitude = mul_div_floor(abs(shortfall), BPS, quoted)
    return magnitude if shortfall >= 0 else -magnitude


def withdraw_memo(address: str, memo: str | None = None) -> str:
    """The PoA bridge's payout memo ``WITHDRAW_TO:<address>[:<memo>]`` as the SDK builds it
    (sdk-monorepo packages/intents-sdk/src/bridges/poa-bridge/poa-bridge-utils.ts,
    ``createWithdrawMemo``): a ``bitcoincash:`` prefix (any case) stripped, the destination
    memo/tag appended when there is a non-empty one."""
    if address.lower().startswith(BITCOINCASH_PREFIX):
        address = address[len(BITCOINCASH_PREFIX) :]
    parts = [WITHDRAW_PREFIX.removesuffix(":"), address]
    if memo:
        parts.append(memo)
    return ":".join(parts)
