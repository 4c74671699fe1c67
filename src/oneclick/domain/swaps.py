"""The swap's life: the wire statuses (PROTOCOL.md §5.4) and which transitions are allowed
(ARCHITECTURE.md §4). The swap engine moves swaps; this module only says what is legal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from oneclick.domain.errors import PermanentError


class SwapStatus(StrEnum):
    KNOWN_DEPOSIT_TX = "KNOWN_DEPOSIT_TX"
    PENDING_DEPOSIT = "PENDING_DEPOSIT"
    INCOMPLETE_DEPOSIT = "INCOMPLETE_DEPOSIT"
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    REFUNDED = "REFUNDED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({SwapStatus.SUCCESS, SwapStatus.REFUNDED, SwapStatus.FAILED})

S = SwapStatus
TRANSITIONS: dict[SwapStatus, frozenset[SwapStatus]] = {
    S.PENDING_DEPOSIT: frozenset(
        {S.KNOWN_DEPOSIT_TX, S.INCOMPLETE_DEPOSIT, S.PROCESSING, S.REFUNDED, S.FAILED}
    ),
    S.KNOWN_DEPOSIT_TX: frozenset({S.INCOMPLETE_DEPOSIT, S.PROCESSING, S.REFUNDED, S.FAILED}),
    S.INCOMPLETE_DEPOSIT: frozenset({S.PROCESSING, S.REFUNDED, S.FAILED}),
    S.PROCESSING: frozenset({S.SUCCESS, S.REFUNDED, S.FAILED}),
    S.SUCCESS: frozenset(),
    S.REFUNDED: frozenset(),
    S.FAILED: frozenset(),
}


# What only an operator may do (``oneclick admin retry|refund``): take a parked swap back into
# the engine. The engine itself never leaves a terminal status.
OPERATOR_TRANSITIONS: dict[SwapStatus, frozenset[SwapStatus]] = {
    S.FAILED: frozenset({S.PENDING_DEPOSIT, S.PROCESSING}),
}


def can_transition(current: SwapStatus, new: SwapStatus, *, operator: bool = False) -> bool:
    if new in TRANSITIONS[current]:
        return True
    return operator and new in OPERATOR_TRANSITIONS.get(current, frozenset())


def check_transition(current: SwapStatus, new: SwapStatus, *, operator: bool = False) -> None:
    if not can_transition(current, new, operator=operator):
        raise PermanentError(f"illegal swap transition {current} -> {new}")


def after_deposit_submitted(current: SwapStatus) -> SwapStatus:
    """A submitted deposit tx makes a swap that has seen nothing ``KNOWN_DEPOSIT_TX``."""
    return SwapStatus.KNOWN_DEPOSIT_TX if current is SwapStatus.PENDING_DEPOSIT else current


@dataclass(frozen=True, slots=True)
class SwapRecord:
    """A swap as the store holds it; ``quote_response`` is the signed response, verbatim JSON."""

    id: str
    deposit_address: str
    deposit_memo: str | None
    status: SwapStatus
    quote_response: str
    origin_asset: str
    destination_asset: str
    deposit_type: str
    custody_account_id: str
    created_at: datetime
    updated_at: datetime
    version: int = 0
