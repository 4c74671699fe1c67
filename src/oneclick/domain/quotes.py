"""Quote and swap maths: every amount of a quote and of a swap order, in integers, each rounding
named (PROTOCOL.md §5.3, §5.6, §5.8). This module is the only place these formulas live.

The relay's ``amount_in``/``amount_out`` are the channel's side of the deal, already reconciled
with the verifier's protocol fee (PROTOCOL.md §8.2, docs/protocol-notes.md "Relay amounts"): the
swap intent signs them verbatim, ``token_diff {origin: -amount_in, destination: +amount_out}``,
as the official SDKs do. So the protocol fee appears nowhere here; what remains are the fees this
service charges on top and the bridge's withdrawal fee.

Notation: ``A`` the request ``amount``; ``s`` slippage in bps; ``B = 10 000``; ``p_i`` the input
fees in bps (each app fee, plus the platform fee for anonymous requests), ``P = Σ p_i``; ``W``
the bridge withdrawal fee of the destination asset when the payout leaves through the bridge
(else 0); ``U``/``V`` the relay quote's ``amount_in``/``amount_out``.

Input fees are taken from the origin asset and sent as ``transfer``s (memo ``APP_FEE``) in the
swap intent: ``fee_i(g) = ceil(g·p_i/B)`` (fees round up), ``net(g) = g - Σ fee_i(g)``.

EXACT_INPUT (``A`` is what the user sends)::

    amountIn = minAmountIn = A
    exact_amount_in = net(A)              asked of the relay (must be > 0); U = net(A)
    amountOut = V - W                     (must be > 0)
    minAmountOut = floor(amountOut·(B-s)/B)

FLEX_INPUT: as EXACT_INPUT, and ``minAmountIn = floor(A·(B-s)/B)``; at swap time the gross is
what arrived (``g``), and the least output is ``floor(minAmountOut·g/A)``.

EXACT_OUTPUT (``A`` is what the recipient gets)::

    amountOut = minAmountOut = A
    exact_amount_out = A + W              asked of the relay; V = A + W
    minAmountIn = min { g : net(g) ≥ U }  what the swap needs (searched: fees round up)
    amountIn = ceil(minAmountIn·(B+s)/B)  with the slippage buffer (the excess is refunded)

A swap order spends ``U + Σ fee_i(g)`` of the origin asset (``g`` the gross it accounts for:
``amountIn`` for EXACT_INPUT, what arrived for FLEX_INPUT, ``minAmountIn`` of the fresh ``U`` for
EXACT_OUTPUT) and the recipient should get ``V - W``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from oneclick.domain.amounts import BPS, mul_div_ceil, mul_div_floor
from oneclick.domain.errors import ErrorCode, RequestError

MAX_SLIPPAGE_BPS = BPS
MAX_APP_FEE_BPS = 500


class SwapType(StrEnum):
    EXACT_INPUT = "EXACT_INPUT"
    EXACT_OUTPUT = "EXACT_OUTPUT"
    FLEX_INPUT = "FLEX_INPUT"
    ANY_INPUT = "ANY_INPUT"


@dataclass(frozen=True, slots=True)
class InputFee:
    """A fee in bps of the input, paid to ``recipient`` (an app fee or the platform fee)."""

    recipient: str
    bps: int


@dataclass(frozen=True, slots=True)
class Fees:
    """The fees this service charges (``input_fees``) and the bridge's ``withdraw_fee``."""

    input_fees: tuple[InputFee, ...] = ()
    withdraw_fee: int = 0

    @property
    def input_bps(self) -> int:
        return sum(fee.bps for fee in self.input_fees)


@dataclass(frozen=True, slots=True)
class SolverAsk:
    """What to ask the relay: exactly one of the two is set."""

    exact_amount_in: int | None = None
    exact_amount_out: int | None = None


@dataclass(frozen=True, slots=True)
class QuoteAmounts:
    amount_in: int
    min_amount_in: int
    amount_out: int
    min_amount_out: int
    swap_amount_in: int  # U: the relay's amount_in, signed as the origin's negative delta
    swap_amount_out: int  # V: the relay's amount_out, signed as the destination's positive delta
    withdraw_fee: int
    fee_amounts: tuple[tuple[str, int], ...]  # (recipient, amount) per input fee


