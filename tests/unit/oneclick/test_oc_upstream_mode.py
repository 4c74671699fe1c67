"""Upstream mode (issue 19) between two real oneclick services in one fake NEAR Intents world:
the upstream (PoA bridge, like the hosted 1Click) and the front instance, which has its own keys
and database, no bridge at all, and reaches the upstream's API over HTTP (in-process ASGI). Both
engines run; the shared clock jumps from one due step to the next."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from oc_engine_kit import (
    BTC,
    BTC_REFUND,
    EVM_RECIPIENT,
    TEST_POLICY,
    USDT,
    Kit,
    StepLog,
)

from oneclick.adapters.upstream import HttpUpstream
from oneclick.services.context import QuotePolicy, UpstreamMode
from oneclick.services.engine.metrics import CountingMetrics
from oneclick.services.partners import add_partner
from oneclick.testing.world import FakeWorld, fake_world, sqlite_url

POLICY = QuotePolicy(inactive_grace=timedelta(hours=24))


class ClosedBridge:
    """The PoA Bridge API after 2026-11-11: the front must never need it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"upstream mode called the PoA bridge ({name})")


class Pair:
    def __init__(self, upstream: Kit, front: Kit) -> None:
        self.upstream, self.front = upstream, front

    @property
    def world(self) -> FakeWorld:
        return self.upstream.world

    async def drive(self, until: Any = None, max_rounds: int = 5000) -> None:
        """Both engines, as one discrete-event simulation."""
        clock = self.world.clock
        for _ in range(max_rounds):
            ran = await self.upstream.worker.run_once()
            ran = await self.front.worker.run_once() or ran
            if ran:
                continue
            dues = [d for d in (await self.upstream.next_due(), await self.front.next_due()) if d]
            due = min(dues, default=None)
            if due is None or (until is not None and due > until):
                if until is not None and clock.now() < until:
                    clock.set(until)
                return
            clock.set(max(due, clock.now()))
        raise AssertionError("the engines did not settle down")

    async def pay(self, quote: dict[str, Any], amount: int) -> str:
        """The user pays the deposit address the front handed out: the upstream's."""
        swap = await self.upstream.swap(quote)
        return self.world.bridge.deposit(swap.custody_account_id, BTC, amount)


async def _kit(world: FakeWorld) -> Kit:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app()), base_url="http://oc")
    kit = Kit(world, client, None, StepLog(), CountingMetrics())  # type: ignore[arg-type]
    kit.new_worker()
    return kit


@pytest.fixture
async def pair(tmp_path: Path):
    (tmp_path / "up").mkdir()
    (tmp_path / "front").mkdir()
    hosted = await fake_world(sqlite_url(tmp_path / "up"), policy=POLICY, engine_policy=TEST_POLICY)
    front_world = await fake_world(
        sqlite_url(tmp_path / "front"), policy=POLICY, engine_policy=TEST_POLICY,
        peers_of=hosted,
    )  # fmt: skip
    _, jwt = await add_partner(
        hosted.store, "front", secret=hosted.keys.jwt_secret, now=hosted.clock.now(), ttl=None
    )
    api = HttpUpstream("http://upstream", jwt=jwt, transport=httpx.ASGITransport(app=hosted.app()))
    front_world.ctx = replace(front_world.ctx, bridge=ClosedBridge(), upstream=UpstreamMode(api))  # type: ignore[arg-type]
    made = Pair(await _kit(hosted), await _kit(front_world))
    yield made
    await api.aclose()
    for kit in (made.upstream, made.front):
        await kit.aclose()


async def test_the_front_hands_out_the_upstreams_deposit_address(pair: Pair) -> None:
    quote = await pair.front.quote()
    hosted = await pair.upstream.swap(quote)  # the upstream knows the very same address
    front = await pair.front.swap(quote)
    assert hosted.deposit_address == quote["depositAddress"] == front.deposit_address
    assert hosted.recipient == front.custody_account_id  # delivered to our custody account
    assert hosted.recipient_type == "INTENTS"
    assert hosted.refund_to == BTC_REFUND  # the upstream refunds on the origin chain
    assert hosted.origin_asset == hosted.destination_asset == BTC
    assert hosted.swap_type.value == "FLEX_INPUT"
    assert hosted.amount_in == int(quote["amountIn"])


