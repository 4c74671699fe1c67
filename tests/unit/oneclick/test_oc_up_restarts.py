"""``oneclick up`` restarts a child that exits on its own, with backoff, and says so (real child
processes; the e2e test does the same with the real stack)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from oneclick.cli import up
from oneclick.cli.up import Child, Stack, restart_delay_s

SLEEPER = ("-c", "import time; time.sleep(600)")


def test_the_restart_backoff_doubles_up_to_its_cap() -> None:
    assert [restart_delay_s(n) for n in (1, 2, 3, 5, 6, 10)] == [1, 2, 4, 16, 30, 30]


async def _until(condition: object, timeout_s: float = 20.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - polls processes we do not own the events of
            await asyncio.sleep(0.02)


async def test_a_crashed_child_is_restarted_and_the_rest_keep_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(up, "RESTART_FIRST_S", 0.05)
    stack = Stack(tmp_path, "127.0.0.1", 0)
    restarted: list[str] = []

    async def restart(name: str, dead: Child) -> None:
        await stack.respawn(dead)
        restarted.append(name)

    try:
        worker = await stack.spawn("worker", *SLEEPER)
        api = await stack.spawn("api", *SLEEPER)
        stop = asyncio.Event()
        supervising = asyncio.create_task(up._supervise(stack, stop, restart))
        os.kill(worker.pid, signal.SIGKILL)
        await _until(lambda: restarted == ["worker"] or supervising.done())
        assert not supervising.done()
        new_worker = stack.child("worker")
        assert new_worker is not None
        assert new_worker.pid != worker.pid
        assert new_worker.proc.returncode is None
        assert api.proc.returncode is None  # untouched
        os.kill(new_worker.pid, signal.SIGKILL)  # a second crash in a row: a longer wait
        await _until(lambda: restarted == ["worker", "worker"] or supervising.done())
        stop.set()
        assert await supervising == 0
        out = capsys.readouterr().out
        assert "worker exited unexpectedly (by SIGKILL): restarting it in 0.05 s" in out
        assert "restarting it in 0.1 s (crash 2 in a row)" in out
        assert "worker restarted" in out
    finally:
        await stack.stop_all()
    assert all(c.proc.returncode is not None for c in stack.children)
