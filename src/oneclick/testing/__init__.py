"""Public test doubles: in-process fakes of every port that pass the same contract suites as
the real adapters (``tests/contract``), a settable clock, and a sample asset registry."""

from oneclick.testing.assets import SAMPLE_ASSETS, SAMPLE_PRICES_MICRO_USD, sample_registry
from oneclick.testing.fakes import (
    FakeBridge,
    FakeClock,
    FakePrices,
    FakeSolverRelay,
    FakeVerifierViews,
)

__all__ = [
    "SAMPLE_ASSETS",
    "SAMPLE_PRICES_MICRO_USD",
    "FakeBridge",
    "FakeClock",
    "FakePrices",
    "FakeSolverRelay",
    "FakeVerifierViews",
    "sample_registry",
]
