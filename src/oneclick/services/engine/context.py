"""What a step needs: the ports, the policies, the metrics and the worker's lease identity."""

from __future__ import annotations

from dataclasses import dataclass

from oneclick.domain.assets import Asset, AssetRegistry
from oneclick.domain.errors import ConfigurationError, PermanentError
from oneclick.services.context import EnginePolicy, QuotePolicy, ServiceContext, UpstreamMode
from oneclick.services.ports import (
    Bridge,
    Clock,
    Custody,
    EngineMetrics,
    EngineStore,
    NearChain,
    NearSigner,
    Prices,
    SolverRelay,
    Verifier,
)


@dataclass(frozen=True, slots=True)
class EngineContext:
    relay: SolverRelay
    bridge: Bridge
    verifier: Verifier
    clock: Clock
    store: EngineStore
    custody: Custody
    registry: AssetRegistry
    quotes: QuotePolicy
    policy: EnginePolicy
    metrics: EngineMetrics
    owner: str  # the lease owner every write is fenced with
    near: NearChain | None = None
    near_signer: NearSigner | None = None
    upstream: UpstreamMode | None = None  # upstream mode: chain legs through another 1Click
    prices: Prices | None = None  # ANY_INPUT: the pool's USD value and a swap's fair price

    @classmethod
    def of(
        cls, ctx: ServiceContext, store: EngineStore, *, owner: str, metrics: EngineMetrics
    ) -> EngineContext:
        if not isinstance(ctx.custody, Custody):
            raise ConfigurationError(
                "the worker derives custody accounts: it needs the master secret "
                "(the key file, or ONECLICK_KEYS__MASTER_SECRET)"
            )
        return cls(
            relay=ctx.relay,
            bridge=ctx.bridge,
            verifier=ctx.verifier,
            clock=ctx.clock,
            store=store,
            custody=ctx.custody,
            registry=ctx.registry,
            quotes=ctx.policy,
            policy=ctx.engine,
            metrics=metrics,
            owner=owner,
            near=ctx.near,
            near_signer=ctx.near_signer,
            upstream=ctx.upstream,
            prices=ctx.prices,
        )

    def asset(self, token_id: str) -> Asset:
        asset = self.registry.by_token_id(token_id)
        if asset is None:
            raise PermanentError(f"asset {token_id} is no longer configured")
        return asset
