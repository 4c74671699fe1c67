"""Issue 12 on the devnet: ``oneclick up --protocol-fee-pips 100``. The relay's amounts are
signed verbatim, so the swaps must settle exactly at a fee 100 times mainnet's too.

A representative subset of ``test_e2e_swaps`` (EXACT_INPUT with an app fee, EXACT_OUTPUT to a
memo chain, FLEX_INPUT from a NEAR-native token, INTENTS in and out, Bitcoin in) runs on its own
stack, audited unit by unit as there, plus a check that the verifier took exactly 100 pips of
what the swap sold; and the official TypeScript SDK's flows (``flow.mjs``: paying exactly,
overpaying and underpaying) reach SUCCESS, SUCCESS with the excess refunded, and REFUNDED.
The swaps and flows start at once (scenarios on a background loop, the three ``node`` flows as
child processes) so they cost one stack and the longest swap. ``test_e2e_crash``'s worker-kill
test is collected here too and runs first, on this stack.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from math import ceil

import pytest
import test_e2e_swaps as at_1_pip
from e2e_stack import REPO_ROOT, RunningStack
from e2e_swapkit import PLATFORM_FEE_ACCOUNT, Audit, Devnet, Scenarios

# The crash test, collected again in this module: its ``service`` fixture asks for
# ``running_stack``, which this module points at the 100-pip stack (below).
from test_e2e_crash import service, test_swaps_survive_worker_kills  # noqa: F401

from oneclick.client import OneClickClient

pytestmark = [pytest.mark.devnet, pytest.mark.slow, pytest.mark.timeout(600)]

FEE_PIPS = 100
FLOW = REPO_ROOT / "tests" / "conformance" / "ts_sdk" / "flow.mjs"
SUBSET = (
    "evm_token_to_evm_token",
    "evm_to_memo_chain_exact_output",
    "near_native_to_evm_flex_input",
    "intents_deposit_to_intents_recipient",
    "bitcoin_to_evm",
)
PAYS = {"exact": "SUCCESS", "over": "SUCCESS", "under": "REFUNDED"}
FLOW_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def stack(running_stack_100_pips: RunningStack) -> RunningStack:
    return running_stack_100_pips


@pytest.fixture(scope="module")
def running_stack(stack: RunningStack) -> RunningStack:
    """This module's stack under the name the crash test's fixtures use."""
    return stack


@pytest.fixture(scope="module")
def flows(stack: RunningStack) -> Iterator[dict[str, subprocess.Popen[str]]]:
    """The SDK's three flows, started together on the 100-pip stack."""
    node = shutil.which("node")
    assert node is not None, "node is not on PATH"
    started: dict[str, subprocess.Popen[str]] = {}
    try:
        for pay in PAYS:
            # underpaid: a 20 s deadline (the stack's minimum is 10 s) so the refund comes soon
            deadline = ["--deadline-s", "20"] if pay == "under" else []
            started[pay] = subprocess.Popen(
                [node, str(FLOW), stack.api_url, str(stack.devnet_json),
                 stack.manager_public_key, "--pay", pay, "--timeout-s", "240", *deadline],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
            )  # fmt: skip
        yield started
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
            process.communicate()


@pytest.fixture(scope="module")
def swaps(
    stack: RunningStack, flows: dict[str, subprocess.Popen[str]]
) -> Iterator[tuple[Scenarios, at_1_pip.World]]:
    runner = Scenarios()

    async def open_world() -> at_1_pip.World:
        api = OneClickClient(stack.api_url, manager_public_key=stack.manager_public_key,
                             timeout=60.0)  # fmt: skip
        devnet = Devnet(stack.devnet, stack.data_dir / "devnet")
        assert await devnet.views.fee() == FEE_PIPS, "oneclick up passed the fee to the devnet"
        before = {t: await devnet.balance(t, PLATFORM_FEE_ACCOUNT) for t in at_1_pip.ORIGINS}
        return at_1_pip.World(api, devnet, await devnet.fee_collector(), before)

    world = runner.run(open_world())
    for name in SUBSET:
        runner.start(name, at_1_pip.SCENARIOS[name](world))
    try:
        yield runner, world
    finally:
        runner.close(world.aclose())


def _collect(swaps: tuple[Scenarios, at_1_pip.World], name: str) -> Audit:
    checked = at_1_pip.collect(swaps, name)
    # The custody account's -amount_in went to the solver less exactly ceil(amount_in·100/1e6),
    # which the verifier credited to its fee collector.
    swapped = checked.origin.sold + checked.origin.protocol_fee
    assert checked.origin.protocol_fee == ceil(swapped * FEE_PIPS / 1_000_000) > 0, checked.line()
    return checked


@pytest.mark.parametrize("name", SUBSET)
def test_swaps_settle_exactly_at_100_pips(
    swaps: tuple[Scenarios, at_1_pip.World], name: str
) -> None:
    _collect(swaps, name)


@pytest.mark.parametrize("pay", list(PAYS))
def test_ts_sdk_flow_reaches_its_outcome_at_100_pips(
    flows: dict[str, subprocess.Popen[str]], stack: RunningStack, pay: str
) -> None:
    process = flows[pay]
    try:
        stdout, stderr = process.communicate(timeout=FLOW_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    assert process.returncode == 0, f"{stderr}\n--- stack log ---\n{stack.log_tail()}"
    summary = json.loads(stdout)
    assert summary["ok"] is True
    final = summary["final"]
    assert final["status"] == PAYS[pay], final
    paid, amount_in = int(summary["deposit"]["paid"]), int(summary["quote"]["amountIn"])
    if pay == "under":
        assert final["refundReason"] == "DEPOSIT_TOO_LOW", final
        assert int(final["refundedAmount"]) > 0, final
    else:
        assert final["destinationChainTxHashes"], final
        assert int(final["amountOut"]) >= int(summary["quote"]["minAmountOut"]), final
    if pay == "over":
        assert paid > amount_in
        assert int(final["refundedAmount"]) > 0, final
