"""The relay's reconciliation of a solver's signed diff with the verifier's protocol fee: solvers
are asked for, and sign, their own raw amounts; channels are told the USER-SIDE amounts, which
they sign verbatim (``{in: "-amount_in", out: "amount_out"}``) and which then settle exactly.

The contract (near/intents ``contracts/defuse/core/src/intents/token_diff.rs``
``TokenDiff::execute_intent``, ``crates/primitives/fees/src/lib.rs`` ``Pips::fee_ceil``) takes
``fee(a) = ceil(a·f/1e6)`` from every negative delta ``-a`` (NEP-141 always; NEP-245/IMT only when
``a > 1``; NEP-171 never: ``TokenDiff::token_fee``) and credits it to the fee collector; the batch
invariant (``contracts/defuse/core/src/engine/state/deltas.rs`` ``finalize``) then needs, per
token, ``Σ positive deltas = Σ net(|negative delta|)`` with ``net(a) = a - fee(a)``.

A channel's ``{in: -U, out: +V}`` against a solver's ``{in: +X, out: -Y}`` therefore balances iff
``X = net(U)`` and ``V = net(Y)``. ``net`` is non-decreasing in steps of 0 or 1 (``fee`` grows by
at most one per unit for ``f ≤ 1e6``), so every value it reaches has a least preimage
:func:`least_gross` with ``net(least_gross(n)) = n`` exactly.

- exact-in ``A`` (the channel's ``-A``): solvers are asked ``exact_amount_in = net(A)`` (what
  reaches them); the answer is ``amount_in = A``, ``amount_out = net(Y)``.
- exact-out ``B`` (the channel's ``+B``): solvers are asked ``exact_amount_out = least_gross(B)``
  (the least ``Y`` whose net is ``B``); the answer is ``amount_in = least_gross(X)``,
  ``amount_out = B``.

How the production relay does it is not published; that it must is inferred from the official
SDKs signing its answer as-is (docs/protocol-notes.md, "Relay amounts").
"""

from __future__ import annotations

from nearintents.diff import MAX_FEE_PIPS, fee_amount
from nearintents.rpc.relay import QuoteRequest


class NoSolverAmount(ValueError):  # noqa: N818 - reads as what happened
    """The request's amount leaves nothing for a solver once the fee is taken."""


def net(token_id: str, amount: int, fee_pips: int) -> int:
    """What a negative delta ``-amount`` of ``token_id`` contributes once the fee is taken."""
    return amount - fee_amount(token_id, -amount, fee_pips)


def least_gross(token_id: str, target: int, fee_pips: int) -> int:
    """``min { a : net(a) ≥ target }`` for ``target > 0``; ``net`` of it is exactly ``target``.

    ``ceil(target·1e6/(1e6-f))`` is an upper bound (the rate at any amount is at most ``f``); it
    is the answer for NEP-141, and stepping down covers the fee-free single unit of NEP-245."""
    if target <= 0:
        raise ValueError("a target amount is positive")
    keep = MAX_FEE_PIPS - fee_pips
    if keep <= 0:
        raise NoSolverAmount("a 100 % protocol fee leaves nothing to deliver")
    gross = -((-target * MAX_FEE_PIPS) // keep)
    while gross > 1 and net(token_id, gross - 1, fee_pips) >= target:
        gross -= 1
    if net(token_id, gross, fee_pips) != target:  # unreachable: net steps by 0 or 1
        raise AssertionError(f"no exact preimage of {target} at {fee_pips} pips")
    return gross


def solver_request(request: QuoteRequest, fee_pips: int) -> QuoteRequest:
    """The request as solvers see it: the raw amount they will receive (exact-in) or pay
    (exact-out) so that the channel's side, net of the fee, matches."""
    if request.exact_amount_in is not None:
        asked = net(request.defuse_asset_identifier_in, request.exact_amount_in, fee_pips)
        if asked <= 0:
            raise NoSolverAmount("exact_amount_in does not cover the protocol fee")
        return request.model_copy(update={"exact_amount_in": asked})
    assert request.exact_amount_out is not None
    asked = least_gross(request.defuse_asset_identifier_out, request.exact_amount_out, fee_pips)
    return request.model_copy(update={"exact_amount_out": asked})


def user_amounts(
    request: QuoteRequest, fee_pips: int, solver_in: int, solver_out: int
) -> tuple[int, int]:
    """``(amount_in, amount_out)`` for the channel, given the solver's ``{in: +solver_in,
    out: -solver_out}`` for :func:`solver_request` ``(request)``."""
    token_in, token_out = request.defuse_asset_identifier_in, request.defuse_asset_identifier_out
    if request.exact_amount_in is not None:
        return request.exact_amount_in, net(token_out, solver_out, fee_pips)
    assert request.exact_amount_out is not None
    return least_gross(token_in, solver_in, fee_pips), request.exact_amount_out