async def test_a_swap_rides_both_hops_to_success(pair: Pair) -> None:
    quote = await pair.front.quote()
    tx = await pair.pay(quote, 100_000)
    await pair.drive(until=pair.world.clock.now() + timedelta(minutes=30))
    body = await pair.front.status(quote)
    assert body["status"] == "SUCCESS", body
    details = body["swapDetails"]
    assert [h["hash"] for h in details["originChainTxHashes"]] == [tx]
    [payout] = pair.world.verifier.ledger.withdrawals  # one chain payout, by the upstream
    assert payout.memo == f"WITHDRAW_TO:{EVM_RECIPIENT}"
    assert int(details["amountOut"]) == payout.amount - 300_000
    assert int(details["amountOut"]) >= int(quote["minAmountOut"])
    # both hops: our transfer to the upstream (NEAR) and its payout on the destination chain
    [destination] = details["destinationChainTxHashes"]
    hosted = await _upstream_swaps(pair)  # the deposit leg, then the payout leg
    assert [s["status"] for s in hosted] == ["SUCCESS", "SUCCESS"]
    assert hosted[1]["swapDetails"]["destinationChainTxHashes"] == [destination]
    # ... and on the way in: the upstream's transfer into our custody account, then ours
    forwarded = hosted[0]["swapDetails"]["nearTxHashes"]
    assert forwarded
    assert details["nearTxHashes"][: len(forwarded)] == forwarded
    assert len(details["nearTxHashes"]) == len(forwarded) + 2  # + our swap and our transfer
    front_account = (await pair.front.swap(quote)).custody_account_id
    balances = pair.world.verifier.balances
    assert balances.get((front_account, BTC), 0) == 0
    assert balances.get((front_account, USDT), 0) == 0


async def test_an_underpayment_is_refunded_by_the_front_through_the_upstream(pair: Pair) -> None:
    quote = await pair.front.quote()
    await pair.pay(quote, 60_000)
    await pair.drive(until=pair.world.clock.now() + timedelta(hours=3))
    body = await pair.front.status(quote)
    assert body["status"] == "REFUNDED", body
    assert body["swapDetails"]["refundReason"] == "DEPOSIT_TOO_LOW"
    [refund] = pair.world.verifier.ledger.withdrawals
    assert (refund.amount, refund.memo) == (60_000, f"WITHDRAW_TO:{BTC_REFUND}")
    assert body["swapDetails"]["refundedAmount"] == str(60_000 - 1900)


async def test_an_overpayment_succeeds_and_the_front_refunds_the_excess(pair: Pair) -> None:
    quote = await pair.front.quote()
    await pair.pay(quote, 150_000)
    await pair.drive(until=pair.world.clock.now() + timedelta(minutes=30))
    assert (await pair.front.status(quote))["status"] == "SUCCESS"
    await pair.drive()
    details = (await pair.front.status(quote))["swapDetails"]
    assert details["depositedAmount"] == "150000"
    assert details["amountIn"] == "100000"
    assert details["refundedAmount"] == str(50_000 - 1900)
    refunds = [w for w in pair.world.verifier.ledger.withdrawals if w.token == "btc.omft.near"]
    assert [(w.amount, w.memo) for w in refunds] == [(50_000, f"WITHDRAW_TO:{BTC_REFUND}")]


async def test_the_upstreams_payout_fee_prices_the_quote(pair: Pair) -> None:
    """The front's registry may know nothing of the payout fee: the upstream's dry quote says
    what it keeps (here its bridge's 300 000 withdrawal fee), and our quote charges that."""
    registry = pair.front.world.ctx.registry
    usdt = registry.by_token_id(USDT)
    assert usdt is not None
    assert usdt.withdrawal_fee == 300_000
    known = await pair.front.quote(dry=True)
    registry.add(replace(usdt, withdrawal_fee=0))
    learnt = await pair.front.quote(dry=True)
    assert learnt["amountOut"] == known["amountOut"]
    assert learnt["minAmountOut"] == known["minAmountOut"]


