"""The relay's state across a restart (published intents, their status, used quotes, batches not
yet sent, a batch executed just before a crash), driven in process through ``Relay`` on a data
directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from devnet.relay import AFTER_EXECUTE, Relay, SimulatedCrash
from devnet.relay.quotes import check_quote
from devnet.relay.store import BatchState, RelayStore
from devnet.relay.testing import START, USDC, WNEAR, eventually
from devnet.verifier import ManualClock, Verifier, VerifierConfig
from devnet.verifier.testing import Signer, token_diff, transfer
from nearintents import signing
from nearintents.diff import closure
from nearintents.rpc import QuoteRequest

SECOND_NS = 1_000_000_000
user, solver, friend = Signer.ed25519("user"), Signer.ed25519("solver"), Signer.ed25519("friend")


async def test_statuses_used_quotes_and_unsent_batches_survive(tmp_path: Path) -> None:
    clock = ManualClock(START)
    with Verifier.open(tmp_path / "verifier", clock=clock, config=VerifierConfig(fee=100)) as v:
        v.deposit(user.account_id, USDC, 1_000).ensure_success()
        v.deposit(solver.account_id, WNEAR, 1_000).ensure_success()
        request = QuoteRequest(
            defuse_asset_identifier_in=USDC, defuse_asset_identifier_out=WNEAR, exact_amount_in=300
        )
        solver_diff = {USDC: 300, WNEAR: -100}
        offer = solver.sign(
            v, [token_diff(solver_diff)], deadline_ns=clock.now_ns() + 90 * SECOND_NS
        )
        quote = check_quote(
            v, request, {"amount_out": "100"}, offer, connection_id="", now_ns=clock.now_ns()
        )
        swap = user.sign(v, [token_diff(closure(solver_diff, 100))])
        gift = user.sign(v, [transfer(friend.account_id, {USDC: 1})])

        async with Relay(v, data_dir=tmp_path / "relay") as relay:
            relay.book.add(quote, clock.now_ns())
            assert (await relay.publish([swap], [quote.quote_hash])).ok
            await eventually(lambda: relay.status(signing.intent_hash(swap))["status"] == "SETTLED")
            relay.submissions.pause()
            assert (await relay.publish([gift], [])).ok
            assert relay.status(signing.intent_hash(gift))["status"] == "PENDING"

        async with Relay(v, data_dir=tmp_path / "relay") as relay:
            swapped = relay.status(signing.intent_hash(swap))
            assert swapped["status"] == "SETTLED"
            tx = v.tx(swapped["data"]["hash"])
            assert tx is not None
            assert tx.succeeded
            assert relay.status(quote.quote_hash)["status"] == "SETTLED"  # the solver's intent
            # Written before it was sent, so sent after the restart.
            await eventually(lambda: relay.status(signing.intent_hash(gift))["status"] == "SETTLED")
            assert v.mt_balance_of(friend.account_id, USDC) == 1
            relay.book.add(quote, clock.now_ns())  # even if it were offered again
            retry = user.sign(v, [token_diff(closure(solver_diff, 100))])
            again = await relay.publish([retry], [quote.quote_hash])
            assert not again.ok
            assert again.reason == f"quote {quote.quote_hash} was already used"


def execute_intents_txs(verifier: Verifier) -> list[str]:
    """Hashes of every execute_intents transaction the verifier committed."""
    return sorted(
        tx_hash
        for tx_hash, raw in verifier.dump().get("tx", {}).items()
        if '"method":"execute_intents"' in raw
    )


async def test_a_crash_after_execute_settles_the_batch_with_its_transaction(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START)
    with Verifier.open(tmp_path / "verifier", clock=clock, config=VerifierConfig(fee=0)) as v:
        v.deposit(user.account_id, USDC, 10).ensure_success()
        gift = user.sign(v, [transfer(friend.account_id, {USDC: 3})])
        gift_hash = signing.intent_hash(gift)

        relay = Relay(v, data_dir=tmp_path / "relay")
        await relay.start()
        relay.faults.crash_at.add(AFTER_EXECUTE)
        assert (await relay.publish([gift], [])).ok
        await eventually(lambda: v.tx_for_intent(gift_hash) is not None, what="the execution")
        with pytest.raises(SimulatedCrash):
            await relay.stop()  # the crash ended the submitter before it recorded anything
        executed = v.tx_for_intent(gift_hash)
        assert executed is not None
        assert executed.succeeded
        store = RelayStore.open(tmp_path / "relay")
        stored = store.batch_of(gift_hash)
        store.close()
        assert stored is not None
        assert (stored.state, stored.tx_hash) == (BatchState.PENDING, None)

        async with Relay(v, data_dir=tmp_path / "relay") as relay:
            await eventually(lambda: relay.status(gift_hash)["status"] == "SETTLED")
            assert relay.status(gift_hash) == {
                "intent_hash": gift_hash,
                "status": "SETTLED",
                "data": {"hash": executed.hash},
            }
        assert execute_intents_txs(v) == [executed.hash], "never sent a second time"
        assert v.mt_balance_of(friend.account_id, USDC) == 3


async def test_a_batch_executed_by_someone_else_is_settled_not_failed() -> None:
    clock = ManualClock(START)
    with Verifier.open(None, clock=clock, config=VerifierConfig(fee=0)) as v:
        v.deposit(user.account_id, USDC, 10).ensure_success()
        v.deposit(friend.account_id, USDC, 10).ensure_success()
        gift = user.sign(v, [transfer(friend.account_id, {USDC: 2})])
        back = friend.sign(v, [transfer(user.account_id, {USDC: 1})])
        extra = user.sign(v, [transfer(friend.account_id, {USDC: 1})])
        async with Relay(v) as relay:
            relay.submissions.pause()
            assert (await relay.publish([gift], [])).ok
            assert (await relay.publish([back, extra], [])).ok
            # Before the relay sends them, the gift lands alone (that is the relay's batch)...
            elsewhere = v.execute_intents([gift]).ensure_success()
            # ...and of the other batch only one payload (that is not the relay's batch).
            v.execute_intents([back]).ensure_success()
            relay.submissions.resume()
            gift_hash, extra_hash = signing.intent_hash(gift), signing.intent_hash(extra)
            await eventually(lambda: relay.status(gift_hash)["status"] == "SETTLED")
            assert relay.status(gift_hash)["data"] == {"hash": elsewhere.hash}
            await eventually(lambda: relay.status(extra_hash).get("status_details") == "FAILED")
        assert v.mt_balance_of(friend.account_id, USDC) == 10 + 2 - 1
        assert v.tx_for_intent(signing.intent_hash(extra)) is None
