"""``HotReads`` leaves every request to the stack while FastAPI's native telemetry is on, and
asks whether it is at most once a second (api/hot.py: ``_TelemetryCheck``)."""

from types import SimpleNamespace
from typing import Any

import pytest

from oneclick.api import hot
from oneclick.api.hot import TELEMETRY_RECHECK_S, HotReads

SCOPE: dict[str, Any] = {
    "type": "http", "path": "/v0/status", "method": "GET", "headers": [], "root_path": "",
}  # fmt: skip


class Telemetry:
    def __init__(self) -> None:
        self.on = False
        self.asked = 0

    def enabled(self) -> bool:
        self.asked += 1
        return self.on


def test_telemetry_is_asked_once_a_second_and_once_on_stays_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(hot.time, "monotonic", lambda: now[0])
    telemetry = Telemetry()
    app: Any = SimpleNamespace(_native_telemetry=telemetry, root_path="")
    reads = HotReads(None)
    assert reads.takes(app, SCOPE)
    assert reads.takes(app, SCOPE)
    assert telemetry.asked == 1  # within the second: not asked again
    telemetry.on = True  # a tracer provider is set while the process runs
    now[0] += TELEMETRY_RECHECK_S / 2
    assert reads.takes(app, SCOPE)  # still the last answer
    now[0] += TELEMETRY_RECHECK_S / 2
    assert not reads.takes(app, SCOPE)  # a second later: the stack sees the requests
    assert telemetry.asked == 2
    telemetry.on = False
    now[0] += 10 * TELEMETRY_RECHECK_S
    assert not reads.takes(app, SCOPE)  # providers are never unset: not asked again
    assert telemetry.asked == 2


def test_without_native_telemetry_the_hot_path_takes_plain_reads() -> None:
    app: Any = SimpleNamespace(root_path="")
    assert HotReads(None).takes(app, SCOPE)
    assert not HotReads(None).takes(app, SCOPE | {"method": "POST"})