async def test_submit_is_forwarded_to_the_upstream(pair: Pair) -> None:
    quote = await pair.front.quote()
    tx = "ab" * 32  # a bitcoin transaction id the user submits
    response = await pair.front.client.post(
        "/v0/deposit/submit", json={"txHash": tx, "depositAddress": quote["depositAddress"]}
    )
    assert response.status_code == 200, response.text
    async with pair.upstream.world.store.transaction() as session:
        record = await session.swaps.by_deposit(quote["depositAddress"], None)
        assert record is not None
        deposits = await session.swaps.deposits(record.id)
    assert tx in {d.tx_hash for d in deposits}  # the upstream owns the address: it got it


async def test_an_unreachable_upstream_is_retried_not_parked(pair: Pair) -> None:
    quote = await pair.front.quote()
    await pair.pay(quote, 100_000)
    real = pair.front.world.ctx.upstream
    assert real is not None

    class Down:
        def __getattr__(self, name: str) -> Any:
            async def fail(*args: Any, **kwargs: Any) -> Any:
                from oneclick.domain.errors import TemporaryError

                raise TemporaryError("the upstream 1Click is unreachable (ConnectError)")

            return fail

    pair.front.world.ctx = replace(pair.front.world.ctx, upstream=UpstreamMode(Down()))  # type: ignore[arg-type]
    pair.front.new_worker()
    await pair.drive(until=pair.world.clock.now() + timedelta(minutes=5))
    swap = await pair.front.swap(quote)
    assert swap.status.value != "FAILED"
    assert swap.last_error is not None
    assert "unreachable" in swap.last_error
    pair.front.world.ctx = replace(pair.front.world.ctx, upstream=real)
    pair.front.new_worker()
    await pair.drive(until=pair.world.clock.now() + timedelta(minutes=30))
    assert (await pair.front.status(quote))["status"] == "SUCCESS"


async def _upstream_swaps(pair: Pair) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from oneclick.store.tables import swaps

    async with pair.upstream.world.store.db.connect() as conn:
        rows = (
            await conn.execute(
                select(swaps.c.deposit_address, swaps.c.deposit_memo).order_by(swaps.c.created_at)
            )
        ).all()
    found = []
    for address, memo in rows:
        params = {"depositAddress": address, **({"depositMemo": memo} if memo else {})}
        response = await pair.upstream.client.get("/v0/status", params=params)
        found.append(response.json())
    return found


@pytest.mark.parametrize(
    ("answer", "status", "expected"),
    [
        # an EVM address for a bitcoin deposit: not ours to hand out (503, try again)
        ({"depositAddress": "0x3Dee106EA74F5147998b9435311FaB4be79ebF19"}, 200, 503),
        # the upstream's own minimum: the caller's to fix, with the upstream's reason
        ({"message": "amount is too low for the available solvers"}, 400, 400),
    ],
)
async def test_what_the_upstream_says_about_a_deposit_is_checked(
    tmp_path: Path, answer: dict[str, Any], status: int, expected: int
) -> None:
    from oc_engine_kit import make_kit, quote_request

    kit = await make_kit(tmp_path)

    def handle(request: httpx.Request) -> httpx.Response:
        if status != 200:
            return httpx.Response(status, json=answer)
        asked = json.loads(request.content)
        quote = {"amountIn": asked["amount"], "minAmountIn": "10", "amountOut": asked["amount"],
                 **answer}  # fmt: skip
        return httpx.Response(200, json={"quoteRequest": asked, "quote": quote})

    api = HttpUpstream("http://upstream.test", transport=httpx.MockTransport(handle))
    kit.world.ctx = replace(
        kit.world.ctx, bridge=ClosedBridge(), upstream=UpstreamMode(api, payouts=False)
    )  # type: ignore[arg-type]
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=kit.world.app()),
                               base_url="http://oc")  # fmt: skip
    try:
        response = await client.post("/v0/quote", json=quote_request())
        assert response.status_code == expected, response.text
        if expected == 400:
            assert "amount is too low" in response.json()["message"]
        async with kit.world.store.transaction() as tx:
            assert await tx.swaps.counts() == {}  # nothing handed out, nothing stored
    finally:
        await client.aclose()
        await api.aclose()
        await kit.aclose()


