"""Engine metrics behind the ``EngineMetrics`` port: counters kept in memory (tests, and the
the Prometheus adapter is ``oneclick.adapters.prometheus``)."""

from __future__ import annotations

from collections import Counter


class CountingMetrics:
    def __init__(self) -> None:
        self.steps: Counter[tuple[str, str]] = Counter()
        self.parks: Counter[str] = Counter()
        self.stuck_seen: Counter[str] = Counter()
        self.step_seconds: dict[str, list[float]] = {}
        self.waits: Counter[str] = Counter()

    def step(self, phase: str, outcome: str) -> None:
        self.steps[(phase, outcome)] += 1

    def step_duration(self, phase: str, seconds: float) -> None:
        self.step_seconds.setdefault(phase, []).append(seconds)

    def parked(self, reason: str) -> None:
        self.parks[reason] += 1

    def stuck(self, swap_id: str, status: str) -> None:
        self.stuck_seen[swap_id] += 1

    def waiting(self, reason: str) -> None:
        self.waits[reason] += 1
