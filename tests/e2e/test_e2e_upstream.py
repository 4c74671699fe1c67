"""Upstream mode end to end (issue 19) under ``oneclick up --upstream``: the official TypeScript
SDK's flows (happy, overpaid, underpaid) through the front instance, whose chain legs ride a
second oneclick over real HTTP (the stand-in for the hosted 1Click, on the devnet's PoA bridge).

While they run, the front's worker is SIGKILLed (``oneclick up`` restarts it) once while an
upstream deposit leg is in flight and once while an upstream payout or refund leg is: every
flow still reaches its outcome, and nothing is paid twice. No mainnet is called: every URL is
the devnet's or the stand-in's, on loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_stack import REPO_ROOT, RunningStack, read_json

from oneclick.store.database import SQLITE_FILE

FLOW = REPO_ROOT / "tests" / "conformance" / "ts_sdk" / "flow.mjs"
PAYS = {"exact": "SUCCESS", "over": "SUCCESS", "under": "REFUNDED"}
FLOW_TIMEOUT_S = 300
POLL_S = 0.02  # how often the killer looks at the front's database
# Where the front's worker is killed (each once, when first seen in its database).
DEPOSIT_IN_FLIGHT = "upstream deposit leg in flight"
PAYOUT_IN_FLIGHT = "upstream payout or refund leg in flight"

pytestmark = [pytest.mark.devnet, pytest.mark.slow, pytest.mark.timeout(600)]


def rows(database: Path, query: str) -> list[dict[str, Any]]:
    """Read-only (WAL: never blocks the worker)."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(query)]
    finally:
        connection.close()


def boundaries(database: Path) -> set[str]:
    seen = set()
    with contextlib.suppress(sqlite3.Error):  # the schema may not be there yet
        if rows(database, "SELECT 1 FROM swaps s JOIN deposits d ON d.swap_id = s.id "
                          "WHERE s.phase = 'DEPOSIT' AND d.status = 'PENDING'"):  # fmt: skip
            seen.add(DEPOSIT_IN_FLIGHT)
        if rows(database, "SELECT 1 FROM intents WHERE kind IN ('WITHDRAW', 'REFUND') "
                          "AND state = 'SETTLED' AND delivered IS NULL"):  # fmt: skip
            seen.add(PAYOUT_IN_FLIGHT)
    return seen


class Killer(threading.Thread):
    """SIGKILLs the front's worker at each boundary once; ``oneclick up`` restarts it."""

    def __init__(self, stack: RunningStack) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.database = stack.data_dir / SQLITE_FILE
        self.kills: list[str] = []
        self.halt = threading.Event()
        self.error: BaseException | None = None

    def worker_pid(self) -> int | None:
        doc = read_json(self.stack.data_dir / "stack.json") or {}
        pid = (doc.get("children") or {}).get("worker")
        return pid if isinstance(pid, int) else None

    def run(self) -> None:
        try:
            last_pid = None
            while not self.halt.is_set() and len(self.kills) < 2:
                pid = self.worker_pid()
                if pid is not None and pid != last_pid:
                    for boundary in sorted(boundaries(self.database) - set(self.kills)):
                        os.killpg(pid, signal.SIGKILL)
                        self.kills.append(boundary)
                        last_pid = pid  # wait for the restarted worker before the next kill
                        break
                time.sleep(POLL_S)
        except BaseException as exc:  # reported by the test
            self.error = exc


@pytest.fixture(scope="module")
def stack(running_stack_upstream: RunningStack) -> RunningStack:
    return running_stack_upstream


