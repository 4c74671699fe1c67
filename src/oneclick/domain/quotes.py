"""Quote maths: every amount of a quote, in integers, each rounding named (PROTOCOL.md §5.3,
§5.6, §5.8, §2.12). This module is the only place these formulas live.

Notation: ``A`` the request ``amount``; ``s`` slippage in bps; ``B = 10 000``; ``f`` the
verifier's protocol fee in pips (``1e6`` = 100 %); ``p_i`` the input fees in bps (each app fee,
plus the platform fee for anonymous requests), ``P = Σ p_i``; ``W`` the bridge withdrawal fee
of the destination asset when ``recipientType = DESTINATION_CHAIN`` (else 0).

Input fees are taken from the origin asset: ``fee_i(g) = ceil(g·p_i/B)`` (fees round up),
``net(g) = g - Σ fee_i(g)``.

The swap itself is the ``token_diff`` closure of the solver's diff ``{in: +X, out: -Y}``
(:func:`nearintents.diff.closure`): the custody account pays ``ceil(X·1e6/(1e6-f))`` of the
origin asset and receives ``R = Y - ceil(Y·f/1e6)`` of the destination asset.

EXACT_INPUT (``A`` is what the user sends)::

    amountIn = minAmountIn = A
    N = net(A)                            what the custody account may spend on the swap
    X = floor(N·(1e6-f)/1e6)              relay exact_amount_in (lowered until closure ≤ N)
    amountOut = R - W                     (must be > 0)
    minAmountOut = floor(amountOut·(B-s)/B)

FLEX_INPUT: as EXACT_INPUT, and ``minAmountIn = floor(A·(B-s)/B)``.

EXACT_OUTPUT (``A`` is what the recipient gets)::

    amountOut = minAmountOut = A
    Y = min { y : y - ceil(y·f/1e6) ≥ A + W }      relay exact_amount_out
    S = ceil(X·1e6/(1e6-f))                          X = the solver's amount_in
    minAmountIn = min { g : net(g) ≥ S }             what the swap needs
    amountIn = ceil(minAmountIn·(B+s)/B)             with the slippage buffer (excess refunded)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from nearintents.diff import MAX_FEE_PIPS, closure, fee_amount, token_fee_pips
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
    protocol_fee_pips: int
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
    solver_amount_in: int  # X: what the solver receives
    solver_amount_out: int  # Y: what the solver gives
    swap_amount_in: int  # what the custody account pays in the token_diff (fee included)
    received_out: int  # R: what the custody account receives
    withdraw_fee: int
    fee_amounts: tuple[tuple[str, int], ...]  # (recipient, amount) per input fee


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
    if not 0 <= fees.protocol_fee_pips < MAX_FEE_PIPS:
        raise ValueError("protocol fee out of range")


def _paid_in(token_in: str, token_out: str, x: int, y: int, fee_pips: int) -> int:
    """What the custody account pays for the solver's ``+x``: ``ceil(x·1e6/(1e6-f))``."""
    return -closure({token_in: x, token_out: -y}, fee_pips).get(token_in, 0)


def _received_out(token_out: str, y: int, fee_pips: int) -> int:
    """``R = y - ceil(y·f/1e6)``: what the custody account gets for the solver's ``-y``."""
    return y - fee_amount(token_out, -y, fee_pips)


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


