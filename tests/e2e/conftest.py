"""End-to-end fixtures: the whole embedded stack (``oneclick up``: the devnet with its anvil
chains, the API and a worker) as real processes, driven over HTTP.

``running_stack`` (session): ``oneclick up --data-dir <tmp> --port <free>`` in its own process
group, with ``STACK_ENV`` set; ready when ``GET /v0/tokens`` answers and the devnet has written
``devnet.json`` (polled, 180 s at most). At teardown the group gets SIGTERM, then SIGKILL for
anything left, and no anvil of this stack may survive. Its verifier charges mainnet's 1 pip.

``running_stack_100_pips`` (module): the same with ``--protocol-fee-pips 100``, for a
representative subset of the swaps (issue 12: the settlement is exact at any fee).

``running_stack_upstream`` (module): ``oneclick up --upstream`` (issue 19, upstream mode).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from e2e_stack import (
    POLL_S,
    REPO_ROOT,
    STACK_ENV,
    START_TIMEOUT_S,
    RunningStack,
    api_ready,
    free_port,
    has_up_command,
    manager_public_key_of,
    oneclick_command,
    read_json,
    stop_stack,
)


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with _stack(tmp_path_factory, "stack") as stack:
        yield stack


@pytest.fixture(scope="module")  # one module uses it: gone when that module is done
def running_stack_100_pips(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with _stack(tmp_path_factory, "stack-100-pips", "--protocol-fee-pips", "100") as stack:
        yield stack


@pytest.fixture(scope="module")  # one module uses it (issue 19): gone when that module is done
def running_stack_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """``oneclick up --upstream``: the API is the front instance in upstream mode, a second
    oneclick under ``data/upstream`` plays the hosted 1Click on the devnet's PoA bridge."""
    with _stack(tmp_path_factory, "stack-upstream", "--upstream") as stack:
        yield stack


@contextmanager
def _stack(
    tmp_path_factory: pytest.TempPathFactory, name: str, *options: str
) -> Iterator[RunningStack]:
    if not has_up_command():
        pytest.skip("`oneclick up` is not part of the CLI yet (it lands with the devnet runner)")
    data_dir = tmp_path_factory.mktemp(name) / "data"
    data_dir.mkdir()
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    log = data_dir.parent / "oneclick-up.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*oneclick_command(), "up", "--data-dir", str(data_dir), "--port", str(port),
             *options],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
            env={**os.environ, **STACK_ENV},
            start_new_session=True,  # its own process group: one signal reaches the whole tree
        )  # fmt: skip
    stack: RunningStack | None = None
    try:
        give_up = time.monotonic() + START_TIMEOUT_S
        devnet_path = data_dir / "devnet" / "devnet.json"
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"oneclick up exited with {process.returncode}:\n"
                    + log.read_text(errors="replace")[-4000:], pytrace=False,
                )  # fmt: skip
            devnet = read_json(devnet_path)
            if devnet is not None and api_ready(api_url):
                break
            if time.monotonic() > give_up:
                pytest.fail(
                    f"the stack was not ready after {START_TIMEOUT_S:.0f} s:\n"
                    + log.read_text(errors="replace")[-4000:], pytrace=False,
                )  # fmt: skip
            time.sleep(POLL_S)
        key = manager_public_key_of(data_dir, read_json(data_dir / "stack.json"))
        stack = RunningStack(api_url, data_dir, devnet, key, process, log)
        yield stack
    finally:
        survivors = stop_stack(process, data_dir)
        assert not survivors, f"anvil outlived oneclick up: {survivors}"
