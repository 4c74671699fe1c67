"""The engine against peers that behave like mainnet's rather than like our devnet's: the bridge
answers "Withdrawals not found" for a while after a burn, ``final`` trails the relay's SETTLED,
nonces are garbage-collected after their deadline, and answers carry surprises. None of these may
park a swap; payout memos are built as the official SDK builds them."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from oc_engine_kit import EVM_RECIPIENT, TEST_POLICY, USDT, Kit

from nearintents.payload import FtWithdraw
from nearintents.rpc import RpcMalformedResponse
from oneclick.domain.addresses import decode_x_address, destination, is_chain_address
from oneclick.domain.assets import Asset
from oneclick.domain.engine import withdraw_memo
from oneclick.domain.records import IntentKind, IntentState
from oneclick.services.engine import EngineContext
from oneclick.services.engine.legs import POA_WITHDRAW_GAS, delivery_intent

XRP = Asset("nep141:xrp.omft.near", "xrp", "XRP", 6, bridge_chain="xrp:mainnet")
BCH = Asset("nep141:bch.omft.near", "bch", "BCH", 8, bridge_chain="bch:mainnet")
BTC_ASSET = Asset("nep141:btc.omft.near", "btc", "BTC", 8, bridge_chain="btc:mainnet")
# XLS-5d vectors (the XRPL address codecs' fixtures): classic address, tag, X-address.
X_NO_TAG = (
    "rGWrZyQqhTp9Xu7G5Pkayo7bXjH4k4QYpf",
    None,
    "XVLhHMPHU98es4dbozjVtdWzVrDjtV5fdx1mHp98tDMoQXb",
)
X_TAG_0 = (
    "rGWrZyQqhTp9Xu7G5Pkayo7bXjH4k4QYpf",
    0,
    "XVLhHMPHU98es4dbozjVtdWzVrDjtV8AqEL4xcZj5whKbmc",
)
X_TAG = (
    "rsA2LpzuawewSBQXkiju3YQTMzW13pAAdW",
    11747,
    "X7d3eHCXzwBeWrZec1yT24iZerQjYLo2CJf8oVC5CMWey5m",
)


# --- the withdrawal memo (sdk-monorepo intents-sdk/src/bridges/poa-bridge/poa-bridge-utils.ts) ---


@pytest.mark.parametrize(
    ("address", "memo", "expected"),
    [
        ("bc1qtest", None, "WITHDRAW_TO:bc1qtest"),
        ("bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", None,
         "WITHDRAW_TO:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"),
        ("BITCOINCASH:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", None,
         "WITHDRAW_TO:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"),
        ("rDsbeomae4FXwgQTJp9Rs64Qg9vDiTCdBv", "12345",
         "WITHDRAW_TO:rDsbeomae4FXwgQTJp9Rs64Qg9vDiTCdBv:12345"),
        ("rDsbeomae4FXwgQTJp9Rs64Qg9vDiTCdBv", "",
         "WITHDRAW_TO:rDsbeomae4FXwgQTJp9Rs64Qg9vDiTCdBv"),
    ],
)  # fmt: skip
def test_withdraw_memo_is_the_sdks(address: str, memo: str | None, expected: str) -> None:
    assert withdraw_memo(address, memo) == expected


@pytest.mark.parametrize("vector", [X_NO_TAG, X_TAG_0, X_TAG])
def test_x_addresses_decode_to_classic_address_and_tag(vector: tuple) -> None:
    classic, tag, x_address = vector
    assert decode_x_address(x_address) == (classic, tag)
    assert is_chain_address("xrp", x_address)
    assert destination("xrp", x_address) == (classic, None if tag is None else str(tag))


@pytest.mark.parametrize(
    "bad",
    [
        "XVLhHMPHU98es4dbozjVtdWzVrDjtV5fdx1mHp98tDMoQXa",  # checksum
        "T7YChPFWifjCAXLEtg5N74c7fSAYsvTcc7nEfwuEEvn5Q4w",  # testnet
        "X",
    ],
)
def test_bad_x_addresses_are_refused(bad: str) -> None:
    assert decode_x_address(bad) is None
    assert not is_chain_address("xrp", bad)


def test_a_payout_to_an_xrp_x_address_carries_the_destination_tag() -> None:
    intent = delivery_intent(XRP, 5_000_000, X_TAG[2], internal=False)
    assert isinstance(intent, FtWithdraw)
    assert intent.memo == "WITHDRAW_TO:rsA2LpzuawewSBQXkiju3YQTMzW13pAAdW:11747"
    assert (intent.token, intent.receiver_id) == ("xrp.omft.near", "xrp.omft.near")
    assert intent.min_gas == POA_WITHDRAW_GAS == 17_050_000_000_000
    untagged = delivery_intent(XRP, 5, X_NO_TAG[2], internal=False)
    assert untagged.memo == "WITHDRAW_TO:rGWrZyQqhTp9Xu7G5Pkayo7bXjH4k4QYpf"  # type: ignore[union-attr]
    classic = delivery_intent(XRP, 5, "rDsbeomae4FXwgQTJp9Rs64Qg9vDiTCdBv", internal=False)
    assert classic.memo == "WITHDRAW_TO:rDsbeomae4FXwgQTJp9Rs64Qg9vDiTCdBv"  # type: ignore[union-attr]


def test_a_payout_to_a_cashaddr_strips_the_prefix() -> None:
    address = "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"
    intent = delivery_intent(BCH, 5, address, internal=False)
    assert intent.memo == "WITHDRAW_TO:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"  # type: ignore[union-attr]
    btc = delivery_intent(BTC_ASSET, 5, "bc1qtest", internal=False)
    assert btc.memo == "WITHDRAW_TO:bc1qtest"  # type: ignore[union-attr]


# --- "Withdrawals not found" (sdk-monorepo: internal-utils/src/poaBridge/
# waitForWithdrawalCompletion.ts)


async def test_withdrawals_not_found_after_a_burn_is_waited_out(kit: Kit) -> None:
    kit.world.bridge.index_lag = timedelta(minutes=9)  # several withdrawal polls (2 min each)
    quote = await kit.quote()
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=30))
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS", body
    assert kit.metrics.waits["bridge_withdrawal_not_found"] >= 3
    assert not kit.metrics.parks
    [payout] = kit.world.verifier.ledger.withdrawals
    assert payout.memo == f"WITHDRAW_TO:{EVM_RECIPIENT}"


async def test_a_burn_the_bridge_never_indexes_is_retried_not_parked_at_once(kit: Kit) -> None:
    kit.world.bridge.index_lag = timedelta(days=30)
    quote = await kit.quote()
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=10))
    swap = await kit.swap(quote)
    assert swap.status.value == "PROCESSING"
    assert swap.last_error is None  # within the grace: simply pending
    await kit.drive(until=kit.clock.now() + timedelta(minutes=30))
    swap = await kit.swap(quote)
    assert swap.status.value == "PROCESSING"  # past the grace: retried with backoff, not FAILED
    assert swap.last_error is not None
    assert "does not know the withdrawal" in swap.last_error
    async with kit.world.store.transaction() as tx:
        legs = await tx.swaps.legs(swap.id)
    [payout] = [leg for leg in legs if leg.kind is IntentKind.WITHDRAW]
    assert payout.state is IntentState.SETTLED
    assert payout.delivered is None


# --- surprises in answers: retried for a bounded time, never a park --------------------------


class Surprising:
    """A port whose ``method`` answers something unreadable ``times`` times (the client's
    validation refused it: an unknown status, a float amount), then behaves."""

    def __init__(self, inner: Any, method: str, times: int) -> None:
        self._inner, self._method, self.left = inner, method, times

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name != self._method:
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.left > 0:
                self.left -= 1
                raise RpcMalformedResponse(f"result of the wrong shape ({name})", method=name)
            return await target(*args, **kwargs)

        return call


@pytest.mark.parametrize(
    ("port", "method"),
    [("relay", "get_status"), ("bridge", "withdrawal_status"), ("verifier", "mt_balance_of")],
)
async def test_an_unreadable_answer_is_retried_not_parked(kit: Kit, port: str, method: str) -> None:
    quote = await kit.quote()
    await kit.deposit(quote, 100_000)
    ctx: EngineContext = kit.worker.ctx
    surprising = Surprising(getattr(ctx, port), method, times=3)
    kit.worker.ctx = dataclasses.replace(ctx, **{port: surprising})
    await kit.drive(until=kit.clock.now() + timedelta(minutes=60))
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS", body
    assert surprising.left == 0
    assert kit.metrics.waits["unreadable_peer_answer"] == 3
    assert not kit.metrics.parks


async def test_a_peer_that_never_makes_sense_parks_only_after_the_bounded_retries(
    kit: Kit,
) -> None:
    quote = await kit.quote()
    await kit.deposit(quote, 100_000)
    ctx: EngineContext = kit.worker.ctx
    kit.worker.ctx = dataclasses.replace(
        ctx, relay=Surprising(ctx.relay, "get_status", times=10**6)
    )
    await kit.drive(until=kit.clock.now() + timedelta(minutes=30))
    assert (await kit.swap(quote)).status.value == "PROCESSING"  # still trying
    await kit.drive(until=kit.clock.now() + timedelta(days=2))
    swap = await kit.swap(quote)
    assert swap.status.value == "FAILED"
    assert swap.last_error is not None
    assert swap.last_error.startswith(f"gave up after {TEST_POLICY.max_attempts} attempts")
    assert kit.metrics.waits["unreadable_peer_answer"] == TEST_POLICY.max_attempts


# --- `final` trails the relay's SETTLED ----------------------------------------------------------


async def test_relay_settled_is_paid_out_only_once_final(kit: Kit) -> None:
    kit.world.verifier.final_lag = timedelta(seconds=7)  # several follow polls (2 s each)
    quote = await kit.quote()
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=30))
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS", body
    assert kit.metrics.waits["final_behind_relay"] >= 2
    assert not kit.metrics.parks


async def test_a_zero_balance_right_after_settlement_is_temporary(kit: Kit) -> None:
    """Even if the views lag behind a nonce already seen used (another RPC node), the empty
    custody account is retried, not a PermanentError."""
    quote = await kit.quote()
    await kit.deposit(quote, 100_000)
    await _run_until(kit, lambda: kit.world.verifier.ledger.executed)
    verifier = kit.world.verifier
    real_balance = verifier.mt_balance_of
    hidden = {"left": 3}

    async def lagging_balance(account_id: str, token_id: str) -> int:
        if token_id == USDT and hidden["left"] > 0:
            hidden["left"] -= 1
            return 0
        return await real_balance(account_id, token_id)

    verifier.mt_balance_of = lagging_balance  # type: ignore[method-assign]
    await kit.drive(until=kit.clock.now() + timedelta(hours=1))
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS", body
    assert hidden["left"] == 0
    assert kit.metrics.waits["output_not_visible"] >= 1


# --- nonces are garbage-collected after their deadline ------------------------------------------


async def _run_until(kit: Kit, done: Any, rounds: int = 200) -> None:
    for _ in range(rounds):
        if done():
            return
        if not await kit.worker.run_once():
            due = await kit.next_due()
            assert due is not None
            kit.clock.set(max(due, kit.clock.now()))
    raise AssertionError("never happened")


@pytest.mark.parametrize("relay_forgets", [False, True], ids=["relay-tx-outcome", "balance"])
async def test_an_executed_leg_whose_nonce_was_collected_is_not_dead(
    kit: Kit, relay_forgets: bool
) -> None:
    quote = await kit.quote()
    await kit.deposit(quote, 100_000)
    # The relay executes the swap; the worker is then away past the intent's deadline, the
    # contract's garbage collector clears the used nonce, and (maybe) the relay forgets it.
    await _run_until(kit, lambda: kit.world.verifier.ledger.executed)
    kit.clock.advance(timedelta(minutes=10))
    assert kit.world.verifier.collect_garbage() >= 1
    if relay_forgets:
        kit.world.relay.intents.clear()
    kit.new_worker()
    await kit.drive(until=kit.clock.now() + timedelta(minutes=30))
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS", body
    swap = await kit.swap(quote)
    async with kit.world.store.transaction() as tx:
        legs = await tx.swaps.legs(swap.id)
    swaps = [leg for leg in legs if leg.kind is IntentKind.SWAP]
    assert [leg.state for leg in swaps] == [IntentState.SETTLED]  # never judged dead, no 2nd
    assert len(kit.world.verifier.ledger.executed) == 2  # the swap and the payout, once each


async def test_a_leg_that_never_executed_is_still_dead_after_the_deadline(kit: Kit) -> None:
    kit.world.relay.settle = False  # published, never executed
    quote = await kit.quote()
    await kit.deposit(quote, 100_000)
    await _run_until(kit, lambda: kit.world.relay.intents)
    kit.clock.advance(timedelta(minutes=10))
    kit.world.verifier.collect_garbage()
    await _run_until(kit, lambda: kit.world.relay.intents and len(kit.world.relay.intents) > 1)
    swap = await kit.swap(quote)
    async with kit.world.store.transaction() as tx:
        legs = await tx.swaps.legs(swap.id)
    assert legs[0].kind is IntentKind.SWAP
    assert legs[0].state is IntentState.DEAD  # its credits never arrived: provably not executed


def test_the_bridge_index_grace_and_relayer_account_are_configurable(tmp_path: Path) -> None:
    from oneclick.bootstrap import engine_policy_from_settings
    from oneclick.config import load_settings

    toml = tmp_path / "oneclick.toml"
    toml.write_text('[engine]\nbridge_index_grace_s = 60\n[near]\nrelayer_account = "relay.near"\n')
    settings = load_settings(toml)
    assert engine_policy_from_settings(settings).bridge_index_grace == timedelta(seconds=60)
    assert settings.near.relayer_account == "relay.near"
    defaults = engine_policy_from_settings(load_settings(data_dir=tmp_path / "empty"))
    assert defaults.bridge_index_grace == timedelta(minutes=15)
