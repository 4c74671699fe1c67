"""Fixtures for the devnet Verifier tests: a ledger clock the test controls and a fresh
in-memory verifier on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from devnet.verifier import ManualClock, Verifier, VerifierConfig

START = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def verifier(clock: ManualClock) -> Iterator[Verifier]:
    with Verifier.open(clock=clock, config=VerifierConfig(fee=0)) as v:
        yield v
