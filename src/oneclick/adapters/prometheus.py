"""Prometheus metrics: the engine's counters behind the ``EngineMetrics`` port, swaps by status
(refreshed from the database on each scrape of the API), and a proxy that counts failed calls to
the relay, the bridge and NEAR RPC. One ``PrometheusMetrics`` per process, its own registry."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import start_http_server as _start_http_server

from nearintents.rpc import RpcError
from oneclick.domain.swaps import SwapStatus

STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class PrometheusMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.steps = Counter(
            "oneclick_engine_steps",
            "Engine steps by phase and outcome (ok, retry, parked, error).",
            ["phase", "outcome"],
            registry=r,
        )
        self.step_seconds = Histogram(
            "oneclick_engine_step_seconds",
            "Wall time of one successful engine step, by phase.",
            ["phase"],
            buckets=STEP_BUCKETS,
            registry=r,
        )
        self.parks = Counter(
            "oneclick_engine_parked", "Swaps parked as FAILED, by phase.", ["phase"], registry=r
        )
        self.stuck_seen = Counter(
            "oneclick_engine_stuck_seen",
            "Sightings of a swap without an outcome past its deadline plus the grace.",
            ["status"],
            registry=r,
        )
        self.peer_errors = Counter(
            "oneclick_peer_errors",
            "Failed calls to the solver relay, the bridge and NEAR RPC, by error class.",
            ["peer", "method", "error"],
            registry=r,
        )
        self.waits = Counter(
            "oneclick_engine_peer_waits",
            "Steps that found a peer not there yet and will look again, by reason.",
            ["reason"],
            registry=r,
        )
        self.swaps = Gauge("oneclick_swaps", "Swaps by status.", ["status"], registry=r)

    # --- the EngineMetrics port ---------------------------------------------------------------

    def step(self, phase: str, outcome: str) -> None:
        self.steps.labels(phase=phase, outcome=outcome).inc()

    def step_duration(self, phase: str, seconds: float) -> None:
        self.step_seconds.labels(phase=phase).observe(seconds)

    def parked(self, reason: str) -> None:
        self.parks.labels(phase=reason).inc()

    def stuck(self, swap_id: str, status: str) -> None:
        # Per status, not per swap: a swap id label would grow without bound.
        self.stuck_seen.labels(status=status).inc()

    def waiting(self, reason: str) -> None:
        self.waits.labels(reason=reason).inc()

    # --- exposition ---------------------------------------------------------------------------

    def set_swap_counts(self, counts: Mapping[str, int]) -> None:
        for status in SwapStatus:
            self.swaps.labels(status=status.value).set(counts.get(status.value, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """``/metrics`` of this process on its own port (the worker has no HTTP server)."""
        _start_http_server(port, addr=host, registry=self.registry)


class CountingPeer:
    """Wraps a protocol client: a call that raises ``RpcError`` is counted under ``peer``, the
    method and the error class, then re-raised unchanged. Everything else passes through."""

    def __init__(self, target: Any, peer: str, metrics: PrometheusMetrics) -> None:
        self._target = target
        self._peer = peer
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute
        return self._counted(name, attribute)

    def _counted(
        self, name: str, method: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return await method(*args, **kwargs)
            except RpcError as exc:
                self._metrics.peer_errors.labels(
                    peer=self._peer, method=name, error=type(exc).__name__
                ).inc()
                raise

        return call
