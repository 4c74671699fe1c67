"""The servers the benchmark measures, each in its own process (``python -m bench.serve MODE``),
so the load generator never shares a GIL with the server:

- ``fake``     the 1Click app on fakes (fake relay/bridge/verifier/prices) over a SQLite file
               seeded with ``--swaps`` swaps; writes ``--out`` = {"addresses": [...], "key"}.
- ``baseline`` a bare Starlette app answering GET /v0/status and /v0/tokens with canned bodies
               (``--bodies``: the real service's answers) — the framework floor.
- ``devnet``   an in-process devnet (verifier + NEAR RPC, price feed, solver relay) with two
               reference solvers; writes ``--out`` = its URLs; keeps its clock on wall time.
- ``api``      the 1Click app with the real protocol clients (HttpSolverRelay, NEAR RPC views,
               CoinGecko-style prices) pointed at ``--devnet`` (that JSON); INTENTS deposits
               only (no bridge in this devnet: a fake bridge stands in, unused).

Every server listens on 127.0.0.1:``--port`` and stops on SIGTERM/SIGINT.
"""

# Setup-time file reads and writes in a benchmark's server process: blocking them is harmless.
# ruff: noqa: ASYNC240

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn

BENCH_START = datetime.now(UTC)


# Every server the same HTTP stack, named rather than "auto" (which picks httptools and uvloop
# when installed): the service and the bare baseline must parse and loop alike for a fair ratio.
HTTP, LOOP = "h11", "asyncio"


async def _serve(app: Any, port: int) -> None:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off",
        http=HTTP, loop=LOOP,
    )  # fmt: skip
    await uvicorn.Server(config).serve()  # uvicorn stops on SIGTERM/SIGINT by itself


def _clone_swaps(db: Path, total: int) -> list[str]:
    """Copy the seeded swaps (with fresh ids, custody rows and deposit addresses) until the
    table holds ``total``; the deposit addresses of every swap."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        templates = [dict(r) for r in con.execute("SELECT * FROM swaps")]
        account = dict(con.execute("SELECT * FROM custody_accounts LIMIT 1").fetchone())
        next_index = con.execute('SELECT MAX("index") FROM custody_accounts').fetchone()[0] + 1
        rows, accounts = [], []
        for i in range(total - len(templates)):
            swap = dict(templates[i % len(templates)])
            index = next_index + i
            account_id = f"{index:064x}"
            accounts.append({**account, "index": index, "account_id": account_id})
            swap.update(id=str(uuid.uuid4()), custody_index=index, custody_account_id=account_id,
                        deposit_address="0x" + f"{index:040x}")  # fmt: skip
            rows.append(swap)
        for table, batch in (("custody_accounts", accounts), ("swaps", rows)):
            if batch:
                columns = list(batch[0])
                quoted = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join(f":{c}" for c in columns)
                con.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", batch)  # noqa: S608
        con.commit()
        return [r[0] for r in con.execute("SELECT deposit_address FROM swaps")]
    finally:
        con.close()


async def fake(args: argparse.Namespace) -> None:
    from oneclick.domain.requests import QuoteInput
    from oneclick.services import quoting
    from oneclick.testing.assets import USDC_BASE, USDT_ETH
    from oneclick.testing.world import fake_world

    db = Path(args.db)
    world = await fake_world(f"sqlite+aiosqlite:///{db.resolve()}", custody_pool=args.seed_quotes)
    try:
        raw = QuoteInput(
            dry=False, swap_type="EXACT_INPUT", slippage_tolerance=100, origin_asset=USDT_ETH,
            deposit_type="ORIGIN_CHAIN", destination_asset=USDC_BASE, amount="1000000",
            refund_to="0x" + "a1" * 20, refund_type="ORIGIN_CHAIN", recipient="0x" + "b0" * 20,
            recipient_type="DESTINATION_CHAIN", deadline="2026-01-01T14:00:00.000Z",
        )  # fmt: skip
        for _ in range(args.seed_quotes):  # real quotes: real rows to clone from
            await quoting.request_quote(world.ctx, raw, partner=None, correlation_id="seed")
        addresses = await asyncio.to_thread(_clone_swaps, db, args.swaps)
        Path(args.out).write_text(json.dumps({"addresses": addresses}))
        await _serve(world.app(), args.port)
    finally:
        await world.aclose()


async def baseline(args: argparse.Namespace) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    bodies = json.loads(Path(args.bodies).read_text())

    def endpoint(body: Any) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def answer(request: Request) -> JSONResponse:
            return JSONResponse(body)

        return answer

    app = Starlette(routes=[Route("/v0/status", endpoint(bodies["status"])),
                            Route("/v0/tokens", endpoint(bodies["tokens"]))])  # fmt: skip
    await _serve(app, args.port)


@asynccontextmanager
async def _wall_clock(clock: Any) -> AsyncIterator[None]:
    """Keep the devnet's manual clock on wall time (quotes expire by it)."""

    async def follow() -> None:
        while True:
            clock.set(datetime.now(UTC))
            await asyncio.sleep(0.05)

    task = asyncio.create_task(follow())
    try:
        yield
    finally:
        task.cancel()


