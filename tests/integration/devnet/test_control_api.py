"""The devnet control API over HTTP, on the whole set of devnet chains (two anvil nodes, LiteSVM,
the simulated ledgers) with the bridge's loop running: faucet, user wallets, sends with memos,
balances, mining, and the faults (delayed confirmations, paused payouts, reorgs)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from devnet.bridge import BridgeServer, PoaBridge
from devnet.chains import DevnetChains
from devnet.control import ControlServer
from devnet.verifier import Verifier
from nearintents.rpc.bridge import HttpPoaBridge

pytestmark = pytest.mark.devnet

ARB_TOKEN = "nep141:arb.omft.near"


async def eventually(check: Callable[[], Awaitable[bool]], limit_s: float = 15.0) -> None:
    """Wait for a condition (the bridge loop works on its own schedule)."""
    deadline = time.monotonic() + limit_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


class World:
    def __init__(self, http: httpx.AsyncClient, bridge: PoaBridge, bridge_url: str) -> None:
        self.http = http
        self.bridge = bridge
        self.bridge_url = bridge_url

    async def post(self, path: str, body: dict[str, Any], status: int = 200) -> Any:
        response = await self.http.post(path, json=body)
        assert response.status_code == status, response.text
        return response.json()

    async def get(self, path: str, **params: str) -> Any:
        response = await self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with await DevnetChains.start(tmp_path) as chains:
        with Verifier.open(None) as verifier:
            bridge = PoaBridge(
                verifier,
                list(chains.chains.values()),
                seed=b"control-test",
                data_dir=tmp_path / "bridge",
                poll_interval=0.1,
            )
            async with (
                BridgeServer(bridge) as bridge_server,
                ControlServer(chains.chains, bridge=bridge, user_seed=b"users") as control,
                httpx.AsyncClient(base_url=control.url, timeout=10.0) as http,
            ):
                yield World(http, bridge, bridge_server.url)
            bridge.close()


def verifier_balance(world: World, account_id: str, token: str) -> int:
    view = {"account_id": account_id, "token_id": token}
    return int(world.bridge.verifier.view("mt_balance_of", view))


async def test_chains_faucet_wallets_balances_and_mining(world: World) -> None:
    chains = {c["chain"]: c for c in (await world.get("/chains"))["chains"]}
    assert set(chains) == {"eth:1", "eth:42161", "sol:mainnet", "btc:mainnet", "xrp:mainnet"}
    assert chains["xrp:mainnet"]["has_memo"] is True
    assert [a["symbol"] for a in chains["eth:42161"]["assets"]] == ["ETH", "USDC", "USDT"]

    wallet = await world.post("/wallets", {"chain": "eth:42161", "name": "alice"})
    again = await world.post("/wallets", {"chain": "eth:42161", "name": "alice"})
    assert wallet == again
    body = {"chain": "eth:42161", "address": wallet["address"], "asset": "USDC", "amount": "5"}
    await world.post("/faucet", body)
    query = {"chain": "eth:42161", "address": wallet["address"], "asset": "USDC"}
    assert (await world.get("/balance", **query))["balance"] == "5"

    head = chains["btc:mainnet"]["head"]
    assert (await world.post("/mine", {"chain": "btc:mainnet", "blocks": 3}))["head"] == head + 3

    await world.post("/faucet", {**body, "amount": "1.5"}, status=400)
    await world.post("/faucet", {**body, "address": "0x12"}, status=400)
    await world.post("/faucet", {**body, "chain": "doge:mainnet"}, status=404)
    await world.post(
        "/send", {**body, "wallet": "alice", "to": wallet["address"], "memo": "1"}, 400
    )


async def test_deposit_on_arbitrum_through_the_running_bridge_with_delayed_confirmations(
    world: World,
) -> None:
    async with HttpPoaBridge(world.bridge_url) as client:
        address = (await client.deposit_address("alice.near", "eth:42161")).address
        wallet = await world.post("/wallets", {"chain": "eth:42161", "name": "alice"})
        await world.post(
            "/faucet",
            {
                "chain": "eth:42161",
                "address": wallet["address"],
                "asset": "native",
                "amount": str(10**18),
            },
        )
        await world.post("/faults/confirmations", {"chain": "eth:42161", "extra_blocks": 3})
        sent = await world.post(
            "/send",
            {
                "chain": "eth:42161",
                "wallet": "alice",
                "to": address,
                "asset": "native",
                "amount": str(10**17),
            },
        )
        await client.notify_deposit("eth:42161", address, sent["tx_hash"])

        async def seen() -> bool:
            page = await client.recent_deposits("alice.near")
            return [d.status.value for d in page.deposits] == ["PENDING"]

        await eventually(seen)
        await world.post("/mine", {"chain": "eth:42161", "blocks": 2})
        await world.post("/bridge/sync", {})
        assert verifier_balance(world, "alice.near", ARB_TOKEN) == 0  # 3 of 5 blocks
        await world.post("/mine", {"chain": "eth:42161", "blocks": 2})

        async def credited() -> bool:
            return verifier_balance(world, "alice.near", ARB_TOKEN) == 10**17

        await eventually(credited)


async def test_paused_payouts_wait_and_resume(world: World) -> None:
    verifier = world.bridge.verifier
    verifier.deposit("bob.near", "nep141:xrp.omft.near", 5_000_000).ensure_success()
    dest = (await world.post("/wallets", {"chain": "xrp:mainnet", "name": "dest"}))["address"]
    await world.post("/faults/payouts", {"paused": True})
    burn = verifier.ft_withdraw(
        "bob.near", "xrp.omft.near", "xrp.omft.near", 2_000_000, memo=f"WITHDRAW_TO:{dest}:9"
    ).ensure_success()
    await world.post("/bridge/sync", {})
    assert world.bridge.withdrawal_status(burn.hash)["status"] == "PENDING"
    await world.post("/faults/payouts", {"paused": False})

    async def paid() -> bool:
        query = {"chain": "xrp:mainnet", "address": dest, "asset": "XRP"}
        return bool((await world.get("/balance", **query))["balance"] == "1900000")

    await eventually(paid)


async def test_reorg_fault_and_unrouted_deposits_listing(world: World) -> None:
    bridge = world.bridge
    shared = bridge.deposit_address("carol.near", "xrp:mainnet")
    await world.post(
        "/faucet",
        {
            "chain": "xrp:mainnet",
            "address": shared["address"],
            "asset": "native",
            "amount": "1000000",
            "memo": "31337",
        },
    )

    async def recorded() -> bool:
        deposits = (await world.get("/bridge/deposits", chain="xrp:mainnet"))["deposits"]
        return [(d["memo"], d["status"]) for d in deposits] == [("31337", "FAILED")]

    await eventually(recorded)
    head = (await world.post("/faults/reorg", {"chain": "btc:mainnet", "depth": 1}))["head"]
    assert head >= 1
    await world.post("/faults/reorg", {"chain": "sol:mainnet", "depth": 1}, status=400)
