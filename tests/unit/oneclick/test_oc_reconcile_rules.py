"""The reconciliation's pure rules, the deposit tx hash formats and the explorer settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from oneclick.api.schemas import Blockchain
from oneclick.bootstrap import engine_policy_from_settings
from oneclick.config import load_settings
from oneclick.domain.engine import DepositRecord, FeePlan, Leg, Phase, SwapState
from oneclick.domain.quotes import SwapType
from oneclick.domain.reconcile import (
    DepositOutcome,
    Disposition,
    decide,
    deposit_ledger,
    needed_tokens,
    shown_deposit,
)
from oneclick.domain.records import IntentKind, IntentState
from oneclick.domain.swaps import SwapStatus
from oneclick.domain.txhashes import tx_hash_problem
from oneclick.services.context import DEFAULT_EXPLORERS
from oneclick.testing.assets import SAMPLE_ASSETS, USDC_BASE, USDC_NEAR, USDT_ETH

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ASSETS = {a.asset_id: a for a in SAMPLE_ASSETS}
ETH = "nep141:eth.omft.near"
BTC = "nep141:btc.omft.near"
WNEAR = "nep141:wrap.near"


def _swap(**change: object) -> SwapState:
    swap = SwapState(
        id="s", status=SwapStatus.SUCCESS, phase=Phase.DONE, custody_index=1,
        custody_account_id="c", deposit_address="0xd", deposit_memo=None,
        swap_type=SwapType.EXACT_INPUT, deposit_type="ORIGIN_CHAIN",
        recipient_type="DESTINATION_CHAIN", refund_type="ORIGIN_CHAIN", origin_asset=ETH,
        destination_asset=BTC, amount_in=100, min_amount_in=100, amount_out=1, min_amount_out=1,
        recipient="bc1q", refund_to="0xr", request_deadline=NOW, quote_deadline=NOW,
        fee_plan=FeePlan(), quote_response="{}", updated_at=NOW,
    )  # fmt: skip
    return replace(swap, **change)  # type: ignore[arg-type]


def _leg(kind: IntentKind, state: IntentState, debits: dict[str, int], **kw: object) -> Leg:
    return Leg(
        intent_hash=f"{kind}-{len(debits)}-{sorted(debits.items())}", swap_id="s", kind=kind,
        signer_id="c", nonce="n", signed_data="{}", state=state, deadline=NOW, created_at=NOW,
        debits=debits, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_the_engine_keeps_its_assets_until_it_is_done() -> None:
    assert needed_tokens(_swap(phase=Phase.DEPOSIT, status=SwapStatus.PENDING_DEPOSIT), []) == {
        ETH, BTC,
    }  # fmt: skip
    assert needed_tokens(_swap(phase=Phase.SWEEP), []) == {ETH}
    assert needed_tokens(_swap(phase=Phase.DONE), []) == set()
    # a parked swap is the operator's; a live intent may still spend what it debits (rule 2)
    assert needed_tokens(_swap(status=SwapStatus.FAILED, phase=Phase.SWAP), []) == {ETH, BTC}
    live = _leg(IntentKind.STRAY_REFUND, IntentState.PUBLISHED, {USDT_ETH: 5})
    dead = _leg(IntentKind.STRAY_REFUND, IntentState.DEAD, {WNEAR: 5})
    assert needed_tokens(_swap(), [live, dead]) == {USDT_ETH}


def test_refunds_go_back_on_the_same_chain_or_are_parked() -> None:
    swap, eth = _swap(), ASSETS[ETH]
    assert decide(swap, eth, ASSETS[USDT_ETH], 7_000_000).disposition is Disposition.REFUND
    other_chain = decide(swap, eth, ASSETS[USDC_BASE], 7_000_000)
    assert other_chain.disposition is Disposition.PARKED
    assert "no refund route" in (other_chain.reason or "")
    assert decide(swap, eth, ASSETS[WNEAR], 10**24).disposition is Disposition.PARKED
    near_origin = _swap(origin_asset=USDC_NEAR, refund_to="alice.near")
    near_usdc = ASSETS[USDC_NEAR]
    assert decide(near_origin, near_usdc, ASSETS[WNEAR], 1).disposition is Disposition.REFUND
    assert decide(near_origin, near_usdc, ASSETS[BTC], 10**6).disposition is Disposition.PARKED
    # inside the verifier every token can go back
    intents = decide(_swap(refund_type="INTENTS"), eth, ASSETS[USDC_BASE], 1)
    assert (intents.disposition, intents.internal) == (Disposition.REFUND, True)


def test_dust_is_what_the_bridge_would_not_deliver() -> None:
    btc = ASSETS[BTC]  # minimum withdrawal 5000, fee 1900
    swap = _swap(origin_asset=BTC, destination_asset=ETH)
    assert decide(swap, btc, btc, 4_999).disposition is Disposition.DUST
    assert decide(swap, btc, btc, 5_000).disposition is Disposition.REFUND
    usdt = ASSETS[USDT_ETH]  # no minimum, fee 300000
    assert decide(_swap(), ASSETS[ETH], usdt, 300_000).disposition is Disposition.DUST
    assert decide(_swap(), ASSETS[ETH], usdt, 300_001).disposition is Disposition.REFUND


def _deposit(tx: str, amount: int, status: str | None = "COMPLETED", **kw: object) -> DepositRecord:
    return DepositRecord(tx, "BRIDGE", "eth:1", amount, status, NOW, **kw)  # type: ignore[arg-type]


def test_the_ledger_matches_deposits_first_in_first_out() -> None:
    swap = _swap()
    legs = [
        _leg(IntentKind.SWAP, IntentState.SETTLED, {ETH: 100}),
        _leg(IntentKind.REFUND, IntentState.SETTLED, {ETH: 70}, destination_tx_hash="0xr1"),
        _leg(IntentKind.STRAY_REFUND, IntentState.SETTLED, {USDT_ETH: 9},
             destination_tx_hash="0xr2"),
        _leg(IntentKind.REFUND, IntentState.PUBLISHED, {ETH: 5}),  # not settled: still held
    ]  # fmt: skip
    deposits = [
        _deposit("0xa", 120, asset=ETH),  # 100 swapped, 20 refunded
        _deposit("0xb", 50),  # refunded (asset unknown: recorded before 0003, the origin)
        _deposit("0xc", 9, asset=USDT_ETH),
        _deposit("0xd", 30, asset=ETH, reason="dust: ..."),
        _deposit("0xe", 30, asset=ETH, status="PENDING"),
        _deposit("0xf", 30, status=None),  # a submitted hash nobody confirmed
        _deposit("0x0", 30, asset=ETH, status="FAILED"),
    ]
    ledger = {e.tx_hash: e for e in deposit_ledger(swap, deposits, legs)}
    assert list(ledger) == ["0xa", "0xb", "0xc", "0xd", "0xe"]
    assert (ledger["0xa"].outcome, ledger["0xa"].swapped, ledger["0xa"].refunded) == (
        DepositOutcome.SWAPPED, 100, 20,
    )  # fmt: skip
    assert ledger["0xa"].refund_tx_hashes == ("0xr1",)
    assert (ledger["0xb"].outcome, ledger["0xb"].refunded) == (DepositOutcome.REFUNDED, 50)
    assert (ledger["0xc"].outcome, ledger["0xc"].refund_tx_hashes) == (
        DepositOutcome.REFUNDED, ("0xr2",),
    )  # fmt: skip
    assert (ledger["0xd"].outcome, ledger["0xd"].reason) == (DepositOutcome.PARKED, "dust: ...")
    assert ledger["0xe"].outcome is DepositOutcome.PENDING
    assert [shown_deposit(swap, d) for d in deposits] == [
        True, True, False, True, True, False, False,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("chain", "good", "bad"),
    [
        ("eth", "0x" + "aB" * 32, "0xdead"),
        ("arb", "0x" + "00" * 32, "00" * 32),
        ("btc", "ab" * 32, "0x" + "ab" * 32),
        ("xrp", "AB" * 32, "AB" * 31),
        ("sol", "5" * 87, "0x" + "ab" * 32),
        ("near", "GqHJx2D8ZbZLAy8DWkqbnCWy7sxyamQESeY1DbUpNxdL", "0xdead"),
    ],
)
def test_tx_hash_formats(chain: str, good: str, bad: str) -> None:
    assert tx_hash_problem(chain, good) is None
    assert tx_hash_problem(chain, bad) == f"txHash {bad!r} is not a {chain} transaction hash"


def test_unknown_formats_are_not_refused() -> None:
    assert tx_hash_problem("aleo", "at1anything") is None


def test_every_listed_blockchain_has_a_public_explorer() -> None:
    missing = [b.value for b in Blockchain if not DEFAULT_EXPLORERS.get(b.value)]
    assert missing == []
    assert all("{hash}" in t and t.startswith("https://") for t in DEFAULT_EXPLORERS.values())


def test_explorers_are_a_top_level_toml_table_over_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "oneclick.toml"
    path.write_text('[explorers]\neth = "https://eth.example/tx/{hash}"\nbtc = ""\n')
    policy = engine_policy_from_settings(load_settings(path))
    assert policy.explorer_url("eth", "0xab") == "https://eth.example/tx/0xab"
    assert policy.explorer_url("btc", "ab") == ""  # blanked: no link
    assert policy.explorer_url("sol", "5x") == "https://solscan.io/tx/5x"  # the default stays
    assert policy.explorer_url("eth", "a/b?c") == "https://eth.example/tx/a%2Fb%3Fc"
