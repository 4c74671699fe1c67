"""The swap aggregate: one swap's status, phase, deposited amount and refund reason, changed only
through its own methods, which enforce the transition table (:data:`~.swaps.TRANSITIONS`), and
persisted as one change set whose optimistic version check is the aggregate's.

Engine code asks the aggregate to change (``swap.move_to(SwapStatus.SUCCESS)``,
``swap.enter(Phase.SWEEP)``) and hands it to the swap repository (``session.swaps.save``), which
writes :meth:`Swap.changes` only where the stored version is still the one this aggregate was
loaded at (``Conflict`` otherwise), then bumps the version once. Pure: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from oneclick.domain.engine import Phase, RefundReason, SwapState
from oneclick.domain.errors import PermanentError
from oneclick.domain.swaps import SwapStatus, can_transition
from oneclick.domain.transitions import ENGINE_REASONS


class IllegalTransition(PermanentError):  # noqa: N818 (reads as the event)
    """A status change the transition table does not allow: a bug or inconsistent data."""


@dataclass(frozen=True, slots=True)
class StatusMove:
    """A transition-log entry to append with the change."""

    from_status: SwapStatus
    to_status: SwapStatus
    reason: str | None


@dataclass(frozen=True, slots=True)
class SwapChanges:
    """What one save writes: the new values (None: unchanged), where the version is still
    ``expected_version`` (then it becomes ``expected_version + 1``), and the log entry."""

    swap_id: str
    expected_version: int
    at: datetime
    status: SwapStatus | None = None
    phase: Phase | None = None
    deposited_amount: int | None = None
    refund_reason: RefundReason | None = None
    move: StatusMove | None = None


class Swap:
    """A swap as one consistency boundary. ``state`` is the swap as it will be once saved;
    what differs from the state it was loaded (or last saved) at is its pending change."""

    __slots__ = ("_reason", "_saved", "_state")

    def __init__(self, state: SwapState) -> None:
        self._saved = state
        self._state = state
        self._reason: str | None = None

    @property
    def state(self) -> SwapState:
        return self._state

    @property
    def id(self) -> str:
        return self._state.id

    @property
    def status(self) -> SwapStatus:
        return self._state.status

    @property
    def phase(self) -> Phase:
        return self._state.phase

    @property
    def version(self) -> int:
        """The version this aggregate expects to find in the store (bumped by each save)."""
        return self._saved.version

    def move_to(
        self, status: SwapStatus, *, reason: str | None = None, operator: bool = False
    ) -> None:
        """Change the wire status (a no-op when it already is ``status``); raises
        :class:`IllegalTransition` where the table forbids it (``operator``: the operator's
        extra moves out of ``FAILED``). ``reason``: the log entry's, when the default
        (:func:`default_reason`) is not the right one."""
        current = self._state.status
        if status is current:
            return
        if not can_transition(current, status, operator=operator):
            raise IllegalTransition(f"illegal swap transition {current} -> {status} ({self.id})")
        self._state = replace(self._state, status=status)
        self._reason = reason

    def enter(self, phase: Phase) -> None:
        """What the engine does next (phases are free to follow one another: the engine
        decides, the status is what clients see)."""
        self._state = replace(self._state, phase=phase)

    def record_deposited(self, amount: int) -> None:
        """Everything credited so far (refunds and fees are computed from it)."""
        if amount < 0:
            raise PermanentError(f"a negative deposited amount for swap {self.id}: {amount}")
        self._state = replace(self._state, deposited_amount=amount)

    def refund_because(self, reason: RefundReason) -> None:
        """Why the swap is (or, should its deadline come first, will be) refunded."""
        self._state = replace(self._state, refund_reason=reason)

    def changes(self, now: datetime) -> SwapChanges:
        """The pending change, to be written at ``now`` where the version is still
        :attr:`version`. Every save is a change (``updated_at`` moves: news, even without a
        new status)."""
        old, new = self._saved, self._state
        move = None
        if new.status is not old.status:
            move = StatusMove(old.status, new.status, self._reason or default_reason(new))
        return SwapChanges(
            swap_id=new.id,
            expected_version=old.version,
            at=now,
            status=new.status if new.status is not old.status else None,
            phase=new.phase if new.phase is not old.phase else None,
            deposited_amount=(
                new.deposited_amount if new.deposited_amount != old.deposited_amount else None
            ),
            refund_reason=new.refund_reason if new.refund_reason is not old.refund_reason else None,
            move=move,
        )

    def saved(self, now: datetime) -> None:
        """The pending change was persisted: it becomes the baseline, one version on."""
        self._state = replace(self._state, updated_at=now, version=self._saved.version + 1)
        self._saved = self._state
        self._reason = None

    def copy(self) -> Swap:
        """The aggregate with its pending change, detached (to be saved later, elsewhere)."""
        twin = Swap(self._saved)
        twin._state = self._state
        twin._reason = self._reason
        return twin


def default_reason(state: SwapState) -> str | None:
    """Why the engine moved a swap to ``state.status``: a refund's reason is its
    ``RefundReason``; the others say what happened (:data:`ENGINE_REASONS`)."""
    if state.status is SwapStatus.REFUNDED:
        return state.refund_reason.value if state.refund_reason else None
    return ENGINE_REASONS.get(state.status)
