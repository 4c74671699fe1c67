"""The swap aggregate enforces its own transitions and carries its version: an illegal move is
refused before anything is written, a save's change set is exactly what moved, and the version
is bumped once per persisted change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from oneclick.domain.engine import FeePlan, Phase, RefundReason, SwapState
from oneclick.domain.errors import PermanentError
from oneclick.domain.quotes import SwapType
from oneclick.domain.swap_aggregate import IllegalTransition, StatusMove, Swap
from oneclick.domain.swaps import TRANSITIONS, SwapStatus
from oneclick.domain.transitions import ENGINE_REASONS, REASON_DEPOSIT_SUBMITTED

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
LATER = NOW + timedelta(seconds=5)


def _state(status: SwapStatus = SwapStatus.PENDING_DEPOSIT, version: int = 3) -> SwapState:
    return SwapState(
        id="s-1", status=status, phase=Phase.DEPOSIT, custody_index=1, custody_account_id="a",
        deposit_address="addr", deposit_memo=None, swap_type=SwapType.EXACT_INPUT,
        deposit_type="ORIGIN_CHAIN", recipient_type="DESTINATION_CHAIN",
        refund_type="ORIGIN_CHAIN", origin_asset="x", destination_asset="y", amount_in=10,
        min_amount_in=9, amount_out=5, min_amount_out=4, recipient="r", refund_to="f",
        request_deadline=NOW, quote_deadline=NOW, fee_plan=FeePlan(), quote_response="{}",
        updated_at=NOW, version=version,
    )  # fmt: skip


@pytest.mark.parametrize("current", list(SwapStatus))
@pytest.mark.parametrize("new", list(SwapStatus))
def test_only_the_table_s_transitions_are_allowed(current: SwapStatus, new: SwapStatus) -> None:
    swap = Swap(_state(current))
    if new is current:
        swap.move_to(new)  # not a transition: nothing to change
        assert swap.changes(LATER).move is None
    elif new in TRANSITIONS[current]:
        swap.move_to(new)
        assert swap.status is new
    else:
        with pytest.raises(IllegalTransition, match=f"{current} -> {new}"):
            swap.move_to(new)
        assert swap.status is current  # refused: nothing pending
        assert swap.changes(LATER).status is None


def test_an_illegal_transition_is_a_permanent_error_and_the_operator_may_reopen() -> None:
    failed = Swap(_state(SwapStatus.FAILED))
    with pytest.raises(PermanentError):
        failed.move_to(SwapStatus.PROCESSING)
    failed.move_to(SwapStatus.PROCESSING, operator=True)
    assert failed.status is SwapStatus.PROCESSING
    with pytest.raises(IllegalTransition):
        Swap(_state(SwapStatus.SUCCESS)).move_to(SwapStatus.PENDING_DEPOSIT, operator=True)


def test_the_change_set_is_what_moved_with_the_expected_version() -> None:
    swap = Swap(_state())
    assert swap.changes(LATER) == type(swap.changes(LATER))("s-1", 3, LATER)  # only a touch
    swap.move_to(SwapStatus.PROCESSING)
    swap.enter(Phase.SWAP)
    swap.record_deposited(10)
    changes = swap.changes(LATER)
    assert (changes.swap_id, changes.expected_version, changes.at) == ("s-1", 3, LATER)
    assert (changes.status, changes.phase, changes.deposited_amount, changes.refund_reason) == (
        SwapStatus.PROCESSING, Phase.SWAP, 10, None,
    )  # fmt: skip
    assert changes.move == StatusMove(
        SwapStatus.PENDING_DEPOSIT, SwapStatus.PROCESSING, ENGINE_REASONS[SwapStatus.PROCESSING]
    )


def test_saving_bumps_the_version_once_and_starts_a_new_change() -> None:
    swap = Swap(_state(version=3))
    swap.move_to(SwapStatus.KNOWN_DEPOSIT_TX, reason=REASON_DEPOSIT_SUBMITTED)
    swap.move_to(SwapStatus.PROCESSING)  # two moves, one save: one version
    assert swap.changes(LATER).move == StatusMove(
        SwapStatus.PENDING_DEPOSIT, SwapStatus.PROCESSING, ENGINE_REASONS[SwapStatus.PROCESSING]
    )
    swap.saved(LATER)
    assert swap.version == 4
    assert (swap.state.version, swap.state.updated_at) == (4, LATER)
    after = swap.changes(LATER)
    assert (after.expected_version, after.status, after.move) == (4, None, None)
    swap.enter(Phase.SWAP)
    swap.saved(LATER)
    assert swap.version == 5


def test_a_refund_s_log_reason_is_its_refund_reason() -> None:
    swap = Swap(_state(SwapStatus.PROCESSING))
    swap.refund_because(RefundReason.DEADLINE_EXCEEDED)
    swap.move_to(SwapStatus.REFUNDED)
    move = swap.changes(LATER).move
    assert move is not None
    assert move.reason == "DEADLINE_EXCEEDED"


def test_a_copy_keeps_the_pending_change_apart() -> None:
    swap = Swap(_state())
    swap.move_to(SwapStatus.PROCESSING)
    twin = swap.copy()
    swap.saved(LATER)
    assert twin.version == 3
    assert twin.changes(LATER).status is SwapStatus.PROCESSING
    assert swap.changes(LATER).status is None


def test_a_negative_deposited_amount_is_refused() -> None:
    with pytest.raises(PermanentError):
        Swap(_state()).record_deposited(-1)
