"""``oneclick demo`` against ``oneclick up``: a real swap through the public API, exit 0 on
SUCCESS, and bob's balance grows."""

import subprocess

import pytest
from e2e_stack import REPO_ROOT, RunningStack, oneclick_command

pytestmark = [pytest.mark.devnet, pytest.mark.slow, pytest.mark.timeout(600)]


def test_demo_swaps_and_exits_zero(running_stack: RunningStack) -> None:
    done = subprocess.run(
        [*oneclick_command(), "demo", "--data-dir", str(running_stack.data_dir),
         "--api", running_stack.api_url, "--manager-key", running_stack.manager_public_key,
         "--wait", "240"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (
        f"{done.stdout}\n{done.stderr}\n--- stack log ---\n{running_stack.log_tail()}"
    )
    assert "SUCCESS" in done.stdout
    assert "bob's USDC" in done.stdout
