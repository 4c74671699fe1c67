"""The official TypeScript SDK runs a whole swap against ``oneclick up``: tokens, dry and live
quotes with our signature, a devnet deposit, submitDepositTx, status until SUCCESS, and a 404.
Meanwhile ``/v0/status/stream`` follows the swap over real HTTP from PENDING_DEPOSIT to SUCCESS."""

import json
import shutil
import subprocess

import pytest
from e2e_sse import StreamFollower, deposit_addresses, new_deposit_address
from e2e_stack import REPO_ROOT, RunningStack

from oneclick.store.database import SQLITE_FILE

FLOW = REPO_ROOT / "tests" / "conformance" / "ts_sdk" / "flow.mjs"

pytestmark = [pytest.mark.devnet, pytest.mark.slow, pytest.mark.timeout(600)]


def test_ts_sdk_swaps_usdc_from_ethereum_to_arbitrum(running_stack: RunningStack) -> None:
    node = shutil.which("node")
    assert node is not None, "node is not on PATH"
    database = running_stack.data_dir / SQLITE_FILE
    known = deposit_addresses(database)
    flow = subprocess.Popen(
        [node, str(FLOW), running_stack.api_url, str(running_stack.devnet_json),
         running_stack.manager_public_key, "--timeout-s", "240"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
    )  # fmt: skip
    try:
        follower = StreamFollower(running_stack.api_url, new_deposit_address(database, known))
        follower.start()
        stdout, stderr = flow.communicate(timeout=300)
    finally:
        if flow.poll() is None:
            flow.kill()
            flow.wait()
    assert flow.returncode == 0, f"{stderr}\n--- stack log ---\n{running_stack.log_tail()}"
    summary = json.loads(stdout)
    follower.join(timeout=60)  # the stream ends a grace period after SUCCESS
    assert not follower.is_alive(), "the status stream did not end after SUCCESS"
    assert follower.error is None, follower.error
    streamed = follower.statuses()
    assert [int(seq) for seq, _ in streamed] == list(range(1, len(streamed) + 1))  # no gap
    assert streamed[0][1] == "PENDING_DEPOSIT"
    assert streamed[-1][1] == "SUCCESS"
    order = [status for _, status in streamed]
    polled = summary["final"]["statuses"]  # what the SDK's polling saw, in order
    assert [s for s in order if s in polled] == list(dict.fromkeys(polled))
    assert follower.events[-1] == {"event": "end", "data": {"status": "SUCCESS"}}
    assert summary["ok"] is True
    assert summary["final"]["status"] == "SUCCESS"
    assert summary["final"]["destinationChainTxHashes"]
    assert summary["notFound"]["status"] == 404
