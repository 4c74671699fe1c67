"""The official TypeScript SDK drives an ANY_INPUT reusable address against ``oneclick up``
(tests/conformance/ts_sdk/any_input.mjs): a partner's quote with ``chainDepositAddresses``,
USDC paid on eth:1 and on eth:42161 to the one Intents account, both deposits delivered to bob
and audited to the unit (withdrawn + fees == what the deposits pooled == what bob received)."""

import json
import shutil
import subprocess

import pytest
from e2e_stack import REPO_ROOT, RunningStack, oneclick_command

FLOW = REPO_ROOT / "tests" / "conformance" / "ts_sdk" / "any_input.mjs"

pytestmark = [pytest.mark.devnet, pytest.mark.slow, pytest.mark.timeout(600)]


def test_ts_sdk_any_input_address_takes_deposits_from_two_chains(
    running_stack: RunningStack,
) -> None:
    node = shutil.which("node")
    assert node is not None, "node is not on PATH"
    added = subprocess.run(
        [*oneclick_command(), "partners", "add", "any-input-e2e", "--data-dir",
         str(running_stack.data_dir)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=60, check=True,
    )  # fmt: skip
    token = added.stdout.strip().splitlines()[-1]
    flow = subprocess.run(
        [node, str(FLOW), running_stack.api_url, str(running_stack.devnet_json),
         running_stack.manager_public_key, token, "--timeout-s", "240"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300,
    )  # fmt: skip
    assert flow.returncode == 0, f"{flow.stderr}\n--- stack log ---\n{running_stack.log_tail()}"
    summary = json.loads(flow.stdout)
    assert summary["ok"] is True
    deposits = summary["final"]["deposits"]
    assert sorted(d["chain"] for d in deposits) == ["eth:1", "eth:42161"]
    assert all(d["phase"] == "DELIVERED" for d in deposits)
    withdrawn = sum(int(w["amountOut"]) for w in summary["final"]["withdrawals"])
    assert int(summary["final"]["received"]) == withdrawn > 0
