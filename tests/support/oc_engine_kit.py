"""A swap engine on the fake world, driven as a discrete-event simulation: the worker steps what
is due, then the manual clock jumps to the next due time. No sleeps, fully deterministic."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from nearintents import signing
from nearintents.encoding import b64encode
from nearintents.keys import Ed25519SecretKey, implicit_account_id
from nearintents.payload import format_rfc3339
from oneclick.domain.engine import SwapState
from oneclick.services.context import EnginePolicy, QuotePolicy
from oneclick.services.engine import EngineContext, StepResult
from oneclick.services.engine.metrics import CountingMetrics
from oneclick.store.claims import SqlClaims
from oneclick.store.tables import swaps
from oneclick.testing.world import FakeWorld, fake_world, sqlite_url
from oneclick.workers.runner import Worker, WorkerOptions

BTC = "nep141:btc.omft.near"
USDT = "nep141:eth-0xdac17f958d2ee523a2206206994597c13d831ec7.omft.near"
WNEAR = "nep141:wrap.near"
USDC_NEAR = "nep141:17208628f84f5d6ad33f0da3bbbeb27ffcb398eac501a31bd6ad2011e36133a1"
EVM_RECIPIENT = "0xcac3C41676deF4FE375E57118f3eB83A99105577"
BTC_REFUND = "bc1q6mte80265ghwq4vsrpm9lnaz46uvdreu9z8wly"
USER = "alice.near"
LEASE_S = 60.0

TEST_POLICY = EnginePolicy(
    deposit_poll=timedelta(minutes=5),
    follow_poll=timedelta(seconds=2),
    withdrawal_poll=timedelta(minutes=2),
    quote_retry=timedelta(minutes=5),
    sweep_poll=timedelta(hours=6),
    dead_margin=timedelta(seconds=30),
    stuck_grace=timedelta(hours=1),
    explorers={"near": "https://near.test/tx/{hash}", "eth": "https://eth.test/tx/{hash}",
               "btc": "https://btc.test/tx/{hash}"},
)  # fmt: skip


def quote_request(**change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dry": False, "swapType": "EXACT_INPUT", "slippageTolerance": 100,
        "originAsset": BTC, "depositType": "ORIGIN_CHAIN", "destinationAsset": USDT,
        "amount": "100000", "refundTo": BTC_REFUND, "refundType": "ORIGIN_CHAIN",
        "recipient": EVM_RECIPIENT, "recipientType": "DESTINATION_CHAIN",
        "deadline": "2026-01-01T14:00:00.000Z",
    }  # fmt: skip
    body.update(change)
    return body


@dataclass
class StepLog:
    """Every step's start and end, in order: proof that no swap is stepped concurrently."""

    events: list[tuple[str, str, str]] = field(default_factory=list)
    open: dict[str, str] = field(default_factory=dict)
    overlaps: list[str] = field(default_factory=list)

    def started(self, swap_id: str, owner: str) -> None:
        if swap_id in self.open:
            self.overlaps.append(swap_id)
        self.open[swap_id] = owner
        self.events.append(("start", swap_id, owner))

    def finished(self, swap_id: str, owner: str, result: StepResult | None) -> None:
        if self.open.get(swap_id) == owner:
            del self.open[swap_id]
        self.events.append(("end", swap_id, owner))