@pytest.fixture(scope="module")
def outcomes(stack: RunningStack) -> Iterator[tuple[dict[str, Any], Killer]]:
    """The SDK's three flows, together, with the killer watching; their JSON summaries."""
    node = shutil.which("node")
    assert node is not None, "node is not on PATH"
    killer = Killer(stack)
    killer.start()
    started: dict[str, subprocess.Popen[str]] = {}
    summaries: dict[str, Any] = {}
    try:
        for pay in PAYS:
            deadline = ["--deadline-s", "20"] if pay == "under" else []
            started[pay] = subprocess.Popen(
                [node, str(FLOW), stack.api_url, str(stack.devnet_json),
                 stack.manager_public_key, "--pay", pay, "--timeout-s", "240", *deadline],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
            )  # fmt: skip
        for pay, process in started.items():
            try:
                stdout, stderr = process.communicate(timeout=FLOW_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                stdout, stderr = process.communicate()
            assert process.returncode == 0, f"{pay}: {stderr}\n--- log ---\n{stack.log_tail()}"
            summaries[pay] = json.loads(stdout)
        yield summaries, killer
    finally:
        killer.halt.set()
        killer.join(timeout=10)
        for process in started.values():
            if process.poll() is None:
                process.kill()
                process.communicate()


@pytest.mark.parametrize("pay", list(PAYS))
def test_ts_sdk_flow_reaches_its_outcome_through_the_upstream(
    outcomes: tuple[dict[str, Any], Killer], stack: RunningStack, pay: str
) -> None:
    summary = outcomes[0][pay]
    final = summary["final"]
    assert summary["ok"] is True
    assert final["status"] == PAYS[pay], final
    front = stack.data_dir / SQLITE_FILE
    hosted = stack.data_dir / "upstream" / SQLITE_FILE
    address = summary["quote"]["depositAddress"]
    # The deposit address the user paid is the upstream's, into our custody account.
    [ours] = rows(front, "SELECT id, custody_account_id FROM swaps "
                         f"WHERE deposit_address = '{address}'")  # fmt: skip
    [leg] = rows(hosted, "SELECT recipient, recipient_type, origin_asset, destination_asset, "
                         f"status FROM swaps WHERE deposit_address = '{address}'")  # fmt: skip
    assert (leg["recipient"], leg["recipient_type"]) == (ours["custody_account_id"], "INTENTS")
    assert leg["origin_asset"] == leg["destination_asset"]
    assert leg["status"] == "SUCCESS"  # the upstream delivered the deposit to us
    status = httpx.get(f"{stack.api_url}/v0/status", params={"depositAddress": address},
                       timeout=30).json()  # fmt: skip
    forwarded = rows(hosted, "SELECT i.tx_hash FROM intents i JOIN swaps s ON s.id = i.swap_id "
                             f"WHERE s.deposit_address = '{address}' AND i.tx_hash IS NOT NULL "
                             "AND i.state = 'SETTLED'")  # fmt: skip
    assert forwarded
    # its hop into our custody account, in our nearTxHashes
    assert {f["tx_hash"] for f in forwarded} <= set(status["swapDetails"]["nearTxHashes"])
    # Both hops in our status: the user's chain deposit; our NEAR transfer to the upstream and
    # the upstream's transaction on the destination (or, refunded, the origin) chain.
    delivered = rows(front, "SELECT kind, tx_hash, destination_tx_hash FROM intents WHERE "
                            f"swap_id = '{ours['id']}' AND kind IN ('WITHDRAW', 'REFUND') "
                            "AND state = 'SETTLED'")  # fmt: skip
    assert delivered, final
    upstream_hashes = {
        r["destination_tx_hash"]
        for r in rows(hosted, "SELECT destination_tx_hash FROM intents WHERE kind = 'WITHDRAW'")
    }
    for payout in delivered:
        assert payout["tx_hash"], payout  # our hop: the NEAR transaction of our transfer
        assert payout["destination_tx_hash"] in upstream_hashes  # its hop, as it reported it
    if pay == "under":
        assert final["refundReason"] == "DEPOSIT_TOO_LOW", final
        assert int(final["refundedAmount"]) > 0, final
    else:
        assert final["destinationChainTxHashes"], final
        assert set(final["destinationChainTxHashes"]) <= upstream_hashes
        assert int(final["amountOut"]) >= int(summary["quote"]["minAmountOut"]), final
    if pay == "over":
        assert int(final["refundedAmount"]) > 0, final


def test_front_worker_killed_while_upstream_legs_are_in_flight(
    outcomes: tuple[dict[str, Any], Killer], stack: RunningStack
) -> None:
    summaries, killer = outcomes
    assert killer.error is None, killer.error
    assert sorted(killer.kills) == sorted([DEPOSIT_IN_FLIGHT, PAYOUT_IN_FLIGHT]), killer.kills
    front = stack.data_dir / SQLITE_FILE
    hosted = stack.data_dir / "upstream" / SQLITE_FILE
    # Nothing paid twice: one delivered payout per successful swap, one refund per refunded
    # one (plus the overpayment's excess), and each matches exactly one upstream payout leg.
    legs = rows(front, "SELECT swap_id, kind, state, delivered, destination_tx_hash FROM intents "
                       "WHERE kind IN ('WITHDRAW', 'REFUND') AND state != 'DEAD'")  # fmt: skip
    assert all(leg["delivered"] is not None for leg in legs), legs
    assert len(legs) == 4, legs  # exact: payout; over: payout + excess; under: refund
    funded = rows(hosted, "SELECT s.status FROM swaps s WHERE s.deposit_type = 'INTENTS' "
                          "AND s.deposited_amount IS NOT NULL")  # fmt: skip
    assert [f["status"] for f in funded] == ["SUCCESS"] * len(legs), funded
    destination = [leg["destination_tx_hash"] for leg in legs]
    assert len(set(destination)) == len(destination)
    log = stack.log.read_text(errors="replace")
    assert log.count("worker exited unexpectedly") >= 2
    assert all(s["ok"] for s in summaries.values())
