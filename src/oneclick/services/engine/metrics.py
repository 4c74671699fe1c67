"""Engine metrics behind the ``EngineMetrics`` port: counters kept in memory (tests, and the
default until a Prometheus adapter is wired in ``bootstrap``)."""

from __future__ import annotations

from collections import Counter


class CountingMetrics:
    def __init__(self) -> None:
        self.steps: Counter[tuple[str, str]] = Counter()
        self.parks: Counter[str] = Counter()
        self.stuck_seen: Counter[str] = Counter()

    def step(self, phase: str, outcome: str) -> None:
        self.steps[(phase, outcome)] += 1

    def parked(self, reason: str) -> None:
        self.parks[reason] += 1

    def stuck(self, swap_id: str, status: str) -> None:
        self.stuck_seen[swap_id] += 1