def solver_ask(
    swap_type: SwapType, amount: int, fees: Fees, token_in: str, token_out: str
) -> SolverAsk:
    """The relay ``quote`` amount for this request (``X`` or ``Y`` above)."""
    _check_fees(fees)
    f = fees.protocol_fee_pips
    if swap_type is SwapType.EXACT_OUTPUT:
        need = amount + fees.withdraw_fee
        keep = MAX_FEE_PIPS - token_fee_pips(token_out, need, f)
        y = mul_div_ceil(need, MAX_FEE_PIPS, keep)
        while _received_out(token_out, y, f) < need:
            y += 1
        while y > 1 and _received_out(token_out, y - 1, f) >= need:
            y -= 1
        return SolverAsk(exact_amount_out=y)
    if swap_type not in (SwapType.EXACT_INPUT, SwapType.FLEX_INPUT):
        raise RequestError(f"swapType {swap_type} is not supported by this service")
    spend = net_of_input_fees(amount, fees)
    if spend <= 0:
        raise _too_small()
    keep = MAX_FEE_PIPS - token_fee_pips(token_in, spend, f)
    x = mul_div_floor(spend, keep, MAX_FEE_PIPS)
    # The closure uses the solver's amount for the fee rate and rounds; step down until it fits.
    while x > 0 and _paid_in(token_in, token_out, x, 1, f) > spend:
        x -= 1
    if x <= 0:
        raise _too_small()
    return SolverAsk(exact_amount_in=x)


def _min_gross(target: int, fees: Fees) -> int:
    """``min { g : net(g) ≥ target }`` (fees round up, so the inverse is searched, not guessed)."""
    gross = mul_div_ceil(target, BPS, BPS - fees.input_bps)
    while net_of_input_fees(gross, fees) < target:
        gross += 1
    while gross > target and net_of_input_fees(gross - 1, fees) >= target:
        gross -= 1
    return gross


def min_gross(target: int, fees: Fees) -> int:
    """The least input whose net of input fees covers ``target`` (EXACT_OUTPUT's minAmountIn)."""
    _check_fees(fees)
    return _min_gross(target, fees)


def paid_in(token_in: str, token_out: str, x: int, y: int, fee_pips: int) -> int:
    """What the custody account pays for the solver's ``+x`` (the closure's input side)."""
    return _paid_in(token_in, token_out, x, y, fee_pips)


def received_out(token_out: str, y: int, fee_pips: int) -> int:
    """``R``: what the custody account receives for the solver's ``-y``."""
    return _received_out(token_out, y, fee_pips)


def quote_amounts(
    swap_type: SwapType,
    amount: int,
    slippage_bps: int,
    fees: Fees,
    token_in: str,
    token_out: str,
    solver_amount_in: int,
    solver_amount_out: int,
) -> QuoteAmounts:
    """Every amount of the quote, given the solver's offer (see the module docstring)."""
    _check(slippage_bps, fees)
    f = fees.protocol_fee_pips
    x, y = solver_amount_in, solver_amount_out
    if x <= 0 or y <= 0:
        raise ValueError("a solver offer has positive amounts")
    swap_in = _paid_in(token_in, token_out, x, y, f)
    received = _received_out(token_out, y, f)
    if swap_type is SwapType.EXACT_OUTPUT:
        if received - fees.withdraw_fee < amount:
            raise ValueError("the solver's amount_out does not cover the requested output")
        min_in = _min_gross(swap_in, fees)
        return QuoteAmounts(
            amount_in=mul_div_ceil(min_in, BPS + slippage_bps, BPS),
            min_amount_in=min_in,
            amount_out=amount,
            min_amount_out=amount,
            solver_amount_in=x,
            solver_amount_out=y,
            swap_amount_in=swap_in,
            received_out=received,
            withdraw_fee=fees.withdraw_fee,
            fee_amounts=input_fee_amounts(min_in, fees),
        )
    if swap_in > net_of_input_fees(amount, fees):
        raise ValueError("the solver's amount_in exceeds what the input pays for")
    amount_out = received - fees.withdraw_fee
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
        solver_amount_in=x,
        solver_amount_out=y,
        swap_amount_in=swap_in,
        received_out=received,
        withdraw_fee=fees.withdraw_fee,
        fee_amounts=input_fee_amounts(amount, fees),
    )


def offer_rank(swap_type: SwapType, amount_in: int, amount_out: int) -> int:
    """Higher is better: the most output for an exact input, the least input for an exact
    output (PROTOCOL.md §3.1)."""
    return -amount_in if swap_type is SwapType.EXACT_OUTPUT else amount_out
