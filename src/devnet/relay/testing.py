"""A small NEAR Intents world on loopback for tests and demos: the verifier with its NEAR RPC
server, a price feed server, the relay with its server, a relay client, and reference solvers
added on demand. Every server and task is stopped when the context exits.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from devnet.prices import HttpPriceSource, PriceFeed, PriceServer
from devnet.relay.relay import Relay, RelayConfig
from devnet.relay.server import RelayServer
from devnet.solver.pricing import TokenSpec
from devnet.solver.solver import MarketMaker, SolverConfig
from devnet.verifier import ManualClock, RpcServer, Verifier, VerifierConfig
from nearintents.keys import Ed25519SecretKey, implicit_account_id
from nearintents.rpc import HttpNearRpc, HttpSolverRelay, VerifierViews

USDC = "nep141:usdc.near"
WNEAR = "nep141:wrap.near"
TOKENS = (TokenSpec(USDC, "usd-coin", 6), TokenSpec(WNEAR, "near", 24))
PRICES = {"usd-coin": "1", "near": "3"}
START = datetime(2030, 1, 1, tzinfo=UTC)


async def eventually(
    condition: Callable[[], bool], *, timeout_s: float = 5.0, what: str = "condition"
) -> None:
    """Wait until ``condition()`` holds (polled), or fail after ``timeout_s``."""
    try:
        async with asyncio.timeout(timeout_s):
            while not condition():  # noqa: ASYNC110 - polls state owned by other tasks
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def solver_key(name: str) -> Ed25519SecretKey:
    return Ed25519SecretKey(hashlib.sha256(f"devnet-solver:{name}".encode()).digest())


@dataclass
class World:
    verifier: Verifier
    clock: ManualClock
    near_rpc_url: str
    prices_url: str
    feed: PriceFeed
    relay: Relay
    relay_server: RelayServer
    client: HttpSolverRelay
    views: VerifierViews
    prices: HttpPriceSource
    stack: AsyncExitStack
    solvers: list[MarketMaker] = field(default_factory=list)

    async def add_solver(
        self,
        name: str,
        *,
        spread_bps: int,
        balances: Mapping[str, int],
        named: bool = False,
        wait_ready: bool = True,
    ) -> MarketMaker:
        """A reference solver with ``balances`` deposited: on a named account
        (``<name>.solver.near`` with ``add_public_key``) or on its key's implicit account."""
        key = solver_key(name)
        account = f"{name}.solver.near" if named else implicit_account_id(key.public_key)
        if named:
            self.verifier.add_public_key(account, str(key.public_key)).ensure_success()
        for token_id, amount in balances.items():
            self.verifier.deposit(account, token_id, amount).ensure_success()
        config = SolverConfig(
            account_id=account,
            tokens=TOKENS,
            spread_bps=spread_bps,
            verifying_contract=self.verifier.account_id,
        )
        solver = MarketMaker(
            config,
            key,
            relay_ws_url=self.relay_server.ws_url,
            views=self.views,
            prices=self.prices,
            clock=self.clock,
        )
        await self.stack.enter_async_context(solver)
        self.solvers.append(solver)
        if wait_ready:
            await eventually(solver.ready.is_set, what=f"solver {name} to subscribe")
        return solver


@asynccontextmanager
async def relay_world(
    *,
    fee_pips: int = 100,
    data_dir: Path | None = None,
    relay_config: RelayConfig | None = None,
    prices: Mapping[str, str] = PRICES,
    start: datetime | int = START,
    price_ttl_s: float = 0,
) -> AsyncIterator[World]:
    """The world on a :class:`ManualClock` at ``start`` (ns or datetime); ``data_dir`` keeps
    the verifier's and the relay's state (memory if None). The solvers re-read the price feed
    after ``price_ttl_s`` (0: on every quote, so a test's price change shows at once)."""
    clock = ManualClock(start)
    async with AsyncExitStack() as stack:
        verifier = stack.enter_context(
            Verifier.open(
                data_dir / "verifier" if data_dir else None,
                clock=clock,
                config=VerifierConfig(fee=fee_pips),
            )
        )
        rpc_server = await stack.enter_async_context(RpcServer(verifier))
        feed = PriceFeed(prices, now_s=lambda: clock.now_ns() // 1_000_000_000)
        price_server = await stack.enter_async_context(PriceServer(feed))
        near = await stack.enter_async_context(HttpNearRpc(rpc_server.url, timeout=5))
        price_source = HttpPriceSource(price_server.url, ttl_s=price_ttl_s)
        stack.push_async_callback(price_source.aclose)
        relay = await stack.enter_async_context(
            Relay(verifier, data_dir=data_dir / "relay" if data_dir else None, config=relay_config)
        )
        relay_server = await stack.enter_async_context(RelayServer(relay))
        api_key = next(iter(relay.config.api_keys), None)
        client = await stack.enter_async_context(
            HttpSolverRelay(relay_server.url, api_key=api_key, timeout=5)
        )
        yield World(
            verifier=verifier,
            clock=clock,
            near_rpc_url=rpc_server.url,
            prices_url=price_server.url,
            feed=feed,
            relay=relay,
            relay_server=relay_server,
            client=client,
            views=VerifierViews(near, verifier.account_id),
            prices=price_source,
            stack=stack,
        )