@dataclass(frozen=True, slots=True)
class OrderAmounts:
    """A swap order's movements for one relay offer ``{origin: -U, destination: +V}``."""

    fee_transfers: tuple[tuple[str, int], ...]  # (recipient, amount), zero amounts left out
    spend: int  # origin debited: U plus the fee transfers
    expected_out: int  # what the recipient should get: V less the withdrawal fee
    gross: int  # the input this swap accounts for (the fees are a share of it)


def input_fee_amounts(gross: int, fees: Fees) -> tuple[tuple[str, int], ...]:
    """``fee_i(g) = ceil(g·p_i/B)`` for each input fee."""
    return tuple((fee.recipient, mul_div_ceil(gross, fee.bps, BPS)) for fee in fees.input_fees)


def net_of_input_fees(gross: int, fees: Fees) -> int:
    """``net(g) = g - Σ fee_i(g)``."""
    return gross - sum(amount for _, amount in input_fee_amounts(gross, fees))


def _check(slippage_bps: int, fees: Fees) -> None:
    if not 0 <= slippage_bps <= MAX_SLIPPAGE_BPS:
        raise RequestError(f"slippageTolerance must be between 0 and {MAX_SLIPPAGE_BPS} bps")
    _check_fees(fees)


def _check_fees(fees: Fees) -> None:
    if fees.input_bps >= BPS:
        raise RequestError("the fees add up to 100 % or more of the input")
    if fees.withdraw_fee < 0:
        raise ValueError("a withdrawal fee is not negative")


def _too_small() -> RequestError:
    return RequestError("amount is too small to cover the fees", code=ErrorCode.AMOUNT_TOO_LOW)


def check_payout_withdrawable(amounts: QuoteAmounts, min_withdrawal: int) -> None:
    """The bridge refuses a withdrawal below its minimum (PROTOCOL.md §4.2), so a quote must not
    promise an output the payout could not carry: the smallest payout the swap may make
    (``minAmountOut`` plus the withdrawal fee the bridge keeps) has to reach that minimum."""
    if amounts.min_amount_out + amounts.withdraw_fee < min_withdrawal:
        raise RequestError(
            "amount is too small: the output would be below the destination chain's minimum "
            f"withdrawal of {min_withdrawal} base units",
            code=ErrorCode.AMOUNT_TOO_LOW,
            params={"minWithdrawal": str(min_withdrawal)},
        )


def solver_ask(swap_type: SwapType, amount: int, fees: Fees) -> SolverAsk:
    """The relay ``quote`` amount: ``net(A)`` in, or ``A + W`` out (see the module docstring)."""
    _check_fees(fees)
    if swap_type is SwapType.EXACT_OUTPUT:
        return SolverAsk(exact_amount_out=amount + fees.withdraw_fee)
    if swap_type not in (SwapType.EXACT_INPUT, SwapType.FLEX_INPUT):
        raise RequestError(f"swapType {swap_type} is not supported by this service")
    spend = net_of_input_fees(amount, fees)
    if spend <= 0:
        raise _too_small()
    return SolverAsk(exact_amount_in=spend)


def min_gross(target: int, fees: Fees) -> int:
    """``min { g : net(g) ≥ target }``, the least input whose net of input fees covers
    ``target`` (EXACT_OUTPUT's minAmountIn). Fees round up, so the inverse is searched from the
    real-valued bound ``target·B/(B-P)``, which is never above the answer's neighbourhood."""
    _check_fees(fees)
    if target <= 0:
        raise ValueError("a target amount is positive")
    gross = mul_div_ceil(target, BPS, BPS - fees.input_bps)
    while net_of_input_fees(gross, fees) < target:
        gross += 1
    while gross > target and net_of_input_fees(gross - 1, fees) >= target:
        gross -= 1
    return gross


