"""Faults the control API and tests inject into the bridge: paused payouts, delayed
confirmations, and (tests only) a simulated crash at a named point of the payout or credit path."""

from __future__ import annotations

from dataclasses import dataclass, field

# Where a crash can be simulated, in the order a payout passes them.
AFTER_RECORD = "after_record"  # the signed payout is stored, not broadcast
AFTER_BROADCAST = "after_broadcast"  # broadcast (maybe mined), its outcome not stored
# The verifier committed a mint (a deposit's credit, or a payout's credit-back), the bridge did
# not record it: the deposit is still CREDITING, the withdrawal still RETURNING.
AFTER_CREDIT = "after_credit"
CRASH_POINTS = (AFTER_RECORD, AFTER_BROADCAST, AFTER_CREDIT)


class SimulatedCrash(RuntimeError):  # noqa: N818 (it is not an error of the code)
    """Raised at a crash point; the test then drops the bridge and opens a new one."""


@dataclass
class Faults:
    payouts_paused: bool = False
    confirmation_delay: dict[str, int] = field(default_factory=dict)  # chain -> extra blocks
    crash_at: set[str] = field(default_factory=set)

    def check(self, point: str) -> None:
        if point in self.crash_at:
            self.crash_at.discard(point)
            raise SimulatedCrash(point)
