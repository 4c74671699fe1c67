"""The official TypeScript SDK runs a whole swap against ``oneclick up``: tokens, dry and live
quotes with our signature, a devnet deposit, submitDepositTx, status until SUCCESS, and a 404."""

import json
import shutil
import subprocess

import pytest
from e2e_stack import REPO_ROOT, RunningStack

FLOW = REPO_ROOT / "tests" / "conformance" / "ts_sdk" / "flow.mjs"

pytestmark = [pytest.mark.devnet, pytest.mark.slow, pytest.mark.timeout(600)]


def test_ts_sdk_swaps_usdc_from_ethereum_to_arbitrum(running_stack: RunningStack) -> None:
    node = shutil.which("node")
    assert node is not None, "node is not on PATH"
    done = subprocess.run(
        [node, str(FLOW), running_stack.api_url, str(running_stack.devnet_json),
         running_stack.manager_public_key, "--timeout-s", "240"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stderr}\n--- stack log ---\n{running_stack.log_tail()}"
    summary = json.loads(done.stdout)
    assert summary["ok"] is True
    assert summary["final"]["status"] == "SUCCESS"
    assert summary["final"]["destinationChainTxHashes"]
    assert summary["notFound"]["status"] == 404
