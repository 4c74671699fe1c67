"""A whole service on fakes: the sample registry, fake relay/bridge/verifier/prices, a settable
clock, generated keys and a SQLite store. Used by tests, schemathesis and demos."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from oneclick.api.app import create_app
from oneclick.custody.keys import KeyCustody, KeyMaterial
from oneclick.domain.assets import AssetRegistry
from oneclick.services.context import EnginePolicy, QuotePolicy, ServiceContext
from oneclick.services.custody_pool import top_up_custody_pool
from oneclick.services.fees import ProtocolFeeCache
from oneclick.store.database import connect_database, upgrade
from oneclick.store.sql import SqlStore
from oneclick.testing.assets import SAMPLE_ASSETS, SAMPLE_PRICES_MICRO_USD
from oneclick.testing.fakes import (
    FakeBridge,
    FakeClock,
    FakePrices,
    FakeSolverRelay,
    FakeVerifierViews,
)
from oneclick.testing.near import FakeNearChain


@dataclass
class FakeWorld:
    ctx: ServiceContext
    clock: FakeClock
    relay: FakeSolverRelay
    bridge: FakeBridge
    verifier: FakeVerifierViews
    prices: FakePrices
    keys: KeyMaterial
    store: SqlStore
    near: FakeNearChain | None = None

    def app(self) -> FastAPI:
        return create_app(self.ctx)

    async def aclose(self) -> None:
        await self.store.db.dispose()


DEFAULT_CUSTODY_POOL = 16  # custody accounts derived ahead, as a worker keeps them
SOLVER_INVENTORY = 10**40  # of every sample token, held by the fake relay's solver


async def fake_world(
    database_url: str,
    *,
    policy: QuotePolicy | None = None,
    keys: KeyMaterial | None = None,
    engine_policy: EnginePolicy | None = None,
    custody_pool: int = DEFAULT_CUSTODY_POOL,
    near: bool = False,
    peers_of: FakeWorld | None = None,
) -> FakeWorld:
    """Build the world on ``database_url`` (migrated here, ``custody_pool`` custody accounts
    derived ahead, as a worker keeps them). The relay, bridge and verifier share
    one ledger: publishes settle in it, deposits mint into it, withdrawals pay out of it.
    ``peers_of``: a second service in that world's NEAR Intents (its clock, relay, bridge,
    verifier and prices), with its own keys and database."""
    if peers_of is not None:
        clock, verifier, relay = peers_of.clock, peers_of.verifier, peers_of.relay
        bridge, prices = peers_of.bridge, peers_of.prices
    else:
        clock, verifier, relay, bridge, prices = _peers()
    keys = keys or KeyMaterial.generate()
    db = connect_database(database_url)
    await upgrade(db)
    store = SqlStore(db)
    policy = policy or QuotePolicy()
    # With ``near``: payouts to NEAR accounts, confirmed from the fake chain's tx outcomes.
    chain = FakeNearChain(verifier.ledger) if near else None
    if chain is not None:
        policy = replace(policy, near_relayer_account=chain.relayer)
    custody = KeyCustody(keys)
    # As a worker would have before the API's first quote (the API itself derives nothing).
    await top_up_custody_pool(store, custody, custody_pool, clock.now())
    ctx = ServiceContext(
        relay=relay,
        bridge=bridge,
        verifier=verifier,
        prices=prices,
        clock=clock,
        store=store,
        custody=custody,
        registry=AssetRegistry(SAMPLE_ASSETS),
        fee_cache=ProtocolFeeCache(verifier, clock, timedelta(seconds=30)),
        policy=policy,
        jwt_secret=keys.jwt_secret,
        engine=engine_policy or EnginePolicy(),
        near=chain,
    )
    return FakeWorld(ctx, clock, relay, bridge, verifier, prices, keys, store, chain)


def _peers() -> tuple[FakeClock, FakeVerifierViews, FakeSolverRelay, FakeBridge, FakePrices]:
    clock = FakeClock()
    relay_prices = {
        a.asset_id: (SAMPLE_PRICES_MICRO_USD[a.coingecko_id], a.decimals)
        for a in SAMPLE_ASSETS
        if a.coingecko_id
    }
    verifier = FakeVerifierViews(clock=clock)
    relay = FakeSolverRelay(clock, relay_prices, verifier=verifier)
    bridge = FakeBridge.for_assets(SAMPLE_ASSETS)
    bridge.verifier, bridge.clock = verifier, clock
    for asset in SAMPLE_ASSETS:
        verifier.ledger.mint(relay.solver_account, asset.asset_id, SOLVER_INVENTORY)
    prices = FakePrices.from_micro_usd(clock, SAMPLE_PRICES_MICRO_USD)
    return clock, verifier, relay, bridge, prices


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{(directory / 'oneclick.db').resolve()}"
