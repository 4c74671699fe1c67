"""The ``token_diff`` protocol fee and closure (PROTOCOL.md §2.12), mirroring
``TokenDiff::{token_fee, supply_delta, closure_*}`` in CONTRACT ``core/src/intents/token_diff.rs``.

Vocabulary: a *delta* is what a signer writes in a ``token_diff``; its *supply delta* is what it
adds to the batch's per-token matcher (deposits - withdrawals): ``d`` for ``d > 0``, and
``d + fee`` for ``d < 0`` because the fee is deposited to the fee collector. A batch balances when
every token's supply deltas sum to zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from nearintents.amounts import I128_MAX, I128_MIN
from nearintents.tokens import TokenId, TokenStandard

MAX_FEE_PIPS = 1_000_000  # 100 %; 1 pip = 1/1,000,000


class DiffError(ValueError):
    """Base class for token_diff arithmetic errors."""


class FeeOutOfRangeError(DiffError):
    """The protocol fee is not an int in 0..=1,000,000 pips."""


class DeltaOutOfRangeError(DiffError):
    """A delta is not an int in the i128 range."""


class DiffOverflowError(DiffError):
    """The result leaves i128, or a 100 % fee leaves nothing to close: the contract returns None."""


def _check_fee(fee_pips: int) -> int:
    if isinstance(fee_pips, bool) or not isinstance(fee_pips, int):
        raise FeeOutOfRangeError(f"fee must be an int of pips, got {type(fee_pips).__name__}")
    if not 0 <= fee_pips <= MAX_FEE_PIPS:
        raise FeeOutOfRangeError(f"fee {fee_pips} is out of range 0..={MAX_FEE_PIPS} pips")
    return fee_pips


def _check_delta(delta: int) -> int:
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise DeltaOutOfRangeError(f"delta must be an int, got {type(delta).__name__}")
    if not I128_MIN <= delta <= I128_MAX:
        raise DeltaOutOfRangeError(f"delta {delta} is outside the i128 range")
    return delta


def _i128(value: int) -> int:
    if not I128_MIN <= value <= I128_MAX:
        raise DiffOverflowError(f"{value} overflows i128")
    return value


def _standard(token_id: str | TokenId) -> TokenStandard:
    return (token_id if isinstance(token_id, TokenId) else TokenId.parse(token_id)).standard


def _ceil_div(numerator: int, denominator: int) -> int:
    return -((-numerator) // denominator)


def token_fee_pips(token_id: str | TokenId, amount: int, fee_pips: int) -> int:
    """``TokenDiff::token_fee``: the fee rate that applies to moving ``amount`` of ``token_id``.

    NEP-141 always pays; NEP-245 and IMT pay only when ``amount > 1`` (a lone unit is treated as an
    NFT-like item); NEP-171 never pays.
    """
    fee_pips = _check_fee(fee_pips)
    standard = _standard(token_id)
    if standard is TokenStandard.NEP141:
        return fee_pips
    if standard in (TokenStandard.NEP245, TokenStandard.IMT) and amount > 1:
        return fee_pips
    return 0


def fee_amount(token_id: str | TokenId, delta: int, fee_pips: int) -> int:
    """Fee the contract collects for one ``token_diff`` entry: ``ceil(|d| * fee / 1e6)`` for
    ``d < 0`` (``Pips::fee_ceil``, rounded up so the protocol never under-collects), else 0."""
    delta = _check_delta(delta)
    if delta >= 0:
        return 0
    amount = -delta
    return _ceil_div(amount * token_fee_pips(token_id, amount, fee_pips), MAX_FEE_PIPS)


def supply_delta(token_id: str | TokenId, delta: int, fee_pips: int) -> int:
    """What one entry adds to its token's matcher: ``d`` if ``d ≥ 0``, else
    ``ceil(d * (1e6 - fee) / 1e6)`` (``checked_mul_div_ceil``, toward +∞), i.e. ``d + fee``."""
    delta = _check_delta(delta)
    if delta >= 0:
        return delta
    rate = token_fee_pips(token_id, -delta, fee_pips)
    return _ceil_div(delta * (MAX_FEE_PIPS - rate), MAX_FEE_PIPS)


def closure_supply_delta(token_id: str | TokenId, total_supply: int, fee_pips: int) -> int:
    """``TokenDiff::closure_supply_delta``: the delta to sign against a token's total supply delta.

    ``c = -total``; if ``c < 0`` (we pay) it is grossed up to ``c * 1e6 / (1e6 - fee)`` rounded
    toward -∞ (``checked_mul_div_euclid`` with a positive divisor), so that after the fee the
    counterparty still gets its full amount; the fee rate is picked from ``|total|`` as the
    contract does.
    """
    closure = _i128(-_i128(total_supply))
    if closure >= 0:
        return closure
    keep = MAX_FEE_PIPS - token_fee_pips(token_id, -closure, fee_pips)
    if keep == 0:
        raise DiffOverflowError(f"no closure for {token_id}: a 100 % fee leaves nothing to deliver")
    return _i128((closure * MAX_FEE_PIPS) // keep)


def closure_many(diffs: Iterable[Mapping[str, int]], fee_pips: int) -> dict[str, int]:
    """``TokenDiff::closure_deltas``: the single diff that balances all of ``diffs`` together.

    Supply deltas are summed per token with i128 checks, then each total is closed; tokens whose
    total or closure is zero are left out (the contract's ``Amounts`` drops zero entries).
    """
    fee_pips = _check_fee(fee_pips)
    totals: dict[str, int] = {}
    for diff in diffs:
        for token_id, delta in diff.items():
            totals[token_id] = _i128(
                totals.get(token_id, 0) + supply_delta(token_id, delta, fee_pips)
            )
    result: dict[str, int] = {}
    for token_id, total in totals.items():
        if total == 0:
            continue
        closure = closure_supply_delta(token_id, total, fee_pips)
        if closure != 0:
            result[token_id] = closure
    return result


def closure(other: Mapping[str, int], fee_pips: int) -> dict[str, int]:
    """``TokenDiff::closure``: the diff to sign so that ``other`` (a counterparty's diff) and ours
    balance. Worked example (§2.12): ``{in: +X, out: -Y}`` closes to
    ``{in: -ceil(X·1e6/(1e6-f)), out: +(Y - ceil(Y·f/1e6))}``."""
    return closure_many([other], fee_pips)


def closure_of_unmatched(unmatched_deltas: Mapping[str, int], fee_pips: int) -> dict[str, int]:
    """Close ``invariant_violated.unmatched_deltas`` from ``simulate_intents``: those are already
    supply totals, so only :func:`closure_supply_delta` applies (no second fee on them)."""
    fee_pips = _check_fee(fee_pips)
    result: dict[str, int] = {}
    for token_id, total in unmatched_deltas.items():
        closure = closure_supply_delta(token_id, _check_delta(total), fee_pips)
        if closure != 0:
            result[token_id] = closure
    return result


def unmatched(deltas: Iterable[Mapping[str, int]], fee_pips: int) -> dict[str, int]:
    """Per-token net of a batch's ``token_diff`` intents after fees; empty means it balances.

    Each mapping is one ``token_diff``'s ``diff`` (fees are charged per entry, so two intents are
    not the same as their sum). For each token this is ``Σ positive + Σ fees - Σ |negative|``, the
    value the contract reports as ``unmatched_deltas``. ``transfer`` intents move equal amounts out
    and in with no fee, so they never change it. The contract also fails with
    ``{"error":"overflow"}`` when a total leaves i128; here that raises :class:`DiffOverflowError`.
    """
    fee_pips = _check_fee(fee_pips)
    totals: dict[str, int] = {}
    for diff in deltas:
        for token_id, delta in diff.items():
            totals[token_id] = totals.get(token_id, 0) + supply_delta(token_id, delta, fee_pips)
    return {token_id: _i128(total) for token_id, total in totals.items() if total != 0}


def fees_collected(diff: Mapping[str, int], fee_pips: int) -> dict[str, int]:
    """The ``fees_collected`` map of one ``token_diff`` event: non-zero fees per token."""
    fees = {token_id: fee_amount(token_id, delta, fee_pips) for token_id, delta in diff.items()}
    return {token_id: fee for token_id, fee in fees.items() if fee}
