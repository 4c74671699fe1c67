"""``publish_intent(s)`` and ``get_status`` over real sockets: a user takes a solver's quote by
signing the relay's amounts verbatim, as the official SDKs do; balances, statuses and the
winning solver's ``quote_status`` event are checked exactly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from devnet.relay.testing import USDC, WNEAR, World, eventually, relay_world
from devnet.verifier.testing import Signer, token_diff, transfer
from nearintents import signing
from nearintents.diff import closure, fee_amount
from nearintents.encoding import b58encode
from nearintents.rpc import IntentStatus, Quote, QuoteRequest, StatusResult

pytestmark = pytest.mark.devnet

NEAR = 10**24
USDC_UNIT = 10**6
SECOND_NS = 1_000_000_000
FEE = 100  # pips
user = Signer.ed25519("user")
other_user = Signer.ed25519("other-user")


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with relay_world(fee_pips=FEE) as w:
        w.verifier.deposit(user.account_id, USDC, 1_000 * USDC_UNIT).ensure_success()
        yield w


async def best_quote(world: World, amount_in: int = 30 * USDC_UNIT) -> Quote:
    request = QuoteRequest(
        defuse_asset_identifier_in=USDC,
        defuse_asset_identifier_out=WNEAR,
        exact_amount_in=amount_in,
        wait_ms=5_000,
    )
    offers = [q for q in await world.client.quote(request) if isinstance(q, Quote)]
    assert offers, "no quote"
    return offers[0]


def take(world: World, quote: Quote, signer: Signer = user, **options: Any) -> dict[str, Any]:
    """The user's side, signed verbatim: ``{in: -amount_in, out: +amount_out}`` (sdk-monorepo
    ``intents-sdk/src/bridges/direct-bridge/direct-bridge.ts``)."""
    diff = {
        quote.defuse_asset_identifier_in: -quote.amount_in,
        quote.defuse_asset_identifier_out: quote.amount_out,
    }
    return signer.sign(world.verifier, [token_diff(diff)], **options)


async def settled(world: World, intent_hash: str) -> StatusResult:
    """Poll ``get_status`` over the wire until SETTLED."""
    async with asyncio.timeout(5):
        while True:
            status = await world.client.get_status(intent_hash)
            if status.status is IntentStatus.SETTLED:
                return status
            await asyncio.sleep(0.005)


def balances(world: World, account: str) -> tuple[int, int]:
    return (
        world.verifier.mt_balance_of(account, USDC),
        world.verifier.mt_balance_of(account, WNEAR),
    )


async def test_a_settled_quote_moves_balances_by_the_quote_and_fee(world: World) -> None:
    winner = await world.add_solver("tight", spread_bps=10, balances={WNEAR: 100 * NEAR})
    loser = await world.add_solver("wide", spread_bps=50, balances={WNEAR: 100 * NEAR}, named=True)
    quote = await best_quote(world)
    collector = world.verifier.fee_collector()
    before = {a: balances(world, a) for a in (user.account_id, winner.config.account_id, collector)}
    signed = take(world, quote)
    result = await world.client.publish_intent(signed, [quote.quote_hash])
    assert result.ok
    assert result.intent_hash == signing.intent_hash(signed)
    status = await settled(world, result.intent_hash)
    assert status.tx_hash is not None
    tx = world.verifier.tx(status.tx_hash)
    assert tx is not None
    assert tx.succeeded

    deltas = {
        a: tuple(n - o for n, o in zip(balances(world, a), before[a], strict=True)) for a in before
    }
    # The user moved exactly what the relay said; the solver exactly what it signed: the
    # request's 30 USDC less the fee on it, for its raw NEAR whose net is the quote's amount_out.
    assert deltas[user.account_id] == (-30 * USDC_UNIT, quote.amount_out)
    x, minus_y = deltas[winner.config.account_id]
    y = -minus_y
    assert x == 30 * USDC_UNIT - fee_amount(USDC, -30 * USDC_UNIT, FEE) == 30 * USDC_UNIT - 3_000
    assert y - fee_amount(WNEAR, -y, FEE) == quote.amount_out
    assert deltas[collector] == (3_000, fee_amount(WNEAR, -y, FEE))

    await eventually(lambda: bool(winner.settled), what="quote_status at the winner")
    assert winner.settled == [
        {
            "quote_hash": quote.quote_hash,
            "intent_hash": result.intent_hash,
            "tx_hash": status.tx_hash,
        }
    ]
    assert loser.settled == []
    # The winner refreshed its balances and released the reservation of the settled quote.
    assert winner.inventory.balance(WNEAR) == 100 * NEAR - y
    assert not winner.inventory.holds(quote.quote_hash)


async def test_statuses_pending_then_broadcast_then_settled(world: World) -> None:
    signed = user.sign(world.verifier, [transfer(other_user.account_id, {USDC: 5})])
    world.relay.submissions.pause()
    world.relay.settlements.pause()
    result = await world.client.publish_intent(signed)  # standalone: no quote hashes
    assert result.ok
    assert result.intent_hash is not None
    pending = await world.client.get_status(result.intent_hash)
    assert pending.status is IntentStatus.PENDING
    assert pending.tx_hash is None
    world.relay.submissions.resume()
    await eventually(
        lambda: world.relay.status(result.intent_hash or "")["status"] == "TX_BROADCASTED",
        what="broadcast",
    )
    broadcast = await world.client.get_status(result.intent_hash)
    assert broadcast.tx_hash is not None
    world.relay.settlements.resume()
    final = await settled(world, result.intent_hash)
    assert final.tx_hash == broadcast.tx_hash
    assert world.verifier.mt_balance_of(other_user.account_id, USDC) == 5


async def test_an_expired_quote_cannot_be_published(world: World) -> None:
    await world.add_solver("a", spread_bps=10, balances={WNEAR: 100 * NEAR})
    quote = await best_quote(world)
    world.clock.advance(seconds=71)
    result = await world.client.publish_intent(take(world, quote), [quote.quote_hash])
    assert not result.ok
    assert result.reason == "expired"


async def test_a_quote_is_single_use(world: World) -> None:
    await world.add_solver("a", spread_bps=10, balances={WNEAR: 100 * NEAR})
    quote = await best_quote(world)
    assert (await world.client.publish_intent(take(world, quote), [quote.quote_hash])).ok
    again = await world.client.publish_intent(take(world, quote), [quote.quote_hash])
    assert not again.ok
    assert again.reason == f"quote {quote.quote_hash} was already used"
    unknown = await world.client.publish_intent(take(world, quote), ["1" * 44])
    assert not unknown.ok
    assert unknown.reason is not None
    assert "not found" in unknown.reason


async def test_the_same_signed_intent_twice_fails_with_nonce_used(world: World) -> None:
    signed = user.sign(world.verifier, [transfer(other_user.account_id, {USDC: 5})])
    world.relay.submissions.pause()
    first = await world.client.publish_intent(signed)
    assert first.ok
    while_queued = await world.client.publish_intent(signed)
    assert not while_queued.ok
    assert while_queued.reason == "nonce was already used"
    world.relay.submissions.resume()
    assert first.intent_hash is not None
    await settled(world, first.intent_hash)
    after = await world.client.publish_intent(signed)
    assert not after.ok
    assert after.reason == "nonce was already used"
    assert (await world.client.get_status(first.intent_hash)).status is IntentStatus.SETTLED


async def test_an_unbalanced_user_intent_is_refused(world: World) -> None:
    await world.add_solver("a", spread_bps=10, balances={WNEAR: 100 * NEAR})
    quote = await best_quote(world)
    # A channel that puts its own fee closure on top of the relay's (already reconciled) amounts
    # pays the fee twice on the way in and takes it twice on the way out: unmatched_deltas.
    doubled = closure({USDC: quote.amount_in, WNEAR: -quote.amount_out}, FEE)
    signed = user.sign(world.verifier, [token_diff(doubled)])
    result = await world.client.publish_intent(signed, [quote.quote_hash])
    assert not result.ok
    assert result.reason is not None
    assert result.reason.startswith("invariant violated:")
    assert "unmatched_deltas" in result.reason
    assert result.intent_hash == signing.intent_hash(signed)
    status = await world.client.get_status(result.intent_hash)
    assert status.status is IntentStatus.NOT_FOUND_OR_NOT_VALID
    assert status.data is None
    # Refused, so the quote is still good.
    assert (await world.client.publish_intent(take(world, quote), [quote.quote_hash])).ok


async def test_a_failure_on_chain_is_reported_with_its_tx(world: World) -> None:
    signed = user.sign(world.verifier, [transfer(other_user.account_id, {USDC: 5})])
    world.relay.submissions.pause()
    result = await world.client.publish_intent(signed)
    assert result.ok
    assert result.intent_hash is not None
    world.clock.advance(seconds=61)  # the intent's deadline passes while it waits
    world.relay.submissions.resume()
    await eventually(
        lambda: "status_details" in world.relay.status(result.intent_hash or ""), what="the failure"
    )
    status = await world.client.get_status(result.intent_hash)
    assert status.failed_on_chain
    assert status.status_details == "FAILED"
    assert status.tx_hash is not None
    tx = world.verifier.tx(status.tx_hash)
    assert tx is not None
    assert tx.panic == "deadline has expired"


async def test_publish_intents_is_atomic(world: World) -> None:
    world.verifier.deposit(other_user.account_id, USDC, 10).ensure_success()
    one = user.sign(world.verifier, [transfer(other_user.account_id, {USDC: 7})])
    two = other_user.sign(world.verifier, [transfer(user.account_id, {USDC: 3})])
    result = await world.client.publish_intents([one, two])
    assert result.ok
    assert result.intent_hashes == (signing.intent_hash(one), signing.intent_hash(two))
    statuses = [await settled(world, h) for h in result.intent_hashes]
    assert statuses[0].tx_hash == statuses[1].tx_hash
    assert world.verifier.mt_balance_of(other_user.account_id, USDC) == 14
    overdraft = other_user.sign(world.verifier, [transfer(user.account_id, {USDC: 100})])
    fine = user.sign(world.verifier, [transfer(other_user.account_id, {USDC: 1})])
    refused = await world.client.publish_intents([fine, overdraft])
    assert not refused.ok
    assert refused.reason == "insufficient balance or overflow"


async def test_unknown_intent_is_not_found(world: World) -> None:
    status = await world.client.get_status(b58encode(b"\x07" * 32))
    assert status.status is IntentStatus.NOT_FOUND_OR_NOT_VALID
    assert status.data is None
