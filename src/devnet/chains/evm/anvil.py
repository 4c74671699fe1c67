"""Run and supervise one anvil process (npm ``@foundry-rs/anvil``) per EVM chain: an OS-chosen
port on 127.0.0.1, its own chain id, optional ``--state`` file (loaded at start, dumped at stop)
and block time. The process is always stopped and reaped, also when start-up fails, and on
Linux it never outlives the process that started it, even one killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[4]
ANVIL_ENV = "ONECLICK_ANVIL"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
_LISTENING = re.compile(rb"Listening on ([0-9.]+):(\d+)")


class AnvilError(RuntimeError):
    """anvil is missing, did not start, or died."""


def anvil_binary() -> Path:
    """``$ONECLICK_ANVIL`` if set; else the native binary of the npm package
    (``node_modules/@foundry-rs/anvil-<platform>/bin/anvil``), else its ``node_modules/.bin/anvil``
    shim. The native binary is preferred: the node shim exits as soon as it forwards a signal, so
    the real anvil would outlive the process we wait for."""
    configured = os.environ.get(ANVIL_ENV)
    modules = REPO_ROOT / "node_modules"
    if configured:
        candidates = [Path(configured)]
    else:
        candidates = [
            *sorted(modules.glob("@foundry-rs/anvil-*/bin/anvil")),
            modules / ".bin/anvil",
        ]
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    raise AnvilError(
        f"no anvil in {candidates} (run `npm ci --ignore-scripts` or set ${ANVIL_ENV})"
    )


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent(prctl: Any, parent_pid: int) -> None:  # pragma: no cover - in the child
    # anvil runs in its own session (so stop() can signal its group), which also means nothing
    # stops it if we are killed outright: ask the kernel for SIGINT when we go. SIGINT is
    # anvil's clean stop, so even then it dumps --state. The setting survives exec.
    if prctl(_PR_SET_PDEATHSIG, signal.SIGINT, 0, 0, 0) != 0:
        os._exit(127)  # no guarantee: refuse to run rather than risk an orphan
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(127)


def _orphan_guard() -> dict[str, Any]:
    """Popen arguments that end anvil when the thread that started it ends (Linux), else none.
    The kernel's "parent" is that thread: start anvil from one that lives as long as it does
    (the main thread or the event loop's, as start() and astart() do when called there)."""
    if not sys.platform.startswith("linux"):
        return {}
    # Looked up here: loading a library between fork and exec can deadlock a threaded parent.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent_pid = os.getpid()
    return {"preexec_fn": lambda: _die_with_parent(prctl, parent_pid)}


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


class AnvilProcess:
    """``with AnvilProcess(42161) as node:`` (or ``async with``) serves ``node.url`` until exit.

    ``state_path``: anvil's ``--state`` (the chain survives a restart); ``block_time``: seconds
    between blocks (default: a block per transaction, and more with ``anvil_mine``).
    """

    def __init__(
        self,
        chain_id: int,
        *,
        state_path: Path | str | None = None,
        block_time: float | None = None,
        host: str = "127.0.0.1",
        binary: Path | str | None = None,
        log_dir: Path | str | None = None,
    ) -> None:
        self.chain_id = chain_id
        self.state_path = None if state_path is None else Path(state_path)
        self.block_time = block_time
        self.host = host
        self._binary = Path(binary) if binary is not None else None
        self._log_dir = None if log_dir is None else Path(log_dir)
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._log_path: Path | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise AnvilError("anvil is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """anvil's process id while it runs (or until :meth:`stop` reaps it)."""
        return None if self._proc is None else self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _command(self) -> list[str]:
        cmd = [
            str(self._binary or anvil_binary()),
            "--host",
            self.host,
            "--port",
            "0",
            "--chain-id",
            str(self.chain_id),
        ]
        if self.state_path is not None:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            cmd += ["--state", str(self.state_path)]
        if self.block_time is not None:
            cmd += ["--block-time", f"{self.block_time:g}"]
        return cmd

    def _spawn(self) -> None:
        if self._proc is not None:
            raise AnvilError("already started")
        if self._log_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="anvil-")
            log_dir = Path(self._tmp.name)
        else:
            log_dir = self._log_dir
            log_dir.mkdir(parents=True, exist_ok=True)
        self._log_path = log_dir / f"anvil-{self.chain_id}.log"
        # A file, not a pipe: anvil logs every request, and a pipe nobody drains would block it.
        with open(self._log_path, "wb") as log:
            self._proc = subprocess.Popen(  # noqa: S603 (our own binary and arguments)
                self._command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() signals all of it
                **_orphan_guard(),
            )

    def _poll_started(self) -> bool:
        assert self._proc is not None
        assert self._log_path is not None
        if self._proc.poll() is not None:
            raise AnvilError(f"anvil exited with {self._proc.returncode}: {self._log_tail()}")
        match = _LISTENING.search(self._log_path.read_bytes())
        if match is None:
            return False
        self.port = int(match.group(2))
        return True

    def _log_tail(self) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        return self._log_path.read_bytes()[-2000:].decode("utf-8", "replace")

    def start(self) -> None:
        """Start and wait (blocking) until anvil listens."""
        self._spawn()
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while not self._poll_started():
                if time.monotonic() > deadline:
                    raise AnvilError(f"anvil did not listen within {START_TIMEOUT_S:g} s")
                time.sleep(0.02)
        except BaseException:
            self.stop()
            raise
        logger.info("anvil started", extra={"chain_id": self.chain_id, "url": self.url})

    async def astart(self) -> None:
        """Start and wait (without blocking the event loop) until anvil listens."""
        self._spawn()
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                while True:  # anvil says it listens only in its log file: poll it
                    if self._poll_started():
                        break
                    await asyncio.sleep(0.02)
        except BaseException:
            self.stop()
            raise
        logger.info("anvil started", extra={"chain_id": self.chain_id, "url": self.url})

    def stop(self) -> None:
        """SIGINT (anvil then dumps ``--state``), SIGKILL after a grace period; always reaped."""
        proc, self._proc = self._proc, None
        self.port = None
        if proc is not None and proc.poll() is None:
            _signal_group(proc, signal.SIGINT)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                logger.warning("anvil ignored SIGINT; killing it")
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()
            self._tmp = None

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await self.astart()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()