def quote_amounts(
    swap_type: SwapType,
    amount: int,
    slippage_bps: int,
    fees: Fees,
    relay_amount_in: int,
    relay_amount_out: int,
) -> QuoteAmounts:
    """Every amount of the quote, given the relay's offer for :func:`solver_ask` (see the
    module docstring); ``ValueError`` if the offer is not for what was asked."""
    _check(slippage_bps, fees)
    u, v = relay_amount_in, relay_amount_out
    if u <= 0 or v <= 0:
        raise ValueError("a relay offer has positive amounts")
    ask = solver_ask(swap_type, amount, fees)
    if swap_type is SwapType.EXACT_OUTPUT:
        if v != ask.exact_amount_out:
            raise ValueError("the relay's amount_out is not the exact amount asked")
        min_in = min_gross(u, fees)
        return QuoteAmounts(
            amount_in=mul_div_ceil(min_in, BPS + slippage_bps, BPS),
            min_amount_in=min_in,
            amount_out=amount,
            min_amount_out=amount,
            swap_amount_in=u,
            swap_amount_out=v,
            withdraw_fee=fees.withdraw_fee,
            fee_amounts=input_fee_amounts(min_in, fees),
        )
    if u != ask.exact_amount_in:
        raise ValueError("the relay's amount_in is not the exact amount asked")
    amount_out = v - fees.withdraw_fee
    if amount_out <= 0:
        raise _too_small()
    min_in = amount
    if swap_type is SwapType.FLEX_INPUT:
        min_in = mul_div_floor(amount, BPS - slippage_bps, BPS)
    return QuoteAmounts(
        amount_in=amount,
        min_amount_in=min_in,
        amount_out=amount_out,
        min_amount_out=mul_div_floor(amount_out, BPS - slippage_bps, BPS),
        swap_amount_in=u,
        swap_amount_out=v,
        withdraw_fee=fees.withdraw_fee,
        fee_amounts=input_fee_amounts(amount, fees),
    )


def same_asset_amounts(
    swap_type: SwapType, amount: int, slippage_bps: int, fees: Fees
) -> QuoteAmounts:
    """A quote whose destination is its origin asset: no market, so the "offer" is the
    identity, ``U = V = net(A)``, and every fee applies as for any other quote."""
    if swap_type not in (SwapType.EXACT_INPUT, SwapType.FLEX_INPUT):
        raise RequestError("a same-asset quote is EXACT_INPUT or FLEX_INPUT")
    moved = solver_ask(swap_type, amount, fees).exact_amount_in
    assert moved is not None  # an input-exact ask
    return quote_amounts(swap_type, amount, slippage_bps, fees, moved, moved)


def flex_min_out(min_amount_out: int, gross: int, amount_in: int) -> int:
    """FLEX_INPUT's least output for what arrived: ``floor(minAmountOut·g/A)``."""
    return mul_div_floor(min_amount_out, gross, amount_in)


def order_amounts(
    swap_type: SwapType, gross: int, fees: Fees, relay_amount_in: int, relay_amount_out: int
) -> OrderAmounts:
    """The fee transfers and movements of a swap order signing the relay's ``{-U, +V}``.
    ``gross`` is the input the order accounts for (EXACT_OUTPUT: ignored, ``min_gross(U)``)."""
    if relay_amount_in <= 0 or relay_amount_out <= 0:
        raise ValueError("a relay offer has positive amounts")
    if swap_type is SwapType.EXACT_OUTPUT:
        gross = min_gross(relay_amount_in, fees)
    fee_transfers = tuple((r, a) for r, a in input_fee_amounts(gross, fees) if a > 0)
    spend = relay_amount_in + sum(a for _, a in fee_transfers)
    return OrderAmounts(fee_transfers, spend, relay_amount_out - fees.withdraw_fee, gross)


def offer_rank(swap_type: SwapType, amount_in: int, amount_out: int) -> int:
    """Higher is better: the most output for an exact input, the least input for an exact
    output (PROTOCOL.md §3.1)."""
    return -amount_in if swap_type is SwapType.EXACT_OUTPUT else amount_out