@dataclass
class Kit:
    world: FakeWorld
    client: httpx.AsyncClient
    worker: Worker
    log: StepLog
    metrics: CountingMetrics
    restarts: int = 0

    @property
    def clock(self):  # type: ignore[no-untyped-def]
        return self.world.clock

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.world.aclose()

    def new_worker(self, owner: str | None = None) -> Worker:
        """A fresh worker process: nothing in memory survives from the previous one."""
        self.restarts += 1
        ctx = EngineContext.of(
            self.world.ctx, self.world.store, owner=owner or f"worker-{self.restarts}",
            metrics=self.metrics,
        )  # fmt: skip
        self.worker = Worker(
            ctx, SqlClaims(self.world.store.db), WorkerOptions(lease_s=LEASE_S, batch=50),
            observer=self.log,
        )  # fmt: skip
        return self.worker

    async def quote(self, **change: Any) -> dict[str, Any]:
        response = await self.client.post("/v0/quote", json=quote_request(**change))
        assert response.status_code == 200, response.text
        quote: dict[str, Any] = response.json()["quote"]
        return quote

    async def status(self, quote: dict[str, Any]) -> dict[str, Any]:
        params = {"depositAddress": quote["depositAddress"]}
        if quote.get("depositMemo"):
            params["depositMemo"] = quote["depositMemo"]
        response = await self.client.get("/v0/status", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def swap(self, quote: dict[str, Any]) -> SwapState:
        async with self.world.store.transaction() as tx:
            record = await tx.swaps.by_deposit(quote["depositAddress"], quote.get("depositMemo"))
            assert record is not None
            found = await tx.swaps.get(record.id)
        assert found is not None
        return found

    async def account(self, quote: dict[str, Any]) -> str:
        return (await self.swap(quote)).custody_account_id

    async def deposit(self, quote: dict[str, Any], amount: int, **kw: Any) -> str:
        """The user pays ``amount`` of the origin asset the way the quote says."""
        swap = await self.swap(quote)
        if swap.deposit_type == "INTENTS" or swap.origin_asset in (WNEAR, USDC_NEAR):
            ledger = self.world.verifier.ledger
            ledger.mint(USER, swap.origin_asset, amount)
            ledger.balances[(USER, swap.origin_asset)] -= amount
            ledger.mint(swap.custody_account_id, swap.origin_asset, amount, cause="user")
            return ""
        return self.world.bridge.deposit(swap.custody_account_id, swap.origin_asset, amount, **kw)

    async def next_due(self) -> datetime | None:
        async with self.world.store.db.connect() as conn:
            rows = (await conn.execute(select(swaps.c.next_run_at, swaps.c.lease_until))).all()
        times = []
        for next_run_at, lease_until in rows:
            if next_run_at is None:
                continue
            if lease_until is not None and lease_until >= self.clock.now():
                times.append(max(next_run_at, lease_until + timedelta(microseconds=1)))
            else:
                times.append(next_run_at)
        return min(times, default=None)

    async def drive(self, until: datetime | None = None, max_rounds: int = 3000) -> None:
        """Step whatever is due and move the clock to the next due time, until nothing is due
        (or the next run is after ``until``, where the clock is left)."""
        for _ in range(max_rounds):
            if await self.worker.run_once():
                continue
            due = await self.next_due()
            if due is None or (until is not None and due > until):
                if until is not None and self.clock.now() < until:
                    self.clock.set(until)
                return
            self.clock.set(max(due, self.clock.now()))
        raise AssertionError("the engine did not settle down")


async def make_kit(
    tmp_path: Path,
    *,
    database_url: str | None = None,
    engine: EnginePolicy = TEST_POLICY,
    near: bool = False,
    custody_pool: int = 16,
    near_operator: str | None = None,
) -> Kit:
    world = await fake_world(
        database_url or sqlite_url(tmp_path),
        # near_operator: NEAR-native ORIGIN_CHAIN deposits are quoted (the worker signs nothing)
        policy=QuotePolicy(inactive_grace=timedelta(hours=24), near_operator_account=near_operator),
        engine_policy=engine,
        near=near,
        custody_pool=custody_pool,
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app()), base_url="http://oc")
    kit = Kit(world, client, None, StepLog(), CountingMetrics())  # type: ignore[arg-type]
    kit.new_worker()
    return kit


async def sign_in(client: httpx.AsyncClient, now: datetime, key: Ed25519SecretKey) -> str:
    """A user session for ``key``'s implicit account (a NEP-413 signature of no intents, as
    ``/v0/auth/authenticate`` takes it): its access token."""
    payload = {
        "signer_id": implicit_account_id(key.public_key), "verifying_contract": "intents.near",
        "deadline": format_rfc3339(now + timedelta(minutes=5)),
        "nonce": b64encode(os.urandom(32)), "intents": [],
    }  # fmt: skip
    signed = signing.sign("nep413", payload, key)
    response = await client.post("/v0/auth/authenticate", json={"signedData": signed})
    assert response.status_code == 200, response.text
    token: str = response.json()["accessToken"]
    return token


@asynccontextmanager
async def opened_kit(tmp_path: Path, **options: Any) -> AsyncIterator[Kit]:
    """``make_kit``, closed afterwards (its HTTP client and its world) however the test ends."""
    kit = await make_kit(tmp_path, **options)
    try:
        yield kit
    finally:
        await kit.aclose()


def custody_movements(kit: Kit, account: str) -> Counter[tuple[str, str]]:
    """Per (token, cause): the custody account's net movements in the ledger."""
    totals: Counter[tuple[str, str]] = Counter()
    for m in kit.world.verifier.ledger.movements:
        if m.account_id == account:
            totals[(m.token_id, m.cause)] += m.delta
    return totals
