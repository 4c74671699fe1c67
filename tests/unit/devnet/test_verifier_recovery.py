"""What the verifier remembers so its callers can recover exactly after a crash: idempotency
keys of deposits (a repeated key mints nothing and answers the first record) and the index from
intent hash to the transaction that executed it, both committed with their transaction and
both surviving a reopen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devnet.verifier import ManualClock, Verifier, VerifierConfig
from devnet.verifier.testing import Signer, transfer
from nearintents.signing import intent_hash

USDC = "nep141:usdc.near"  # ledgered NEAR-side: faucet mint + ft_transfer_call
OMFT = "nep141:btc.omft.near"  # not ledgered: ft_on_transfer from its contract (a bridge mint)
alice, bob = Signer.ed25519("alice"), Signer.ed25519("bob")


def tx_count(verifier: Verifier) -> int:
    return len(verifier.dump().get("tx", {}))


@pytest.mark.parametrize("token", [OMFT, USDC, "nep245:mt.near:a"])
def test_a_repeated_key_mints_nothing_and_answers_the_first_record(
    verifier: Verifier, token: str
) -> None:
    first = verifier.deposit("alice.near", token, 500, idempotency_key="k1").ensure_success()
    txs = tx_count(verifier)
    again = verifier.deposit("alice.near", token, 500, idempotency_key="k1")
    assert again == first
    assert tx_count(verifier) == txs, "no second transaction"
    assert verifier.mt_balance_of("alice.near", token) == 500
    assert verifier.tx_for_idempotency_key("k1") == first
    assert verifier.tx_for_idempotency_key("k2") is None
    # Another key is another deposit.
    verifier.deposit("alice.near", token, 500, idempotency_key="k2").ensure_success()
    assert verifier.mt_balance_of("alice.near", token) == 1_000


def test_with_a_key_a_near_side_deposit_is_one_transaction(verifier: Verifier) -> None:
    record = verifier.deposit("alice.near", USDC, 700, idempotency_key="k").ensure_success()
    assert [r.method for r in record.receipts[:3]] == [
        "ft_mint",
        "ft_transfer_call",
        "ft_on_transfer",
    ]
    assert verifier.mt_balance_of("alice.near", USDC) == 700
    assert verifier.ft_balance_of("usdc.near", "alice.near") == 0  # all of it went in
    assert verifier.ft_balance_of("usdc.near", verifier.account_id) == 700  # and backs it


def test_a_key_used_for_another_deposit_is_refused(verifier: Verifier) -> None:
    verifier.deposit("alice.near", OMFT, 500, idempotency_key="k").ensure_success()
    for account, token, amount in (
        ("bob.near", OMFT, 500),
        ("alice.near", OMFT, 501),
        ("alice.near", "nep141:eth.omft.near", 500),
    ):
        with pytest.raises(ValueError, match="was used for a different call"):
            verifier.deposit(account, token, amount, idempotency_key="k")
    assert verifier.mt_balance_of("bob.near", OMFT) == 0
    assert verifier.mt_balance_of("alice.near", OMFT) == 500


def test_a_failed_keyed_deposit_answers_its_failure_again(verifier: Verifier) -> None:
    failed = verifier.deposit("alice.near", OMFT, 0, idempotency_key="zero")
    assert failed.panic is not None
    txs = tx_count(verifier)
    assert verifier.deposit("alice.near", OMFT, 0, idempotency_key="zero") == failed
    assert tx_count(verifier) == txs


def test_keys_and_the_intent_index_survive_a_reopen(tmp_path: Path, clock: ManualClock) -> None:
    config = VerifierConfig(fee=0)
    with Verifier.open(tmp_path, clock=clock, config=config) as verifier:
        minted = verifier.deposit(alice.account_id, OMFT, 900, idempotency_key="btc:tx:0")
        gift = alice.sign(verifier, [transfer(bob.account_id, {OMFT: 100})])
        executed = verifier.execute_intents([gift]).ensure_success()
    with Verifier.open(tmp_path, clock=clock, config=config) as verifier:
        assert verifier.deposit(alice.account_id, OMFT, 900, idempotency_key="btc:tx:0") == minted
        assert verifier.mt_balance_of(alice.account_id, OMFT) == 800
        assert verifier.tx_for_intent(intent_hash(gift)) == executed


def test_the_intent_index_names_the_executing_transaction_only(verifier: Verifier) -> None:
    verifier.deposit(alice.account_id, OMFT, 300).ensure_success()
    verifier.deposit(bob.account_id, OMFT, 300).ensure_success()
    one = alice.sign(verifier, [transfer(bob.account_id, {OMFT: 100})])
    two = bob.sign(verifier, [transfer(alice.account_id, {OMFT: 50})])
    record = verifier.execute_intents([one, two]).ensure_success()
    assert verifier.tx_for_intent(intent_hash(one)) == record
    assert verifier.tx_for_intent(intent_hash(two)) == record

    # A rejected batch executed nothing, so indexes nothing (not even its valid first payload).
    fine = alice.sign(verifier, [transfer(bob.account_id, {OMFT: 1})])
    broke = bob.sign(verifier, [transfer(alice.account_id, {OMFT: 10**9})])
    assert verifier.execute_intents([fine, broke]).panic is not None
    assert verifier.tx_for_intent(intent_hash(fine)) is None
    assert verifier.tx_for_intent(intent_hash(broke)) is None

    # Replayed, the executed payload fails on its nonce and keeps pointing at the first tx.
    assert verifier.execute_intents([one]).panic == "nonce was already used"
    assert verifier.tx_for_intent(intent_hash(one)) == record

    # Intents executed with a deposit (`execute_intents` in its msg) are indexed too.
    inline = alice.sign(verifier, [transfer(bob.account_id, {OMFT: 5})])
    msg = {"receiver_id": alice.account_id, "execute_intents": [inline], "refund_if_fails": True}
    deposit = verifier.deposit(alice.account_id, OMFT, 5, json.dumps(msg)).ensure_success()
    assert verifier.tx_for_intent(intent_hash(inline)) == deposit
