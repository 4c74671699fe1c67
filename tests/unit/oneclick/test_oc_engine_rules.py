"""The engine's pure rules: the transition table (exhaustively), the status a credit implies,
swap orders per swap type, slippage."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from oneclick.domain.engine import (
    FeePlan,
    Phase,
    RefundReason,
    SwapState,
    deposit_status,
    late_reason,
    minimum_out,
    slippage_bps,
    swap_order,
)
from oneclick.domain.errors import PermanentError
from oneclick.domain.quotes import Fees, InputFee, SwapType
from oneclick.domain.swaps import (
    TERMINAL,
    SwapStatus,
    can_transition,
    check_transition,
)

S = SwapStatus
ALLOWED = {
    (S.PENDING_DEPOSIT, S.KNOWN_DEPOSIT_TX), (S.PENDING_DEPOSIT, S.INCOMPLETE_DEPOSIT),
    (S.PENDING_DEPOSIT, S.PROCESSING), (S.PENDING_DEPOSIT, S.REFUNDED),
    (S.PENDING_DEPOSIT, S.FAILED),
    (S.KNOWN_DEPOSIT_TX, S.INCOMPLETE_DEPOSIT), (S.KNOWN_DEPOSIT_TX, S.PROCESSING),
    (S.KNOWN_DEPOSIT_TX, S.REFUNDED), (S.KNOWN_DEPOSIT_TX, S.FAILED),
    (S.INCOMPLETE_DEPOSIT, S.PROCESSING), (S.INCOMPLETE_DEPOSIT, S.REFUNDED),
    (S.INCOMPLETE_DEPOSIT, S.FAILED),
    (S.PROCESSING, S.SUCCESS), (S.PROCESSING, S.REFUNDED), (S.PROCESSING, S.FAILED),
}  # fmt: skip
OPERATOR = {(S.FAILED, S.PENDING_DEPOSIT), (S.FAILED, S.PROCESSING)}


@pytest.mark.parametrize(("current", "new"), list(itertools.product(S, S)))
def test_the_transition_table_exhaustively(current: SwapStatus, new: SwapStatus) -> None:
    assert can_transition(current, new) is ((current, new) in ALLOWED)
    assert can_transition(current, new, operator=True) is ((current, new) in ALLOWED | OPERATOR)
    if (current, new) in ALLOWED:
        check_transition(current, new)
    else:
        with pytest.raises(PermanentError):
            check_transition(current, new)
    if current in TERMINAL and (current, new) not in OPERATOR:
        assert not can_transition(current, new, operator=True)


@pytest.mark.parametrize(
    ("credited", "known", "status"),
    [(0, False, S.PENDING_DEPOSIT), (0, True, S.KNOWN_DEPOSIT_TX), (1, False, S.INCOMPLETE_DEPOSIT),
     (99, True, S.INCOMPLETE_DEPOSIT), (100, False, S.PROCESSING), (500, True, S.PROCESSING)],
)  # fmt: skip
def test_deposit_status(credited: int, known: bool, status: SwapStatus) -> None:
    assert deposit_status(credited, 100, known_tx=known) is status


def test_late_reason() -> None:
    assert late_reason(99, 100) is RefundReason.DEPOSIT_TOO_LOW
    assert late_reason(100, 100) is RefundReason.DEADLINE_EXCEEDED


NOW = datetime(2026, 1, 1, tzinfo=UTC)
A, B = "nep141:a.near", "nep141:b.near"


def _swap(kind: SwapType, amount_in: int = 10_000, min_out: int = 9_000) -> SwapState:
    return SwapState(
        id="s", status=S.PROCESSING, phase=Phase.SWAP, custody_index=1, custody_account_id="c",
        deposit_address="d", deposit_memo=None, swap_type=kind, deposit_type="INTENTS",
        recipient_type="INTENTS", refund_type="INTENTS", origin_asset=A, destination_asset=B,
        amount_in=amount_in, min_amount_in=amount_in, amount_out=9_500, min_amount_out=min_out,
        recipient="r.near", refund_to="u.near", request_deadline=NOW, quote_deadline=NOW,
        fee_plan=FeePlan((InputFee("fees.near", 20),)), quote_response="{}", updated_at=NOW,
    )  # fmt: skip


FEES = Fees(input_fees=(InputFee("fees.near", 20),))


def test_exact_input_order_signs_the_relay_amounts_plus_fee_transfers() -> None:
    # The relay was asked net(10 000) = 9 980 and answered {in: 9 980, out: 9 900}.
    order = swap_order(_swap(SwapType.EXACT_INPUT), 12_000, FEES, 9_980, 9_900)
    assert order is not None
    assert order.diff == {A: -9_980, B: 9_900}  # verbatim: no closure on top
    assert order.fee_transfers == (("fees.near", 20),)
    assert order.spend == 9_980 + 20 == 10_000
    assert order.received == 9_900
    assert order.gross == 10_000


def test_orders_below_the_minimum_or_over_budget_are_refused() -> None:
    assert swap_order(_swap(SwapType.EXACT_INPUT), 10_000, FEES, 9_980, 8_000) is None
    assert swap_order(_swap(SwapType.EXACT_INPUT), 9_000, FEES, 9_980, 9_900) is None
    assert swap_order(_swap(SwapType.EXACT_INPUT), 10_000, FEES, 9_980, 0) is None  # no offer


def test_flex_input_minimum_is_pro_rata() -> None:
    swap = _swap(SwapType.FLEX_INPUT)
    assert minimum_out(swap, 5_000) == 4_500
    assert minimum_out(swap, 20_000) == 18_000
    order = swap_order(swap, 5_000, FEES, 4_990, 4_600)
    assert order is not None
    assert order.gross == 5_000
    assert order.spend == 5_000


def test_exact_output_spends_at_most_amount_in() -> None:
    swap = _swap(SwapType.EXACT_OUTPUT, amount_in=10_500)
    order = swap_order(swap, 20_000, FEES, 9_000, 9_500)
    assert order is not None
    assert order.diff == {A: -9_000, B: 9_500}
    assert order.gross == 9_019  # the least g with g - ceil(g * 20 / 1e4) >= 9 000
    assert order.spend == 9_000 + 19 <= 10_500
    assert order.expected_out == 9_500
    assert swap_order(swap, 20_000, FEES, 11_000, 9_500) is None


def test_slippage() -> None:
    assert slippage_bps(10_000, 10_000) == 0
    assert slippage_bps(10_000, 9_950) == 50
    assert slippage_bps(10_000, 10_100) == -100
    assert slippage_bps(0, 5) == 0


def test_admin_cli_lists_and_refuses_unknown_swaps(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from oneclick.cli.main import app

    runner = CliRunner()
    listed = runner.invoke(app, ["admin", "stuck", "--data-dir", str(tmp_path), "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output) == []
    for action in ("refund", "retry"):
        refused = runner.invoke(app, ["admin", action, "nowhere", "--data-dir", str(tmp_path)])
        assert refused.exit_code == 1
        assert "not found" in refused.output
