"""The official TypeScript SDK 0.1.25's UserAuthService and AccountService against ``oneclick
up``: a wallet signs in (the intents SDK's NEP-413 signer), reads its balance funded in the
devnet's verifier, quotes with a partner key in ``X-API-Key`` beside its session, finds the swap
in its history (filters, search, cursors), refreshes (a second tab's twin refresh inside the grace
window is answered too), and a refresh token two rotations old revokes it all."""

import json
import os
import shutil
import subprocess

import pytest
from e2e_stack import REPO_ROOT, STACK_ENV, RunningStack, oneclick_command

SCRIPT = REPO_ROOT / "tests" / "conformance" / "ts_sdk" / "account.mjs"

pytestmark = [pytest.mark.devnet, pytest.mark.slow, pytest.mark.timeout(300)]


def test_ts_sdk_signs_in_and_reads_its_account(running_stack: RunningStack) -> None:
    node = shutil.which("node")
    assert node is not None, "node is not on PATH"
    added = subprocess.run(
        [*oneclick_command(), "partners", "add", "ts-sdk-account",
         "--data-dir", str(running_stack.data_dir)],
        capture_output=True, text=True, cwd=REPO_ROOT, env={**os.environ, **STACK_ENV},
        timeout=60, check=True,
    )  # fmt: skip
    partner_key = added.stdout.strip().splitlines()[0]
    done = subprocess.run(
        [node, str(SCRIPT), running_stack.api_url, str(running_stack.devnet_json), partner_key],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stderr}\n--- stack log ---\n{running_stack.log_tail()}"
    summary = json.loads(done.stdout)
    assert summary["ok"] is True
    assert summary["history"]["item"]["depositAddress"] == summary["quote"]["depositAddress"]
    assert "already used" in summary["reuse"]
    assert "revoked" in summary["revoked"]
    assert "slippageTolerance" in summary["fractional"]
