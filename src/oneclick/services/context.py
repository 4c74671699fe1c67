"""The ports and policy a request needs, gathered once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from oneclick.domain.assets import AssetRegistry
from oneclick.services.fees import ProtocolFeeCache
from oneclick.services.ports import Bridge, Clock, Custody, Prices, SolverRelay, Store, Verifier


@dataclass(frozen=True, slots=True)
class QuotePolicy:
    """Operator choices that shape quotes (config section ``quotes``)."""

    platform_fee_bps: int = 20
    platform_fee_recipient: str = "fees.oneclick.near"
    min_deadline: timedelta = timedelta(seconds=60)
    inactive_grace: timedelta = timedelta(hours=24)
    time_estimate_s: int = 120
    route_time_estimates: dict[str, int] = field(default_factory=dict)
    relay_min_deadline_ms: int = 60_000
    verifier_contract: str = "intents.near"
    intent_lifetime: timedelta = timedelta(minutes=5)

    def time_estimate(self, origin_chain: str, destination_chain: str) -> int:
        """Seconds after deposit confirmation: ``"<origin>-><destination>"``, then
        ``"<origin>->*"``, then ``"*-><destination>"``, then the default."""
        for key in (
            f"{origin_chain}->{destination_chain}",
            f"{origin_chain}->*",
            f"*->{destination_chain}",
        ):
            if key in self.route_time_estimates:
                return self.route_time_estimates[key]
        return self.time_estimate_s


@dataclass(frozen=True, slots=True)
class ServiceContext:
    relay: SolverRelay
    bridge: Bridge
    verifier: Verifier
    prices: Prices
    clock: Clock
    store: Store
    custody: Custody
    registry: AssetRegistry
    fee_cache: ProtocolFeeCache
    policy: QuotePolicy = field(default_factory=QuotePolicy)
    jwt_secret: bytes = field(default=b"", repr=False)
