"""The relay's state across a restart (published intents, their status, used quotes, batches not
yet sent), driven in process through ``Relay`` on a data directory."""

from __future__ import annotations

from pathlib import Path

from devnet.relay import Relay
from devnet.relay.quotes import check_quote
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
