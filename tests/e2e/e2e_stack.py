"""Helpers of the end-to-end tests: starting, probing and stopping ``oneclick up`` (the
``running_stack`` fixture in conftest.py uses them; tests import ``RunningStack`` from here)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0
POLL_S = 0.25  # readiness poll interval, not a wait for readiness
# What the e2e stack changes from the defaults (environment variables win over the generated
# oneclick.toml): quotes may have a 10 s deadline, and the engine retries quotes and sweeps
# every 2 s, so that deadline refunds and late-deposit refunds take seconds, not minutes.
STACK_ENV = {
    "ONECLICK_QUOTES__MIN_DEADLINE_S": "10",
    "ONECLICK_ENGINE__QUOTE_RETRY_S": "2",
    "ONECLICK_ENGINE__SWEEP_POLL_S": "2",
    # One test process plays every user of the shared stack: far above the public defaults.
    "ONECLICK_API__RATE_LIMITS__REQUESTS": "100000/minute",
    "ONECLICK_API__RATE_LIMITS__SWAPS": "10000/minute",
}


@dataclass
class RunningStack:
    api_url: str
    data_dir: Path
    devnet: dict[str, Any]
    manager_public_key: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def devnet_json(self) -> Path:
        return self.data_dir / "devnet" / "devnet.json"

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def oneclick_command() -> list[str]:
    """The ``oneclick`` console script of this venv (or the module behind it)."""
    script = Path(sys.executable).parent / "oneclick"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from oneclick.cli.main import app; app()"]


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # not written yet, or being written
    return data if isinstance(data, dict) else None


def api_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v0/tokens", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def manager_public_key_of(data_dir: Path, stack: dict[str, Any] | None) -> str:
    for source in (stack or {},):
        for name in ("managerPublicKey", "manager_public_key"):
            if isinstance(source.get(name), str):
                return str(source[name])
    shown = subprocess.run(
        [*oneclick_command(), "keys", "show", "--json", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=60, check=True, cwd=REPO_ROOT,
    )  # fmt: skip
    return str(json.loads(shown.stdout)["managerPublicKey"])


def _processes_of(session: int, data_dir: Path) -> list[tuple[int, str]]:
    """Live processes in ``session`` or whose command line names ``data_dir``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            sid = os.getsid(int(entry.name))
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, ProcessLookupError, IndexError):
            continue
        if state == "Z":
            continue
        if sid == session or str(data_dir) in cmdline:
            found.append((int(entry.name), cmdline))
    return found


def stop_stack(process: subprocess.Popen[bytes], data_dir: Path) -> list[tuple[int, str]]:
    """SIGTERM the group, wait, SIGKILL what is left; the anvils that survived (none, we hope)."""
    group = process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT_S)
    # Children (anvil among them) get the grace period too before the SIGKILL.
    give_up = time.monotonic() + STOP_TIMEOUT_S
    while _processes_of(group, data_dir) and time.monotonic() < give_up:
        time.sleep(POLL_S)
    survivors = [p for p in _processes_of(group, data_dir) if "anvil" in p[1]]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    for pid, _ in _processes_of(group, data_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(timeout=STOP_TIMEOUT_S)
    return survivors


def has_up_command() -> bool:
    from oneclick.cli.main import app

    names = {command.name or getattr(command.callback, "__name__", "") for command in
             app.registered_commands}  # fmt: skip
    return "up" in names
