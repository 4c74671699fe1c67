"""Faults tests inject into the relay: a simulated crash at a named point of the publish
pipeline (the code after the point never runs, as if the process had died there)."""

from __future__ import annotations

from dataclasses import dataclass, field

# execute_intents returned (the batch is on chain), the relay has not recorded it yet.
AFTER_EXECUTE = "after_execute"
CRASH_POINTS = (AFTER_EXECUTE,)


class SimulatedCrash(RuntimeError):  # noqa: N818 (it is not an error of the code)
    """Raised at a crash point; it ends the relay's submit loop and comes out of ``stop()``.
    The test then drops the relay and opens a new one on the same data directory."""


@dataclass
class Faults:
    crash_at: set[str] = field(default_factory=set)

    def check(self, point: str) -> None:
        if point in self.crash_at:
            self.crash_at.discard(point)
            raise SimulatedCrash(point)
