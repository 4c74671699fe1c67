"""ANY_INPUT quotes end to end on fakes: a reusable Intents account with an address on every
chain, repeated deposits of any asset (bridge deposits from two chains and an Intents transfer),
each swapped on its own, pooled and withdrawn at the threshold; ``1cs_v1:original``; retries
without refunds; ``/v0/any-input/withdrawals`` and ``/v0/status``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from oc_engine_kit import BTC, EVM_RECIPIENT, USDT, WNEAR, Kit, make_kit

from oneclick.services.partners import add_partner
from oneclick.testing.assets import USDC_BASE

ANY = "1cs_v1:any"
FEE_ACCOUNT = "fees.near"
ETH = "nep141:eth.omft.near"


@pytest.fixture
async def kit(tmp_path: Path):
    made = await make_kit(tmp_path)
    yield made
    await made.client.aclose()
    await made.world.aclose()


async def _auth(kit: Kit) -> dict[str, str]:
    _, token = await add_partner(
        kit.world.store, "acme", secret=kit.world.keys.jwt_secret, now=kit.clock.now(), ttl=None
    )
    return {"Authorization": f"Bearer {token}"}


def any_request(**change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dry": False, "swapType": "ANY_INPUT", "slippageTolerance": 0, "originAsset": ANY,
        "depositType": "INTENTS", "destinationAsset": USDT, "amount": "0",
        "refundTo": FEE_ACCOUNT, "refundType": "INTENTS", "recipient": EVM_RECIPIENT,
        "recipientType": "DESTINATION_CHAIN", "deadline": "2026-01-01T14:00:00.000Z",
        "quoteWaitingTimeMs": 0,
    }  # fmt: skip
    body.update(change)
    return body


async def _quote(kit: Kit, headers: dict[str, str], **change: Any) -> dict[str, Any]:
    response = await kit.client.post("/v0/quote", json=any_request(**change), headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _intents_transfer(kit: Kit, account: str, token: str, amount: int) -> None:
    """Someone pays the account inside the verifier (an app fee, say)."""
    ledger = kit.world.verifier.ledger
    ledger.mint("payer.near", token, amount)
    ledger.balances[("payer.near", token)] -= amount
    ledger.mint(account, token, amount, cause="user")


async def _withdrawals(kit: Kit, address: str, **params: Any) -> dict[str, Any]:
    response = await kit.client.get(
        "/v0/any-input/withdrawals", params={"depositAddress": address, **params}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_quote_is_a_reusable_account_with_an_address_on_every_chain(kit: Kit) -> None:
    headers = await _auth(kit)
    document = await _quote(kit, headers)
    quote = document["quote"]
    account = quote["depositAddress"]
    assert len(account) == 64
    assert int(account, 16) >= 0
    chains = {entry["blockchain"]: entry for entry in quote["chainDepositAddresses"]}
    assert set(chains) == {"near", "btc", "eth", "base", "sol", "stellar"}
    assert chains["near"]["address"] == account  # ft_transfer_call to the verifier
    assert chains["stellar"]["memo"]  # a memo chain's address comes with its memo
    bridge_chains = {"btc": "btc:mainnet", "eth": "eth:1", "base": "eth:8453", "sol": "sol:mainnet"}
    for blockchain, chain in bridge_chains.items():  # the bridge's, for the same account
        expected = await kit.world.bridge.deposit_address(account, chain)
        assert chains[blockchain]["address"] == expected.address
    assert quote["amountIn"] == quote["amountOut"] == quote["minAmountOut"] == "0"
    assert document["quoteRequest"]["originAsset"] == ANY
    assert (await kit.status(quote))["status"] == "PENDING_DEPOSIT"
    dry = await _quote(kit, headers, dry=True)
    assert "depositAddress" not in dry["quote"]
    assert "chainDepositAddresses" not in dry["quote"]


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({}, 401, "partners"),
        ({"amount": "5"}, 400, 'amount "0"'),
        ({"depositType": "ORIGIN_CHAIN"}, 400, "depositType INTENTS"),
        ({"destinationAsset": "1cs_v1:original"}, 400, "recipientType INTENTS"),
        ({"appFees": [{"recipient": "x.near", "fee": 10}]}, 400, "appFees"),
        ({"originAsset": BTC}, 400, "originAsset '1cs_v1:any'"),
        ({"swapType": "EXACT_INPUT"}, 400, "only for swapType ANY_INPUT"),
        ({"destinationAsset": "nep141:nope.near"}, 400, "not a supported asset"),
        ({"recipient": "not an address"}, 400, "recipient"),
        ({"refundType": "ORIGIN_CHAIN", "refundTo": "no such address!"}, 400, "refundTo"),
    ],
)
async def test_bad_any_input_requests_are_clear_4xx(
    kit: Kit, change: dict[str, Any], status: int, message: str
) -> None:
    headers = {} if status == 401 else await _auth(kit)
    response = await kit.client.post("/v0/quote", json=any_request(**change), headers=headers)
    assert response.status_code == status, response.text
    assert message in response.json()["message"]


async def test_deposits_from_two_chains_and_an_intents_transfer_are_swapped_and_pooled(
    kit: Kit,
) -> None:
    await _two_chains_and_a_transfer(kit)


@pytest.mark.postgres
async def test_deposits_from_two_chains_and_an_intents_transfer_on_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    kit = await make_kit(tmp_path, database_url=postgres_url)
    try:
        await _two_chains_and_a_transfer(kit)
    finally:
        await kit.client.aclose()
        await kit.world.aclose()


async def _two_chains_and_a_transfer(kit: Kit) -> None:
    headers = await _auth(kit)
    quote = (await _quote(kit, headers))["quote"]
    account = quote["depositAddress"]
    bridge, ledger = kit.world.bridge, kit.world.verifier.ledger
    btc_tx = bridge.deposit(account, BTC, 2_000_000)  # 0.02 BTC on Bitcoin: $1,200
    base_tx = bridge.deposit(account, USDC_BASE, 150_000_000)  # 150 USDC on Base
    _intents_transfer(kit, account, WNEAR, 10 * 10**24)  # 10 wNEAR: $30, an Intents transfer
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))

    body = await kit.status(quote)
    assert body["status"] == "PROCESSING"  # the address keeps taking deposits
    deposits = body["swapDetails"]["anyInputDeposits"]
    assert [(d["asset"], d["amount"], d["source"]) for d in deposits] == [
        (BTC, "2000000", "BRIDGE"), (USDC_BASE, "150000000", "BRIDGE"),
        (WNEAR, str(10 * 10**24), "INTENTS"),
    ]  # fmt: skip
    assert {d["txHash"] for d in deposits[:2]} == {btc_tx, base_tx}
    assert "amountIn" not in body["swapDetails"]
    assert "slippage" not in body["swapDetails"]
    origin = body["swapDetails"]["originChainTxHashes"]
    assert {t["hash"] for t in origin} == {btc_tx, base_tx}
    assert {"hash": btc_tx, "explorerUrl": f"https://btc.test/tx/{btc_tx}"} in origin
    assert [d["chain"] for d in deposits] == ["btc:mainnet", "eth:8453", "near"]
    assert all(d["phase"] == "DELIVERED" for d in deposits)
    # Each deposit its own swap intent; one withdrawal carried the whole pool.
    assert len({d["swapIntentHash"] for d in deposits}) == 3
    assert len({d["withdrawalIntentHash"] for d in deposits}) == 1
    pooled = sum(int(d["amountOut"]) for d in deposits)
    [payout] = [w for w in ledger.withdrawals if w.memo == f"WITHDRAW_TO:{EVM_RECIPIENT}"]
    assert payout.amount == pooled  # audited to the unit
    assert {t: ledger.balances.get((account, t), 0) for t in (BTC, USDC_BASE, WNEAR, USDT)} == {
        BTC: 0, USDC_BASE: 0, WNEAR: 0, USDT: 0,
    }  # fmt: skip
    listed = await _withdrawals(kit, account)
    assert listed["recipient"] == EVM_RECIPIENT
    assert listed["asset"] == USDT
    assert listed["affiliateRecipient"] == account
    [line] = listed["withdrawals"]
    assert line["status"] == "SUCCESS"
    assert int(line["amountOut"]) == pooled - 300_000
    assert line["withdrawFee"] == "300000"
    assert line["amountOutFormatted"]
    assert line["withdrawFeeUsd"] == "0.300000000000"
    assert line["hash"] in {t["hash"] for t in body["swapDetails"]["destinationChainTxHashes"]}
    intents = set(body["swapDetails"]["intentHashes"])
    ours = {d["swapIntentHash"] for d in deposits} | {deposits[0]["withdrawalIntentHash"]}
    assert ours <= intents

    # A small deposit waits below the $1,000 threshold ...
    bridge.deposit(account, USDC_BASE, 20_000_000)  # 20 USDC
    await kit.drive(until=kit.clock.now() + timedelta(hours=1))
    body = await kit.status(quote)
    assert body["swapDetails"]["anyInputDeposits"][-1]["phase"] == "POOLED"
    assert len((await _withdrawals(kit, account))["withdrawals"]) == 1
    # ... and leaves when the address goes inactive; then the quote is done.
    await kit.drive()
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS"
    assert body["swapDetails"]["anyInputDeposits"][-1]["phase"] == "DELIVERED"
    delivered = sum(int(w.amount) - 300_000 for w in ledger.withdrawals
                    if w.memo == f"WITHDRAW_TO:{EVM_RECIPIENT}")  # fmt: skip
    assert body["swapDetails"]["amountOut"] == str(delivered)  # every withdrawal, in USDT
    newest_first = (await _withdrawals(kit, account))["withdrawals"]
    assert len(newest_first) == 2
    assert int(newest_first[0]["amountOut"]) < int(line["amountOut"])
    oldest_first = (await _withdrawals(kit, account, sortOrder="asc"))["withdrawals"]
    assert oldest_first == newest_first[::-1]
    second_page = await _withdrawals(kit, account, limit=1, page=2)
    assert second_page["withdrawals"] == [newest_first[1]]
    assert second_page["total"] == 2
    since = await _withdrawals(kit, account, timestampFrom=newest_first[0]["timestamp"])
    assert since["withdrawals"] == newest_first[:1]
    assert {t: ledger.balances.get((account, t), 0) for t in (USDC_BASE, USDT)} == {
        USDC_BASE: 0, USDT: 0,
    }  # fmt: skip


async def test_original_delivers_every_deposit_as_it_came(kit: Kit) -> None:
    headers = await _auth(kit)
    quote = (
        await _quote(
            kit, headers, destinationAsset="1cs_v1:original", recipient="treasury.near",
            recipientType="INTENTS",
        )
    )["quote"]  # fmt: skip
    account = quote["depositAddress"]
    kit.world.bridge.deposit(account, BTC, 1_000)  # far below any threshold: delivered at once
    kit.world.bridge.deposit(account, ETH, 10**15)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    ledger = kit.world.verifier.ledger
    assert ledger.balances.get(("treasury.near", BTC)) == 1_000
    assert ledger.balances.get(("treasury.near", ETH)) == 10**15
    assert not kit.world.relay.requests  # nothing was swapped
    body = await kit.status(quote)
    deposits = body["swapDetails"]["anyInputDeposits"]
    assert [d["phase"] for d in deposits] == ["DELIVERED", "DELIVERED"]
    assert all("swapIntentHash" not in d for d in deposits)
    listed = await _withdrawals(kit, account, sortOrder="asc")
    assert listed["asset"] == "1cs_v1:original"
    assert [w["amountOut"] for w in listed["withdrawals"]] == ["1000", str(10**15)]
    assert all(w["withdrawFee"] == "0" for w in listed["withdrawals"])


async def test_a_deposit_without_an_acceptable_offer_is_retried_never_refunded(kit: Kit) -> None:
    headers = await _auth(kit)
    quote = (await _quote(kit, headers, recipient="treasury.near", recipientType="INTENTS"))[
        "quote"
    ]
    account = quote["depositAddress"]
    relay = kit.world.relay
    relay.margins_bps = (1000,)  # 10 % under the price feed: more than any slippage we allow
    kit.world.bridge.deposit(account, BTC, 2_000_000)
    start = kit.clock.now()
    await kit.drive(until=start + timedelta(minutes=12))
    asks = [r for r in relay.requests if r.defuse_asset_identifier_in == BTC]
    assert len(asks) == 3  # at 0, 5 and 10 minutes
    body = await kit.status(quote)
    [deposit] = body["swapDetails"]["anyInputDeposits"]
    assert deposit["phase"] == "SWAP"
    assert "no offer" in deposit["lastError"]
    assert kit.world.verifier.ledger.balances[(account, BTC)] == 2_000_000  # nothing refunded
    assert not kit.world.verifier.ledger.withdrawals
    relay.margins_bps = (0,)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=10))
    body = await kit.status(quote)
    assert body["swapDetails"]["anyInputDeposits"][0]["phase"] == "DELIVERED"
    assert kit.world.verifier.ledger.balances[("treasury.near", USDT)] == int(
        body["swapDetails"]["anyInputDeposits"][0]["amountOut"]
    )


async def test_withdrawals_of_a_fixed_asset_quote_or_an_unknown_address_are_404(kit: Kit) -> None:
    fixed = await kit.quote()
    for target in (fixed["depositAddress"], "unknown"):
        response = await kit.client.get(
            "/v0/any-input/withdrawals", params={"depositAddress": target}
        )
        assert response.status_code == 404


async def test_the_reconciliation_leaves_an_any_input_account_to_its_engine(kit: Kit) -> None:
    """Every token in an ANY_INPUT account is the engine's: the no-coin-left-behind scan would
    otherwise refund what is waiting to be swapped or pooled."""
    from oneclick.services.engine import EngineContext
    from oneclick.store.claims import SqlClaims
    from oneclick.workers.reconciler import Reconciler, ReconcilerOptions

    headers = await _auth(kit)
    quote = (await _quote(kit, headers))["quote"]
    account = quote["depositAddress"]
    kit.world.bridge.deposit(account, BTC, 2_000_000)
    _intents_transfer(kit, account, WNEAR, 10**24)
    ctx = EngineContext.of(kit.world.ctx, kit.world.store, owner="reconciler", metrics=kit.metrics)
    reconciler = Reconciler(
        ctx, kit.world.store, SqlClaims(kit.world.store.db), ReconcilerOptions(batch_pause_s=0)
    )
    report = await reconciler.run_pass()
    assert (report.refunds, report.held) == (0, 0)
    ledger = kit.world.verifier.ledger
    assert ledger.balances[(account, BTC)] == 2_000_000
    assert not ledger.withdrawals


async def test_a_deposit_tx_on_any_chain_may_be_submitted(kit: Kit) -> None:
    headers = await _auth(kit)
    account = (await _quote(kit, headers))["quote"]["depositAddress"]
    evm_tx = "0x" + "ab" * 32  # paid to the eth address of chainDepositAddresses
    response = await kit.client.post(
        "/v0/deposit/submit", json={"txHash": evm_tx, "depositAddress": account}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "KNOWN_DEPOSIT_TX"


async def test_an_operator_cannot_refund_an_any_input_quote(kit: Kit) -> None:
    from oneclick.domain.errors import RequestError
    from oneclick.services.engine.admin import refund_swap

    headers = await _auth(kit)
    account = (await _quote(kit, headers))["quote"]["depositAddress"]
    with pytest.raises(RequestError, match="never refunded"):
        await refund_swap(kit.world.store, kit.clock, account, None)


def test_the_threshold_and_retry_interval_are_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from decimal import Decimal

    from oneclick.bootstrap import engine_policy_from_settings
    from oneclick.config import load_settings
    from oneclick.domain.errors import ConfigurationError

    defaults = engine_policy_from_settings(load_settings(data_dir=tmp_path / "none"))
    assert defaults.any_input_threshold_usd == Decimal(1000)  # the docs' $1,000
    assert defaults.any_input_retry == timedelta(minutes=5)  # "retry every 5 minutes"
    toml = tmp_path / "oneclick.toml"
    toml.write_text("[engine]\nany_input_threshold_usd = 250\nany_input_retry_s = 60\n")
    policy = engine_policy_from_settings(load_settings(toml))
    assert policy.any_input_threshold_usd == Decimal(250)
    assert policy.any_input_retry == timedelta(seconds=60)
    monkeypatch.setenv("ONECLICK_ENGINE__ANY_INPUT_THRESHOLD_USD", "0.5")
    assert engine_policy_from_settings(load_settings(toml)).any_input_threshold_usd == Decimal(
        "0.5"
    )
    monkeypatch.setenv("ONECLICK_ENGINE__ANY_INPUT_THRESHOLD_USD", "-1")
    with pytest.raises(ConfigurationError):
        load_settings(toml)
