"""The reference solver on its own feet: reconnecting when the relay goes away, following the
price feed, and ``python -m devnet.solver`` as a separate process. The verifier charges no fee
here, so the relay's amounts are the solver's own (tests/unit/devnet/test_relay_fees.py covers
the reconciliation)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from devnet.relay import RelayServer
from devnet.relay.testing import USDC, WNEAR, eventually, relay_world, solver_key
from nearintents.keys import implicit_account_id
from nearintents.rpc import Quote, QuoteRequest

pytestmark = pytest.mark.devnet

NEAR = 10**24
REQUEST = QuoteRequest(
    defuse_asset_identifier_in=USDC,
    defuse_asset_identifier_out=WNEAR,
    exact_amount_in=3_000_000,
    wait_ms=3_000,
)


async def test_the_solver_reconnects_when_the_relay_comes_back() -> None:
    async with relay_world(fee_pips=0) as world:
        solver = await world.add_solver("a", spread_bps=0, balances={WNEAR: 10 * NEAR})
        port, url = world.relay_server.port, world.relay_server.url
        await world.relay_server.stop()
        await eventually(lambda: not solver.ready.is_set(), what="the solver to notice")
        async with RelayServer(world.relay, port=port) as again:
            await eventually(solver.ready.is_set, what="the solver to reconnect")
            # exactly one reconnection: the stopping server refused the solver's fast retries
            # (devnet/serving.py closes its listener first), the new one took it
            assert solver.connections == 2
            assert again.url == url  # so the world's client needs no change
            quotes = await world.client.quote(REQUEST)
            assert [q.amount_out for q in quotes if isinstance(q, Quote)] == [NEAR]


async def test_the_solver_follows_the_price_feed() -> None:
    async with relay_world(fee_pips=0) as world:
        await world.add_solver("a", spread_bps=0, balances={WNEAR: 10 * NEAR})
        world.feed.set_price("near", "6")
        quotes = await world.client.quote(REQUEST)
        assert [q.amount_out for q in quotes if isinstance(q, Quote)] == [NEAR // 2]
        world.feed.set_price("near", "0.000001")  # 3 USDC is 3,000,000 NEAR: more than it has
        assert await world.client.quote(REQUEST.model_copy(update={"wait_ms": 300})) == []


async def test_python_m_devnet_solver(tmp_path: Path) -> None:
    # The subprocess dates its intents by system time, so the world's clock must be now.
    async with relay_world(start=time.time_ns(), fee_pips=0) as world:
        key = solver_key("cli")
        account = implicit_account_id(key.public_key)
        world.verifier.deposit(account, WNEAR, 10 * NEAR).ensure_success()
        key_file = tmp_path / "solver.json"
        key_file.write_text(
            json.dumps({"account_id": account, "private_key": key.to_near_string()})
        )
        key_file.chmod(0o600)
        # The subprocess runs on system time, so the world's clock must be now.
        world.clock.set(__import__("time").time_ns())
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "devnet.solver",
            "--relay-url",
            world.relay_server.base_url,
            "--near-rpc-url",
            world.near_rpc_url,
            "--prices-url",
            world.prices_url,
            "--key-file",
            str(key_file),
            "--spread-bps",
            "100",
            "--token",
            f"{USDC}=usd-coin:6",
            "--token",
            f"{WNEAR}=near:24",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            await eventually(
                lambda: bool(world.relay.hub.connections), timeout_s=30, what="the CLI solver"
            )
            await eventually(
                lambda: any(c.subscriptions for c in world.relay.hub.connections.values()),
                what="its subscriptions",
            )
            quotes = await world.client.quote(REQUEST)
            assert [q.amount_out for q in quotes if isinstance(q, Quote)] == [NEAR * 99 // 100]
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, stderr.decode()
