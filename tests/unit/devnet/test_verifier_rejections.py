"""Each way ``execute_intents`` rejects a payload (PROTOCOL.md §2.10, CONTRACT
``core/src/engine/mod.rs``, ``core/src/error.rs``): the contract's text, and nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from devnet.verifier import ManualClock, Verifier, VerifierError
from devnet.verifier.testing import SECOND_NS, Signer, token_diff, transfer

USDC = "nep141:usdc.near"
WNEAR = "nep141:wrap.near"
STATE_TABLES = ("bal", "supply", "nonce", "account", "pk", "salt")

alice = Signer.ed25519("alice")
bob = Signer.ed25519("bob")


def state_of(verifier: Verifier) -> dict[str, dict[str, str]]:
    tables = verifier.dump()
    return {name: tables.get(name, {}) for name in STATE_TABLES}


@pytest.fixture
def funded(verifier: Verifier) -> Verifier:
    verifier.deposit(alice.account_id, USDC, 1_000).ensure_success()
    verifier.deposit(bob.account_id, WNEAR, 500).ensure_success()
    return verifier


def rejected(verifier: Verifier, signed: list[dict[str, Any]]) -> str:
    """Execute ``signed``, assert it failed without changing state, return the error text."""
    before = state_of(verifier)
    record = verifier.execute_intents(signed)
    assert not record.succeeded
    assert state_of(verifier) == before
    assert record.logs == []  # a failed receipt emits no events
    with pytest.raises(VerifierError) as raised:
        verifier.simulate_intents(signed)
    assert str(raised.value) == record.panic
    assert record.panic is not None
    return record.panic


def test_a_valid_transfer_moves_the_balance(funded: Verifier) -> None:
    record = funded.execute_intents([alice.sign(funded, [transfer(bob.account_id, {USDC: 10})])])
    record.ensure_success()
    assert funded.mt_balance_of(alice.account_id, USDC) == 990
    assert funded.mt_balance_of(bob.account_id, USDC) == 10


def test_replayed_nonce(funded: Verifier) -> None:
    signed = [alice.sign(funded, [transfer(bob.account_id, {USDC: 10})])]
    funded.execute_intents(signed).ensure_success()
    assert rejected(funded, signed) == "nonce was already used"
    assert funded.mt_balance_of(bob.account_id, USDC) == 10


def test_the_same_nonce_twice_in_one_batch(funded: Verifier) -> None:
    payload = alice.payload(funded, [transfer(bob.account_id, {USDC: 1})])
    first = alice.sign_payload(payload)
    second = alice.sign_payload({**payload, "intents": [transfer(bob.account_id, {USDC: 2})]})
    assert rejected(funded, [first, second]) == "nonce was already used"


def test_expired_deadline(funded: Verifier, clock: ManualClock) -> None:
    deadline = clock.now_ns() - 1
    signed = [alice.sign(funded, [], deadline_ns=deadline)]
    assert rejected(funded, signed) == "deadline has expired"


def test_a_deadline_equal_to_the_block_time_is_still_valid(
    funded: Verifier, clock: ManualClock
) -> None:
    funded.execute_intents([alice.sign(funded, [], deadline_ns=clock.now_ns())]).ensure_success()


def test_expired_nonce(funded: Verifier, clock: ManualClock) -> None:
    # A nonce deadline in the past with a live intent deadline: the contract checks
    # `deadline > nonce deadline` before the nonce expiry, so that is the error it reports.
    # (`nonce was already expired` cannot be reached through execute_intents: an expired nonce
    # deadline implies an expired intent deadline or a deadline beyond the nonce's.)
    now = clock.now_ns()
    signed = [alice.sign(funded, [], deadline_ns=now + SECOND_NS, nonce_deadline_ns=now - 1)]
    assert rejected(funded, signed) == "deadline is greater than nonce"
    # Both expired: the intent deadline is checked first.
    signed = [alice.sign(funded, [], deadline_ns=now - 2, nonce_deadline_ns=now - 1)]
    assert rejected(funded, signed) == "deadline has expired"


def test_nonce_that_expires_after_signing(funded: Verifier, clock: ManualClock) -> None:
    signed = [alice.sign(funded, [])]
    clock.advance(seconds=3600)
    assert rejected(funded, signed) == "deadline has expired"


def test_deadline_beyond_the_nonce_deadline(funded: Verifier, clock: ManualClock) -> None:
    now = clock.now_ns()
    signed = [
        alice.sign(funded, [], deadline_ns=now + 2 * SECOND_NS, nonce_deadline_ns=now + SECOND_NS)
    ]
    assert rejected(funded, signed) == "deadline is greater than nonce"


def test_invalid_salt(funded: Verifier) -> None:
    signed = [alice.sign(funded, [], salt="deadbeef")]
    assert rejected(funded, signed) == "invalid salt"


def test_wrong_verifying_contract(funded: Verifier) -> None:
    signed = [alice.sign(funded, [], verifying_contract="staging-intents.near")]
    assert rejected(funded, signed) == "wrong verifying_contract"


def test_unknown_key(funded: Verifier) -> None:
    signed = [bob.sign(funded, [transfer(bob.account_id, {USDC: 1})], signer_id=alice.account_id)]
    assert rejected(funded, signed) == (
        f"public key '{bob.public_key}' doesn't exist for account '{alice.account_id}'"
    )


def test_named_account_without_keys(funded: Verifier) -> None:
    signed = [alice.sign(funded, [], signer_id="alice.near")]
    assert rejected(funded, signed) == (
        f"public key '{alice.public_key}' doesn't exist for account 'alice.near'"
    )


def test_invalid_signature(funded: Verifier) -> None:
    signed = alice.sign(funded, [transfer(bob.account_id, {USDC: 1})])
    forged = bob.sign_payload(alice.payload(funded, []))
    signed["signature"] = forged["signature"]
    assert rejected(funded, [signed]) == "invalid signature"


def test_insufficient_balance(funded: Verifier) -> None:
    signed = [alice.sign(funded, [transfer(bob.account_id, {USDC: 1_001})])]
    assert rejected(funded, signed) == "insufficient balance or overflow"


@pytest.mark.parametrize(
    "intent",
    [
        transfer(alice.account_id, {USDC: 1}),  # to self
        transfer(bob.account_id, {}),  # nothing
        transfer(bob.account_id, {USDC: 0}),  # zero amount
        token_diff({}),
        token_diff({USDC: 0}),
    ],
    ids=["transfer-to-self", "empty-transfer", "zero-transfer", "empty-diff", "zero-delta"],
)
def test_invalid_intents(funded: Verifier, intent: dict[str, Any]) -> None:
    assert rejected(funded, [alice.sign(funded, [intent])]) == "invalid intent"


def test_unknown_intent_kind(funded: Verifier) -> None:
    text = rejected(funded, [alice.sign(funded, [{"intent": "teleport"}])])
    assert text.startswith("JSON: unknown variant `teleport`")


def test_amount_that_is_not_a_string(funded: Verifier) -> None:
    intent = {"intent": "transfer", "receiver_id": bob.account_id, "tokens": {USDC: 5}}
    assert rejected(funded, [alice.sign(funded, [intent])]).startswith("JSON: invalid type")


def test_not_a_multipayload(funded: Verifier) -> None:
    assert rejected(funded, [{"standard": "nep999"}]) == "Failed to deserialize input from JSON."


def test_unmatched_deltas_exact_map(funded: Verifier) -> None:
    signed = [alice.sign(funded, [token_diff({USDC: -100, WNEAR: 50})])]
    out = funded.simulate_intents(signed)
    assert out["invariant_violated"] == {
        "error": "unmatched_deltas",
        "unmatched_deltas": {USDC: "-100", WNEAR: "50"},
    }
    before = state_of(funded)
    record = funded.execute_intents(signed)
    assert record.panic == (
        'invariant violated: {"error":"unmatched_deltas","unmatched_deltas":'
        '{"nep141:usdc.near":"-100","nep141:wrap.near":"50"}}'
    )
    assert state_of(funded) == before


def test_unmatched_deltas_are_ordered_like_the_contracts_token_ids(funded: Verifier) -> None:
    # BTreeMap<TokenId> order: standard first, then contract id, then the inner id.
    diff = {"nep245:a.near-b:x": 5, "nep245:a.near:y": 7, "nep141:z.near": 9}
    out = funded.simulate_intents([alice.sign(funded, [token_diff(diff)])])
    assert list(out["invariant_violated"]["unmatched_deltas"]) == [
        "nep141:z.near",
        "nep245:a.near:y",
        "nep245:a.near-b:x",
    ]


def test_a_batch_whose_second_payload_fails_changes_nothing(funded: Verifier) -> None:
    first = alice.sign(funded, [transfer(bob.account_id, {USDC: 100})])
    # bob spends more wNEAR than he has: fails after alice's payload already ran.
    second = bob.sign(funded, [transfer(alice.account_id, {WNEAR: 501})])
    before = state_of(funded)
    record = funded.execute_intents([first, second])
    assert record.panic == "insufficient balance or overflow"
    assert state_of(funded) == before
    assert not funded.is_nonce_used(alice.account_id, first["payload"]["nonce"])
    assert funded.mt_balance_of(alice.account_id, USDC) == 1_000
    # Both payloads still execute once the second is fixed.
    fixed = bob.sign(funded, [transfer(alice.account_id, {WNEAR: 500})])
    funded.execute_intents([first, fixed]).ensure_success()
    assert funded.mt_balance_of(bob.account_id, USDC) == 100
    assert funded.mt_balance_of(alice.account_id, WNEAR) == 500
