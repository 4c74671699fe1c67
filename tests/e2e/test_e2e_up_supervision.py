"""``oneclick up`` supervises: a child that dies on its own (the devnet, the worker, the API:
each SIGKILLed here, in the middle of a swap) is restarted with backoff while the rest keep
running; a restarted devnet (new ports) brings the API and worker up again on the new
configuration. The swap still completes, exactly once, and SIGTERM then stops everything, with
nothing left running."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_e2e_up import (
    ARB_USDC,
    ETH_USDC,
    START_LIMIT_S,
    STOP_LIMIT_S,
    Up,
    free_port,
    in_an_hour,
    processes_under,
    status_of,
    wait_for,
    wallet,
)

pytestmark = [pytest.mark.devnet, pytest.mark.slow]

DEVNET_RESTART_LIMIT_S = 180.0


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/v0/tokens", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.timeout(600)
def test_dead_children_are_restarted_mid_swap_and_the_swap_completes_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "oneclick"
    up = Up(data_dir, free_port())
    stack_file = data_dir / "stack.json"

    def stack() -> dict[str, Any] | None:
        try:
            return dict(json.loads(stack_file.read_text()))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def restarted(name: str, old_pid: int) -> dict[str, Any] | None:
        found = stack()
        return found if found and found["children"][name] != old_pid else None

    try:
        first = wait_for(stack, "stack.json", START_LIMIT_S, up)
        assert set(first["children"]) == {"devnet", "api", "worker"}
        wait_for(lambda: _answers(up.api), "the API answering", START_LIMIT_S, up)
        info = up.cli("devnet", "info", "--json")
        alice_eth, bob_arb = wallet(info, "eth:1", "alice"), wallet(info, "eth:42161", "bob")
        body = {
            "dry": False, "swapType": "EXACT_INPUT", "slippageTolerance": 100,
            "originAsset": ETH_USDC, "depositType": "ORIGIN_CHAIN", "destinationAsset": ARB_USDC,
            "amount": "25000000", "refundTo": alice_eth["address"], "refundType": "ORIGIN_CHAIN",
            "recipient": bob_arb["address"], "recipientType": "DESTINATION_CHAIN",
            "deadline": in_an_hour(),
        }  # fmt: skip
        response = httpx.post(up.api + "/v0/quote", json=body, timeout=30)
        assert response.status_code == 200, response.text
        quote = response.json()["quote"]
        address, amount_out = quote["depositAddress"], int(quote["amountOut"])
        up.cli("devnet", "deposit", "--asset", ETH_USDC, "--to", address, "--amount", "25000000",
               "--json")  # fmt: skip

        # The devnet first, mid-swap: restarted on new ports, API and worker follow.
        before = wait_for(stack, "stack.json", START_LIMIT_S, up)
        os.kill(before["children"]["devnet"], signal.SIGKILL)
        after = wait_for(lambda: restarted("devnet", before["children"]["devnet"]),
                         "the devnet restarted", DEVNET_RESTART_LIMIT_S, up)  # fmt: skip
        wait_for(lambda: _answers(up.api), "the API answering", START_LIMIT_S, up)
        log = up.log.read_text()
        assert "devnet exited unexpectedly (by SIGKILL): restarting it in" in log
        if after["relay"] != before["relay"]:  # new ports: API and worker follow them
            assert after["children"]["api"] != before["children"]["api"]
            assert after["children"]["worker"] != before["children"]["worker"]
            assert "the devnet's addresses changed: restarting api" in log
        for name in ("worker", "api"):
            old = wait_for(stack, "stack.json", START_LIMIT_S, up)["children"][name]
            os.kill(old, signal.SIGKILL)
            wait_for(lambda n=name, o=old: restarted(n, o), f"{name} restarted",  # type: ignore[misc]
                     START_LIMIT_S, up)  # fmt: skip
            wait_for(lambda: _answers(up.api), "the API answering", START_LIMIT_S, up)
            assert (
                f"{name} exited unexpectedly (by SIGKILL): restarting it in" in up.log.read_text()
            )

        # The swap still reaches its outcome, once: bob is paid exactly amountOut.
        wait_for(lambda: status_of(up, address) == "SUCCESS", "SUCCESS", 180, up)
        info = up.cli("devnet", "info", "--json")
        alice_eth, bob_arb = wallet(info, "eth:1", "alice"), wallet(info, "eth:42161", "bob")
        assert int(alice_eth["balances"]["USDC"]) == int(alice_eth["funded"]["USDC"]) - 25_000_000
        assert int(bob_arb["balances"]["USDC"]) == int(bob_arb["funded"]["USDC"]) + amount_out
        assert up.proc.poll() is None
        assert up.stop() == 0
        assert not stack_file.exists()
        assert processes_under(data_dir) == []
    finally:
        if up.proc.poll() is None:
            up.proc.kill()
            up.proc.wait(timeout=STOP_LIMIT_S)
        for line in processes_under(data_dir):
            os.kill(int(line.split()[0]), signal.SIGKILL)
