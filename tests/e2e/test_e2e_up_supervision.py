"""``oneclick up`` supervises: a child that dies on its own (here the worker, killed) brings the
whole tree down with a non-zero status and nothing left running."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from test_e2e_up import START_LIMIT_S, STOP_LIMIT_S, Up, free_port, processes_under, wait_for

pytestmark = [pytest.mark.devnet, pytest.mark.slow]


@pytest.mark.timeout(150)
def test_a_dead_child_stops_everything(tmp_path: Path) -> None:
    data_dir = tmp_path / "oneclick"
    up = Up(data_dir, free_port())
    try:
        stack_file = data_dir / "stack.json"
        stack = wait_for(
            lambda: json.loads(stack_file.read_text()) if stack_file.exists() else None,
            "stack.json", START_LIMIT_S, up,
        )  # fmt: skip
        assert set(stack["children"]) == {"devnet", "api", "worker"}
        os.kill(stack["children"]["worker"], signal.SIGKILL)
        assert up.proc.wait(timeout=STOP_LIMIT_S) == 1
        assert "worker exited unexpectedly (by SIGKILL)" in up.log.read_text()
        assert not stack_file.exists()
        assert not (data_dir / "devnet" / "devnet.json").exists()
        assert processes_under(data_dir) == []
    finally:
        up.kill()
        for line in processes_under(data_dir):
            os.kill(int(line.split()[0]), signal.SIGKILL)