async def devnet(args: argparse.Namespace) -> None:
    from devnet.relay.testing import USDC, WNEAR, relay_world

    # Solvers price from a cache refreshed once a second, as the devnet's own do
    # (devnet/supervisor.py) and as a real solver quotes from state kept in memory (the reference
    # AMM solver: near-intents-amm-solver src/services/quoter.service.ts, updateCurrentState);
    # relay_world's default re-reads the feed over HTTP on every quote, for its tests.
    async with (
        relay_world(start=datetime.now(UTC), price_ttl_s=1.0) as world,
        _wall_clock(world.clock),
    ):
        for name, spread in (("alpha", 30), ("beta", 50)):
            await world.add_solver(name, spread_bps=spread,
                                   balances={USDC: 10**15, WNEAR: 10**33})  # fmt: skip
        Path(args.out).write_text(json.dumps({
            "near_rpc": world.near_rpc_url, "relay": world.relay_server.url,
            "prices": world.prices_url, "verifier": world.verifier.account_id,
            "api_key": next(iter(world.relay.config.api_keys), None),
        }))  # fmt: skip
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


async def api(args: argparse.Namespace) -> None:
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from bench.stages import Tally, Timed
    from nearintents.rpc import HttpNearRpc, HttpSolverRelay, VerifierViews
    from oneclick.adapters.coingecko import CoinGeckoPrices
    from oneclick.api.app import create_app
    from oneclick.bootstrap import SystemClock
    from oneclick.custody.keys import KeyCustody, KeyMaterial
    from oneclick.domain.assets import Asset, AssetRegistry
    from oneclick.services.context import EnginePolicy, QuotePolicy, ServiceContext
    from oneclick.services.custody_pool import top_up_custody_pool
    from oneclick.services.fees import ProtocolFeeCache
    from oneclick.store.database import connect_database, upgrade
    from oneclick.store.sql import SqlStore
    from oneclick.testing.fakes import FakeBridge

    urls = json.loads(Path(args.devnet).read_text())
    clock = SystemClock()
    relay = HttpSolverRelay(urls["relay"], api_key=urls["api_key"], timeout=10)
    near = HttpNearRpc(urls["near_rpc"], timeout=10)
    verifier = VerifierViews(near, urls["verifier"])
    prices = CoinGeckoPrices(
        urls["prices"], clock=clock, timeout=5, cache_ttl=timedelta(seconds=60)
    )
    tally = Tally()  # every port timed, for the quotes' breakdown (bench/stages.py)
    timed_verifier = Timed(verifier, "verifier", tally)
    db = connect_database(f"sqlite+aiosqlite:///{Path(args.db).resolve()}")
    await upgrade(db)
    keys = KeyMaterial.generate()
    store, custody = SqlStore(db), KeyCustody(keys)
    # the workers keep the pool filled in production; here it is filled once, ahead of the load
    await top_up_custody_pool(store, custody, args.custody_pool, clock.now())
    registry = AssetRegistry([
        Asset("nep141:usdc.near", "near", "USDC", 6, contract_address="usdc.near",
              coingecko_id="usd-coin"),
        Asset("nep141:wrap.near", "near", "wNEAR", 24, contract_address="wrap.near",
              coingecko_id="near"),
    ])  # fmt: skip
    ctx = ServiceContext(
        relay=Timed(relay, "relay", tally), bridge=Timed(FakeBridge(), "bridge", tally),
        verifier=timed_verifier, prices=Timed(prices, "prices", tally), clock=clock,
        store=Timed(store, "store", tally), custody=Timed(custody, "custody", tally),
        registry=registry,
        fee_cache=Timed(ProtocolFeeCache(timed_verifier, clock, timedelta(seconds=30)),
                        "fee_cache", tally),
        policy=QuotePolicy(verifier_contract=urls["verifier"]), jwt_secret=keys.jwt_secret,
        engine=EnginePolicy(),
    )  # fmt: skip
    app = create_app(ctx)

    async def stages(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            tally.reset()
        return JSONResponse(tally.snapshot())

    app.add_route("/bench/stages", stages, methods=["GET", "DELETE"])
    try:
        await _serve(app, args.port)
    finally:
        for closing in (relay.aclose(), near.aclose(), prices.aclose(), db.dispose()):
            await closing


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    parser.add_argument("mode", choices=["fake", "baseline", "devnet", "api"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--db")
    parser.add_argument("--swaps", type=int, default=10_000)
    parser.add_argument("--seed-quotes", type=int, default=50)
    parser.add_argument("--custody-pool", type=int, default=3000)  # api: non-dry quotes' accounts
    parser.add_argument("--out")
    parser.add_argument("--bodies")
    parser.add_argument("--devnet")
    args = parser.parse_args()
    modes = {"fake": fake, "baseline": baseline, "devnet": devnet, "api": api}
    asyncio.run(modes[args.mode](args))


if __name__ == "__main__":
    main()
