"""The reconciliation on the fake world (issue 13): late deposits and wrong tokens come back to
``refundTo``, dust and unroutable balances are recorded for the operator, funds a live swap needs
are never touched, and ``swapDetails.deposits[]`` tells each transfer's story."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from oc_engine_kit import BTC, BTC_REFUND, EVM_RECIPIENT, USDT, WNEAR, Kit
from typer.testing import CliRunner

from oneclick.cli.main import app
from oneclick.domain.engine import Phase
from oneclick.domain.reconcile import Disposition
from oneclick.domain.records import IntentKind
from oneclick.domain.swaps import SwapStatus
from oneclick.services.engine import EngineContext
from oneclick.services.reconcile import PassReport, held_balances
from oneclick.store.claims import SqlClaims
from oneclick.workers.reconciler import Reconciler, ReconcilerOptions

ETH = "nep141:eth.omft.near"
BTC_FEE = 1900
USDT_FEE = 300_000


@pytest.fixture
def kit_options() -> dict[str, Any]:
    return {"near": True}  # NEAR refundTo needs confirmable payouts


def reconciler(kit: Kit) -> Reconciler:
    ctx = EngineContext.of(
        kit.world.ctx, kit.world.store, owner="reconciler-test", metrics=kit.metrics
    )
    options = ReconcilerOptions(batch=2, batch_pause_s=0)  # small batches: the cursor is used
    return Reconciler(ctx, kit.world.store, SqlClaims(kit.world.store.db), options)


async def reconcile_until_quiet(kit: Kit, passes: int = 5) -> PassReport:
    """Run passes (the clock moving a minute between them) until one finds nothing to do."""
    total = PassReport()
    for _ in range(passes):
        report = await reconciler(kit).run_pass()
        total.add(report)
        if report.acted == 0:
            return total
        kit.clock.advance(timedelta(minutes=1))
    raise AssertionError(f"the reconciliation did not settle: {total}")


def withdrawals_of(kit: Kit, token: str) -> list[Any]:
    return [w for w in kit.world.verifier.ledger.withdrawals if f"nep141:{w.token}" == token]


async def stray_legs(kit: Kit, quote: dict[str, Any]) -> list[Any]:
    swap = await kit.swap(quote)
    async with kit.world.store.transaction() as tx:
        legs = await tx.swaps.legs(swap.id)
    return [leg for leg in legs if leg.kind is IntentKind.STRAY_REFUND]


async def test_a_deposit_a_week_after_done_is_refunded(kit: Kit) -> None:
    quote = await kit.quote()
    first = await kit.deposit(quote, 100_000)
    await kit.drive()  # swap, payout, then the sweep until the quote deadline
    swap = await kit.swap(quote)
    assert (swap.status, swap.phase) == (SwapStatus.SUCCESS, Phase.DONE)
    kit.clock.advance(timedelta(days=7))
    late = await kit.deposit(quote, 20_000)
    await kit.drive()
    assert withdrawals_of(kit, BTC) == []  # the engine is done with this swap: nothing moves

    report = await reconcile_until_quiet(kit)

    assert report.refunds == 1
    [refund] = withdrawals_of(kit, BTC)
    assert (refund.amount, refund.memo) == (20_000, f"WITHDRAW_TO:{BTC_REFUND}")
    assert kit.world.verifier.balances.get((swap.custody_account_id, BTC), 0) == 0
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS"
    details = body["swapDetails"]
    [leg] = await stray_legs(kit, quote)
    assert leg.delivered == 20_000 - BTC_FEE
    assert [(d["txHash"], d["status"]) for d in details["deposits"]] == [
        (first, "swapped"),
        (late, "refunded"),
    ]
    assert details["deposits"][1]["refundTxHashes"][0]["hash"] == leg.destination_tx_hash
    assert details["refundedAmount"] == str(20_000 - BTC_FEE)
    assert [t["hash"] for t in details["originChainTxHashes"]] == [
        first, late, leg.destination_tx_hash,
    ]  # fmt: skip


async def test_a_wrong_token_on_the_same_chain_is_refunded_to_refund_to(kit: Kit) -> None:
    quote = await kit.quote(
        originAsset=ETH, amount=str(10**16), refundTo=EVM_RECIPIENT,
        destinationAsset=BTC, recipient=BTC_REFUND,
    )  # fmt: skip
    account = await kit.account(quote)
    wrong = kit.world.bridge.deposit(account, USDT, 7_000_000)  # 7 USDT into an ETH quote
    await kit.drive(until=kit.clock.now() + timedelta(minutes=5))
    assert (await kit.status(quote))["status"] == "PENDING_DEPOSIT"

    await reconcile_until_quiet(kit)

    [refund] = withdrawals_of(kit, USDT)
    assert (refund.amount, refund.memo) == (7_000_000, f"WITHDRAW_TO:{EVM_RECIPIENT}")
    assert kit.world.verifier.balances.get((account, USDT), 0) == 0
    assert kit.metrics.steps[("RECONCILE", "refund")] == 1
    body = await kit.status(quote)
    assert body["status"] == "PENDING_DEPOSIT"  # another token is not this swap's deposit
    [entry] = body["swapDetails"]["deposits"]
    assert (entry["txHash"], entry["asset"], entry["amount"], entry["status"]) == (
        wrong, USDT, "7000000", "refunded",
    )  # fmt: skip
    assert wrong not in [t["hash"] for t in body["swapDetails"]["originChainTxHashes"]]
    assert "refundedAmount" not in body["swapDetails"]  # refundedAmount is in the origin asset
    # The swap itself still works afterwards.
    await kit.deposit(quote, 10**16)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    assert (await kit.status(quote))["status"] == "SUCCESS"


async def test_funds_a_live_swap_needs_are_never_touched(kit: Kit) -> None:
    quote = await kit.quote()
    await kit.deposit(quote, 60_000)  # short of the minimum: the engine waits for a top-up
    await kit.drive(until=kit.clock.now() + timedelta(minutes=5))
    assert (await kit.status(quote))["status"] == "INCOMPLETE_DEPOSIT"
    account = await kit.account(quote)

    report = await reconcile_until_quiet(kit)

    assert report.refunds == report.held == 0
    assert await stray_legs(kit, quote) == []
    assert kit.world.verifier.balances[(account, BTC)] == 60_000


async def test_an_account_leased_by_a_worker_is_left_for_the_next_pass(kit: Kit) -> None:
    quote = await kit.quote(
        originAsset=ETH, amount=str(10**16), refundTo=EVM_RECIPIENT,
        destinationAsset=BTC, recipient=BTC_REFUND,
    )  # fmt: skip
    account = await kit.account(quote)
    kit.world.bridge.deposit(account, USDT, 7_000_000)
    swap = await kit.swap(quote)
    now = kit.clock.now()
    async with kit.world.store.transaction() as tx:
        assert await tx.reconcile.lease_swap(
            swap.id, "worker-busy", now, now + timedelta(minutes=1)
        )

    report = await reconciler(kit).run_pass()

    assert (report.busy, report.refunds) == (1, 0)
    assert withdrawals_of(kit, USDT) == []
    kit.clock.advance(timedelta(minutes=2))  # the worker's lease ran out
    await reconcile_until_quiet(kit)
    assert len(withdrawals_of(kit, USDT)) == 1


async def test_dust_and_unroutable_balances_are_recorded_for_the_operator(
    kit: Kit, tmp_path: Path
) -> None:
    btc = await kit.quote()
    await kit.deposit(btc, 100_000)
    near = await kit.quote(
        originAsset=WNEAR, amount=str(10**24), depositType="INTENTS", destinationAsset=USDT,
        recipient=EVM_RECIPIENT, refundTo="ab" * 32,
    )  # fmt: skip
    await kit.drive(until=kit.clock.now() + timedelta(hours=1))  # the BTC swap succeeds
    kit.clock.advance(timedelta(days=2))
    await kit.drive()  # both quotes are past their deadlines: the engine is done with them
    await kit.deposit(btc, 1_500)  # below the bridge's minimum withdrawal (5000)
    near_account = await kit.account(near)
    kit.world.verifier.ledger.mint(near_account, BTC, 30_000)  # BTC cannot reach a NEAR refundTo

    report = await reconcile_until_quiet(kit)

    assert report.refunds == 0
    held = {(h.token, h.disposition): h for h in await held_balances(kit.world.store)}
    dust = held[(BTC, Disposition.DUST)]
    assert (dust.amount, dust.deposit_address) == (1_500, btc["depositAddress"])
    assert "dust" in dust.reason
    parked = held[(BTC, Disposition.PARKED)]
    assert (parked.amount, parked.deposit_address) == (30_000, near["depositAddress"])
    assert "no refund route" in parked.reason
    [_, late] = (await kit.status(btc))["swapDetails"]["deposits"]
    assert late["status"] == "parked"
    assert late["reason"] == dust.reason
    # A later pass with nothing new leaves the records alone, without leasing the accounts.
    again = await reconciler(kit).run_pass()
    assert again.acted == 0
    assert len(await held_balances(kit.world.store)) == 2
    # The operator sees both in `oneclick admin stuck`.
    runner = CliRunner()
    listed = await asyncio.to_thread(
        runner.invoke, app, ["admin", "stuck", "--data-dir", str(tmp_path), "--json"]
    )
    assert listed.exit_code == 0, listed.output
    rows = [r for r in json.loads(listed.output) if r["kind"] == "balance"]
    assert sorted((r["status"], r["amount"], r["token"]) for r in rows) == [
        ("DUST", "1500", BTC), ("PARKED", "30000", BTC),
    ]  # fmt: skip


async def test_the_ledger_tells_an_overpaid_swaps_story(kit: Kit) -> None:
    quote = await kit.quote()
    paid = await kit.deposit(quote, 100_000)
    extra = await kit.deposit(quote, 50_000)
    await kit.drive(until=kit.clock.now() + timedelta(hours=1))  # swap, payout, sweep
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS"
    [refund] = withdrawals_of(kit, BTC)
    assert refund.amount == 50_000
    deposits = body["swapDetails"]["deposits"]
    assert [(d["txHash"], d["amount"], d["status"]) for d in deposits] == [
        (paid, "100000", "swapped"),
        (extra, "50000", "refunded"),
    ]
    assert deposits[0]["swappedAmount"] == "100000"
    assert deposits[1]["refundedAmount"] == "50000"
    [refund_tx] = deposits[1]["refundTxHashes"]
    assert refund_tx["explorerUrl"] == f"https://btc.test/tx/{refund_tx['hash']}"


async def test_a_never_paid_hash_never_shows(kit: Kit) -> None:
    quote = await kit.quote()
    address = quote["depositAddress"]
    bogus = "ab" * 32  # a well-formed Bitcoin tx id that pays nobody
    submitted = await kit.client.post(
        "/v0/deposit/submit", json={"txHash": bogus, "depositAddress": address}
    )
    assert submitted.status_code == 200
    assert submitted.json()["swapDetails"]["originChainTxHashes"] == []
    # (A wake-up stamped at the very instant of a claim re-schedules the swap at that instant:
    # on the fake clock time must move on once, as it always does on a real one.)
    kit.clock.advance(timedelta(seconds=1))
    real = await kit.deposit(quote, 100_000)
    await kit.drive()
    await reconcile_until_quiet(kit)
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS"
    assert [t["hash"] for t in body["swapDetails"]["originChainTxHashes"]] == [real]
    assert [d["txHash"] for d in body["swapDetails"]["deposits"]] == [real]


@pytest.mark.parametrize("tx_hash", ["0xdead", "ab" * 31, "0x" + "ab" * 32])
async def test_a_hash_that_cannot_be_on_the_chain_is_a_400(kit: Kit, tx_hash: str) -> None:
    quote = await kit.quote()  # a BTC deposit: 64 hex digits
    response = await kit.client.post(
        "/v0/deposit/submit", json={"txHash": tx_hash, "depositAddress": quote["depositAddress"]}
    )
    assert response.status_code == 400
    assert "btc transaction hash" in response.json()["message"]
    async with kit.world.store.transaction() as tx:
        assert await tx.swaps.deposits((await kit.swap(quote)).id) == []


async def test_submitting_a_real_hash_twice_is_idempotent(kit: Kit) -> None:
    quote = await kit.quote()
    real = await kit.deposit(quote, 100_000, credited=False, tx_hash="cd" * 32)  # not minted yet
    await kit.drive(until=kit.clock.now() + timedelta(minutes=5))
    submit = {"txHash": real, "depositAddress": quote["depositAddress"]}
    first = await kit.client.post("/v0/deposit/submit", json=submit)
    second = await kit.client.post("/v0/deposit/submit", json=submit)
    assert first.status_code == second.status_code == 200
    assert first.json()["swapDetails"] == second.json()["swapDetails"]
    assert [t["hash"] for t in second.json()["swapDetails"]["originChainTxHashes"]] == [real]
    async with kit.world.store.transaction() as tx:
        assert len(await tx.swaps.deposits((await kit.swap(quote)).id)) == 1


async def test_the_strict_profile_strips_the_ledger(kit: Kit) -> None:
    quote = await kit.quote()
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    params = {"depositAddress": quote["depositAddress"]}

    async def details(profile: str) -> dict[str, Any]:
        headers = {"X-OneClick-Compat": profile}
        response = await kit.client.get("/v0/status", params=params, headers=headers)
        assert response.status_code == 200
        found: dict[str, Any] = response.json()["swapDetails"]
        return found

    assert len((await details("full"))["deposits"]) == 1
    strict = await details("v0.1.10-strict")
    assert "deposits" not in strict  # the Go SDK's structs know no such property
    assert strict["originChainTxHashes"]
    # The Rust structs ignore unknown properties (no deny_unknown_fields): that profile keeps
    # every extension, this one too.
    assert len((await details("rust-v0"))["deposits"]) == 1


async def test_one_reconciler_per_database(kit: Kit) -> None:
    quote = await kit.quote()
    await kit.deposit(quote, 100_000)
    first, second = reconciler(kit), reconciler(kit)
    second.ctx = EngineContext.of(
        kit.world.ctx, kit.world.store, owner="reconciler-other", metrics=kit.metrics
    )
    assert (await first.run_pass()).accounts == 1
    assert (await second.run_pass()).accounts == 0  # the first one holds the lock
    stop = asyncio.Event()
    stop.set()
    await first.run(stop)  # stops at once and lets the lock go
    assert (await second.run_pass()).accounts == 1
