"""The pure parts of user sessions and account history: the opaque cursor, the SDK's
index-aligned type filters and the history's view of statuses."""

from datetime import UTC, datetime

import pytest

from oneclick.domain.any_input import DepositPhase
from oneclick.domain.errors import RequestError
from oneclick.domain.sessions import (
    HistoryKind,
    HistoryPosition,
    TypeFilter,
    deposit_phases_matching,
    history_status,
    statuses_matching,
    type_filters,
)
from oneclick.domain.swaps import SwapStatus


def test_a_cursor_round_trips_to_the_microsecond() -> None:
    at = datetime(2026, 12, 6, 23, 1, 2, 345678, tzinfo=UTC)
    for kind in (HistoryKind.SWAP, HistoryKind.DEPOSIT):
        position = HistoryPosition(at, kind, "a" * 36)
        assert HistoryPosition.decode(position.encode(), what="prevCursor") == position


def test_a_cursor_issued_before_deposits_were_items_still_reads_as_a_swap() -> None:
    legacy = "WyIyMDI2LTEyLTA2VDIzOjAxOjAyKzAwOjAwIiwiYSJd"  # ["2026-12-06T23:01:02+00:00","a"]
    at = datetime(2026, 12, 6, 23, 1, 2, tzinfo=UTC)
    assert HistoryPosition.decode(legacy, what="prevCursor") == HistoryPosition(
        at, HistoryKind.SWAP, "a"
    )


@pytest.mark.parametrize(
    "cursor", ["", "garbage!", "W10", "WyJ4IiwieSJd", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwieCJd"]
)
def test_a_foreign_cursor_is_a_400(cursor: str) -> None:
    # [], ["x","y"], and a timestamp without a zone
    with pytest.raises(RequestError, match="prevCursor is not a cursor"):
        HistoryPosition.decode(cursor, what="prevCursor")


def test_positions_order_by_time_then_kind_then_id() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert (
        HistoryPosition(at, HistoryKind.DEPOSIT, "b")
        < HistoryPosition(at, HistoryKind.SWAP, "a")
        < HistoryPosition(at, HistoryKind.SWAP, "b")
        < HistoryPosition(at.replace(second=1), HistoryKind.DEPOSIT, "a")
    )


def test_type_filters_are_index_aligned_with_wildcards() -> None:
    filters = type_filters(["INTENTS", "ORIGIN_CHAIN"], ["null", "INTENTS"], ["null"])
    assert filters == (
        TypeFilter("INTENTS", None, None),
        TypeFilter("ORIGIN_CHAIN", "INTENTS", None),
    )
    assert type_filters([], [], []) == ()
    assert type_filters(["INTENTS", "null"], [], []) == ()  # one all-wildcard row: everything


def test_a_known_deposit_tx_is_a_pending_deposit_in_history() -> None:
    assert history_status(SwapStatus.KNOWN_DEPOSIT_TX) is SwapStatus.PENDING_DEPOSIT
    assert history_status(SwapStatus.SUCCESS) is SwapStatus.SUCCESS
    assert statuses_matching(["PENDING_DEPOSIT"]) == {
        SwapStatus.PENDING_DEPOSIT, SwapStatus.KNOWN_DEPOSIT_TX,
    }  # fmt: skip
    assert statuses_matching(["FAILED"]) == {SwapStatus.FAILED}


def test_a_status_filter_selects_the_deposit_phases_a_user_would_expect() -> None:
    processing = deposit_phases_matching(frozenset({SwapStatus.PROCESSING}))
    assert processing == {DepositPhase.SWAP, DepositPhase.POOLED}  # not at the recipient yet
    assert deposit_phases_matching(frozenset({SwapStatus.SUCCESS})) == {DepositPhase.DELIVERED}
    assert deposit_phases_matching(frozenset({SwapStatus.FAILED})) == {DepositPhase.STRANDED}
    waiting = statuses_matching(["PENDING_DEPOSIT", "REFUNDED"])
    assert deposit_phases_matching(waiting) == frozenset()  # credited, never refunded
