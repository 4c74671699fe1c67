"""Fixtures shared by the service's unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from oc_engine_kit import Kit, opened_kit


@pytest.fixture
def kit_options() -> dict[str, Any]:
    """What ``kit`` passes to ``make_kit``; a module overrides it (e.g. ``{"near": True}``)."""
    return {}


@pytest.fixture
async def kit(tmp_path: Path, kit_options: dict[str, Any]) -> AsyncIterator[Kit]:
    """A fake world with the API on an in-process client and one worker, on SQLite."""
    async with opened_kit(tmp_path, **kit_options) as made:
        yield made
