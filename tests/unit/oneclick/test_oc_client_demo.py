"""The demo's logic (oneclick.client.demo) end to end on the fake world: the public API on fakes,
the swap engine stepped between status polls, and a fake devnet control API whose ``/send``
pays the deposit address through the fake bridge. Deterministic: the worker takes one step per
status poll and the fake clock jumps to the next due time."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from oc_engine_kit import Kit, make_kit
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from oneclick.client import OneClickClient, SwapStatus
from oneclick.client.demo import DemoError, plan_demo, run_demo
from oneclick.client.models import ExecutionStatus, QuoteResponse
from oneclick.client.sandbox import ControlClient, DevnetInfo
from oneclick.testing.assets import USDC_BASE, USDT_ETH

ALICE = "0x" + "a1" * 20
BOB = "0x" + "b0" * 20
DEVNET: dict[str, Any] = {
    "version": 1, "control": "http://control", "api": "http://oneclick",
    "chains": [{"chain": "eth:1", "blockchain": "eth", "confirmations": 2, "memo": False},
               {"chain": "eth:8453", "blockchain": "base", "confirmations": 2, "memo": False}],
    "assets": [{"assetId": USDT_ETH, "chain": "eth:1", "blockchain": "eth", "symbol": "USDT",
                "decimals": 6, "contractAddress": "0xdac17f958d2ee523a2206206994597c13d831ec7",
                "priceId": "tether", "price": "1"},
               {"assetId": USDC_BASE, "chain": "eth:8453", "blockchain": "base",
                "symbol": "USDC", "decimals": 6, "priceId": "usd-coin", "price": "1"}],
    "wallets": [{"chain": "eth:1", "name": "alice", "address": ALICE, "funded": {"USDT": "5"}},
                {"chain": "eth:8453", "name": "bob", "address": BOB, "funded": {}}],
}  # fmt: skip
SYMBOLS = {("eth:1", "USDT"): USDT_ETH, ("eth:8453", "USDC"): USDC_BASE}


class FakeControl:
    """The control API routes the demo uses, over the kit's fake bridge and ledger."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.wallets: dict[tuple[str, str, str], int] = {("eth:1", ALICE, "USDT"): 5}
        self.mined: list[tuple[str, int]] = []
        self.sent: list[str] = []

    async def balance(self, request: Request) -> JSONResponse:
        chain, address, asset = (request.query_params[k] for k in ("chain", "address", "asset"))
        paid = 0
        token = SYMBOLS[(chain, asset)].removeprefix("nep141:")
        fee = self.kit.world.bridge._token(SYMBOLS[(chain, asset)]).withdrawal_fee
        for record in self.kit.world.verifier.ledger.withdrawals:
            if record.token == token and record.memo == f"WITHDRAW_TO:{address}":
                paid += record.amount - fee
        return JSONResponse({"balance": str(self.wallets.get((chain, address, asset), 0) + paid)})

    async def faucet(self, request: Request) -> JSONResponse:
        body = await request.json()
        key = (body["chain"], body["address"], body["asset"])
        self.wallets[key] = self.wallets.get(key, 0) + int(body["amount"])
        return JSONResponse({"tx_hash": "0xfaucet"})

    async def send(self, request: Request) -> JSONResponse:
        body = await request.json()
        assert (body["chain"], body["wallet"]) == ("eth:1", "alice")
        amount = int(body["amount"])
        self.wallets[("eth:1", ALICE, body["asset"])] -= amount
        account = await self.kit.account({"depositAddress": body["to"]})
        tx_hash = self.kit.world.bridge.deposit(account, SYMBOLS[("eth:1", body["asset"])], amount)
        self.sent.append(tx_hash)
        return JSONResponse({"tx_hash": tx_hash})

    async def mine(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.mined.append((body["chain"], body["blocks"]))
        return JSONResponse({"head": len(self.mined)})

    def app(self) -> Starlette:
        post = ["POST"]
        return Starlette(routes=[
            Route("/balance", self.balance), Route("/faucet", self.faucet, methods=post),
            Route("/send", self.send, methods=post), Route("/mine", self.mine, methods=post),
        ])  # fmt: skip


class SteppingTransport(httpx.AsyncBaseTransport):
    """The API, with one engine step (or a clock jump to the next due time) before each
    ``GET /v0/status``: the swap advances as the client polls, one transition at a time."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.inner = httpx.ASGITransport(app=kit.world.app())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v0/status":
            # Time passes between polls (a frozen clock would keep a submitted deposit's
            # wake-up current forever, and the bridge's indexing lag would never end).
            self.kit.clock.advance(timedelta(seconds=1))
        if request.url.path == "/v0/status" and not await self.kit.worker.run_once():
            due = await self.kit.next_due()
            if due is not None:
                self.kit.clock.set(max(due, self.kit.clock.now()))
        return await self.inner.handle_async_request(request)


class Recorder:
    def __init__(self) -> None:
        self.steps: list[str] = []
        self.statuses: list[str] = []
        self.verified: bool | None = None

    def step(self, text: str) -> None:
        self.steps.append(text)

    def quoted(self, quote: QuoteResponse, verified: bool) -> None:
        self.verified = verified

    def status(self, status: ExecutionStatus) -> None:
        self.statuses.append(status.status)


@pytest.fixture
async def kit(tmp_path: Path) -> AsyncIterator[Kit]:
    built = await make_kit(tmp_path)
    # The demo client dates its quote's deadline by the wall clock; the service refuses
    # deadlines more than 24 h after its own clock, so the fake clock starts at the wall's.
    built.world.clock.set(datetime.now(UTC))
    yield built
    await built.client.aclose()
    await built.world.aclose()


async def test_the_demo_swaps_and_reports_every_status(kit: Kit) -> None:
    control = FakeControl(kit)
    devnet = DevnetInfo.model_validate(DEVNET)
    async with (
        OneClickClient("http://oneclick", transport=SteppingTransport(kit),
                       manager_public_key=kit.world.keys.manager_public_key) as api,
        ControlClient("http://control", transport=httpx.ASGITransport(app=control.app())) as ctl,
    ):  # fmt: skip
        plan = await plan_demo(
            api, ctl, devnet, origin=("eth:1", "USDT"), destination=("eth:8453", "USDC")
        )
        assert (plan.refund_to, plan.recipient, plan.amount) == (ALICE, BOB, 10_000_000)
        assert control.wallets[("eth:1", ALICE, "USDT")] == 10_000_000  # topped up
        seen = Recorder()
        result = await run_demo(api, ctl, plan, seen, timeout=60, poll_interval=0)

    assert result.succeeded, (result.final.status, result.final.swap_details)
    assert seen.verified is True
    deposit = result.quote.quote.deposit_address
    assert f"track it live: {api.base_url}/track/{deposit}" in seen.steps
    assert seen.statuses[0] in (SwapStatus.PENDING_DEPOSIT, SwapStatus.KNOWN_DEPOSIT_TX)
    assert seen.statuses[-1] == SwapStatus.SUCCESS
    assert SwapStatus.PROCESSING in seen.statuses
    assert result.balance_before == 0
    assert result.received == int(result.final.swap_details.amount_out or 0) > 0
    assert result.received >= int(result.quote.quote.min_amount_out)
    assert control.sent == [result.deposit_tx]
    assert control.mined[0] == ("eth:1", 2)  # the origin chain's confirmations
    assert result.final.swap_details.destination_chain_tx_hashes


async def test_the_demo_refuses_assets_the_api_does_not_list(kit: Kit) -> None:
    devnet = DevnetInfo.model_validate(
        DEVNET | {"assets": [*DEVNET["assets"], {**DEVNET["assets"][1], "chain": "eth:42161",
                                                  "assetId": "nep141:arb-0xnope.omft.near"}]}
    )  # fmt: skip
    control = FakeControl(kit)
    async with (
        OneClickClient("http://oneclick", transport=SteppingTransport(kit)) as api,
        ControlClient("http://control", transport=httpx.ASGITransport(app=control.app())) as ctl,
    ):
        with pytest.raises(DemoError, match="does not list nep141:arb-0xnope"):
            await plan_demo(api, ctl, devnet, origin=("eth:1", "USDT"))
