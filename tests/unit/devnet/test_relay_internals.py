"""Relay parts on their own: the store (atomic batches, single-use quotes, reopening), a
solver connection's bounded queue, quote ranking, and the wait window."""

from __future__ import annotations

from pathlib import Path

import pytest

from devnet.relay import Relay
from devnet.relay.quotes import QuoteCollection, SolverQuote
from devnet.relay.solvers import SolverConnection, SolverHub, Topic
from devnet.relay.store import BatchState, QuoteAlreadyUsed, RelayStore
from devnet.verifier import Verifier
from nearintents.rpc import QuoteRequest

REQUEST = QuoteRequest(
    defuse_asset_identifier_in="nep141:a.near",
    defuse_asset_identifier_out="nep141:b.near",
    exact_amount_in=10,
)


def test_the_store_burns_quotes_atomically_and_survives_reopening(tmp_path: Path) -> None:
    store = RelayStore.open(tmp_path)
    first = store.add_batch([{"n": 1}], ["q1", "h1"], ["q1"], created_ns=1)
    with pytest.raises(QuoteAlreadyUsed):
        store.add_batch([{"n": 2}], ["q2", "q1", "h2"], ["q2", "q1"], created_ns=2)
    assert not store.is_quote_used("q2"), "a refused batch burns nothing"
    assert store.batch_of("h2") is None
    store.set_state(first, BatchState.TX_BROADCASTED, tx_hash="tx")
    store.close()

    store = RelayStore.open(tmp_path)
    batch = store.batch_of("h1")
    assert batch is not None
    assert (batch.state, batch.tx_hash, batch.intent_hashes) == (
        BatchState.TX_BROADCASTED,
        "tx",
        ["q1", "h1"],
    )
    assert [b.id for b in store.unfinished()] == [first]
    store.set_state(first, BatchState.SETTLED)
    assert store.unfinished() == []
    assert store.is_quote_used("q1")
    store.close()


async def test_a_solver_that_does_not_read_is_dropped_not_waited_for() -> None:
    connection = SolverConnection(queue_size=2)
    assert connection.send({"n": 1})
    assert connection.send({"n": 2})
    assert not connection.send({"n": 3})
    assert connection.closing.is_set()
    assert "queue full" in connection.close_reason
    assert not connection.send({"n": 4})


async def test_quote_events_reach_every_subscriber_and_a_gone_solver_is_not_awaited() -> None:
    hub = SolverHub()
    listening, deaf = SolverConnection(queue_size=8), SolverConnection(queue_size=8)
    listening.subscribe(Topic.QUOTE)
    deaf.subscribe(Topic.QUOTE_STATUS)
    hub.register(listening)
    hub.register(deaf)
    collection = hub.open_collection(REQUEST, "1click")
    assert collection.asked == {listening.id}
    assert listening.outbox.qsize() == 1
    assert deaf.outbox.qsize() == 0
    assert not collection.all_answered.is_set()
    hub.unregister(listening)
    assert collection.all_answered.is_set()


def _quote(quote_hash: str, amount_in: int, amount_out: int) -> SolverQuote:
    return SolverQuote(
        quote_hash,
        {},
        "s.near",
        "",
        "nep141:a.near",
        "nep141:b.near",
        amount_in,
        amount_out,
        expiration_ns=0,
    )


def test_quotes_are_ranked_best_first() -> None:
    exact_in = QuoteCollection("q", REQUEST)
    exact_in.quotes = [_quote("low", 10, 5), _quote("high", 10, 9)]
    exact_in.min_amounts = [7, 3]
    ranked = exact_in.result()
    assert ranked is not None
    assert [e.get("quote_hash") for e in ranked[:2]] == ["high", "low"]
    assert ranked[2:] == [
        {"type": "INSUFFICIENT_AMOUNT", "min_amount": "3"},
        {"type": "INSUFFICIENT_AMOUNT", "min_amount": "7"},
    ]
    exact_out = QuoteCollection(
        "q", REQUEST.model_copy(update={"exact_amount_in": None, "exact_amount_out": 5})
    )
    exact_out.quotes = [_quote("dear", 12, 5), _quote("cheap", 11, 5)]
    assert [e["quote_hash"] for e in exact_out.result() or []] == ["cheap", "dear"]
    assert QuoteCollection("q", REQUEST).result() is None


@pytest.mark.parametrize(
    ("waits", "expected"),
    [
        ({}, (3.0, 0.0)),
        ({"wait_ms": 500}, (0.5, 0.0)),
        ({"max_wait_ms": 800}, (0.8, 0.0)),
        ({"wait_ms": 900, "max_wait_ms": 400}, (0.4, 0.0)),
        ({"wait_ms": 500, "min_wait_ms": 200}, (0.5, 0.2)),
        ({"wait_ms": 100, "min_wait_ms": 200}, (0.1, 0.1)),
        ({"wait_ms": 10**9}, (30.0, 0.0)),
    ],
)
def test_the_wait_window(waits: dict[str, int], expected: tuple[float, float]) -> None:
    with Verifier.open() as verifier:
        relay = Relay(verifier)
        try:
            assert relay.window_s(REQUEST.model_copy(update=waits)) == expected
        finally:
            relay.store.close()


def test_the_window_closes_only_when_every_answer_is_checked() -> None:
    collection = QuoteCollection("q", REQUEST, asked={"fast", "slow"})
    collection.begin_answer("slow")  # still being checked (simulate_intents)
    collection.begin_answer("fast")
    collection.finish_answer("fast")
    assert not collection.all_answered.is_set()
    collection.finish_answer("slow")
    assert collection.all_answered.is_set()