class RefundingUpstream:
    """An upstream that takes every chain payout and gives it back (refunds it to the quote's
    ``refundTo`` inside Intents): the front pays again, a bounded number of times."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world
        self.refund_to: dict[str, str] = {}

    async def tokens(self) -> list[Any]:
        return []

    async def quote(self, request: Any) -> Any:
        from oneclick.services.ports import UpstreamQuote

        address = f"{len(self.refund_to) + 1:064x}"  # an implicit account of the upstream's
        self.refund_to[address] = request.refund_to
        return UpstreamQuote(request.amount, request.amount, request.amount - 300_000, None,
                             None if request.dry else address)  # fmt: skip

    async def status(self, address: str, memo: str | None) -> Any:
        from oneclick.domain.swaps import SwapStatus
        from oneclick.services.ports import UpstreamStatus

        balances = self.world.verifier.ledger.balances
        held = balances.pop((address, USDT), 0)
        if held:
            balances[(self.refund_to[address], USDT)] += held
        return UpstreamStatus(SwapStatus.REFUNDED, refunded_amount=held)

    async def submit_deposit(self, tx_hash: str, address: str, memo: str | None) -> None:
        return None


async def test_payouts_the_upstream_refunds_are_paid_again_a_bounded_number_of_times(
    kit: Kit,
) -> None:
    kit.world.ctx = replace(
        kit.world.ctx, bridge=ClosedBridge(), upstream=UpstreamMode(RefundingUpstream(kit.world))
    )  # type: ignore[arg-type]
    kit.new_worker()
    quote = await kit.quote(depositType="INTENTS", refundType="INTENTS", refundTo="alice.near")
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(days=1))
    swap = await kit.swap(quote)
    async with kit.world.store.transaction() as tx:
        legs = [leg for leg in await tx.swaps.legs(swap.id) if leg.kind.value == "WITHDRAW"]
    assert [leg.reason for leg in legs] == ["refunded by the upstream"] * 3
    assert swap.status.value == "FAILED"  # parked after the engine's bounded retries
    assert swap.last_error is not None
    assert "refunded 3 payouts" in swap.last_error
    held = kit.world.verifier.balances[(swap.custody_account_id, USDT)]
    assert held == legs[0].debits[USDT]  # every refunded payout is back with us
    assert kit.world.verifier.ledger.withdrawals == []


async def test_a_deposit_the_upstream_refunds_itself_ends_our_swap_refunded(pair: Pair) -> None:
    """Below the upstream's minimum (1/10 000 of the amount) it never reaches us: the upstream
    refunds it on the origin chain, and our swap says so instead of waiting for nothing."""
    quote = await pair.front.quote(amount="100000000")
    await pair.pay(quote, 6_000)
    await pair.drive(until=pair.world.clock.now() + timedelta(hours=3))
    body = await pair.front.status(quote)
    assert body["status"] == "REFUNDED", body
    assert body["swapDetails"]["refundReason"] == "DEPOSIT_TOO_LOW"
    [refund] = pair.world.verifier.ledger.withdrawals  # the upstream's, to the user
    assert (refund.amount, refund.memo) == (6_000, f"WITHDRAW_TO:{BTC_REFUND}")
    front = await pair.front.swap(quote)
    assert pair.world.verifier.balances.get((front.custody_account_id, BTC), 0) == 0


async def test_any_input_is_refused_in_upstream_mode(pair: Pair) -> None:
    """Reusable addresses are the PoA bridge's; an upstream lends one address per quote."""
    _, token = await add_partner(
        pair.front.world.store, "acme", secret=pair.front.world.keys.jwt_secret,
        now=pair.front.clock.now(), ttl=None,
    )  # fmt: skip
    body = {
        "dry": False, "swapType": "ANY_INPUT", "slippageTolerance": 0,
        "originAsset": "1cs_v1:any", "depositType": "INTENTS", "destinationAsset": BTC,
        "amount": "0", "refundTo": "fees.near", "refundType": "INTENTS",
        "recipient": "fees.near", "recipientType": "INTENTS",
        "deadline": "2026-01-01T14:00:00.000Z", "quoteWaitingTimeMs": 0,
    }  # fmt: skip
    response = await pair.front.client.post(
        "/v0/quote", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400, response.text
    assert "upstream mode" in response.json()["message"]
