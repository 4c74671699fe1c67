"""A swap's transition log entry: when its wire status changed, from what, to what and why.
The log is append-only; ``seq`` numbers one swap's entries 1, 2, 3... (the SSE event id) and
``cursor`` orders every swap's entries (what a process polls to learn of changes made elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from oneclick.domain.swaps import SwapStatus


@dataclass(frozen=True, slots=True)
class Transition:
    cursor: int
    swap_id: str
    seq: int
    at: datetime
    from_status: SwapStatus | None
    to_status: SwapStatus
    reason: str | None


# Why a status changed when the caller gave no more specific reason (a refund's reason is its
# ``RefundReason``; an operator's action names itself).
REASON_QUOTED = "quote accepted: waiting for the deposit"
REASON_DEPOSIT_SUBMITTED = "deposit transaction submitted"
REASON_PARKED = "parked: an operator must act"
REASON_OPERATOR = "operator"
ENGINE_REASONS: dict[SwapStatus, str] = {
    SwapStatus.KNOWN_DEPOSIT_TX: "deposit transaction seen",
    SwapStatus.INCOMPLETE_DEPOSIT: "deposit below the minimum so far",
    SwapStatus.PROCESSING: "deposit credited: swapping",
    SwapStatus.SUCCESS: "output delivered",
    SwapStatus.FAILED: REASON_PARKED,
}
