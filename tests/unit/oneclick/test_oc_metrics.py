"""The Prometheus adapter: engine counters, swaps by status, and failed peer calls counted."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from nearintents.rpc import RpcTimeout
from oneclick.adapters.prometheus import CountingPeer, PrometheusMetrics


def samples(metrics: PrometheusMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_engine_counters_and_swaps_by_status() -> None:
    metrics = PrometheusMetrics()
    metrics.step("SWAP", "ok")
    metrics.step("SWAP", "ok")
    metrics.step("PAYOUT", "retry")
    metrics.step_duration("SWAP", 0.02)
    metrics.parked("REFUND")
    metrics.stuck("swap-1", "PROCESSING")
    metrics.stuck("swap-2", "PROCESSING")
    metrics.set_swap_counts({"SUCCESS": 3, "PENDING_DEPOSIT": 1})
    found = samples(metrics)
    assert found[("oneclick_engine_steps_total", (("outcome", "ok"), ("phase", "SWAP")))] == 2
    assert found[("oneclick_engine_steps_total", (("outcome", "retry"), ("phase", "PAYOUT")))] == 1
    assert found[("oneclick_engine_step_seconds_count", (("phase", "SWAP"),))] == 1
    assert found[("oneclick_engine_parked_total", (("phase", "REFUND"),))] == 1
    # per status, never per swap id (unbounded label values)
    assert found[("oneclick_engine_stuck_seen_total", (("status", "PROCESSING"),))] == 2
    assert found[("oneclick_swaps", (("status", "SUCCESS"),))] == 3
    assert found[("oneclick_swaps", (("status", "REFUNDED"),))] == 0  # every status is shown


class Peer:
    def __init__(self) -> None:
        self.timeout_s = 5.0

    async def quote(self, fail: bool) -> str:
        if fail:
            raise RpcTimeout("no answer in 5 s")
        return "offer"


async def test_failed_peer_calls_are_counted_and_re_raised() -> None:
    metrics = PrometheusMetrics()
    peer = CountingPeer(Peer(), "relay", metrics)
    assert await peer.quote(False) == "offer"
    with pytest.raises(RpcTimeout):
        await peer.quote(True)
    assert peer.timeout_s == 5.0  # plain attributes pass through
    key = (
        "oneclick_peer_errors_total",
        (("error", "RpcTimeout"), ("method", "quote"), ("peer", "relay")),
    )
    assert samples(metrics)[key] == 1
