"""Accounts in the verifier: public keys (implicit and added), auth by predecessor, locks and
salts (CONTRACT ``contracts/defuse/src/contract/accounts``, ``state/salt_registry.rs``)."""

from __future__ import annotations

from devnet.verifier import ManualClock, Verifier
from devnet.verifier.events import parse_log
from devnet.verifier.testing import SECOND_NS, Signer, transfer

USDC = "nep141:usdc.near"
alice = Signer.ed25519("alice")
bob = Signer.ed25519("bob")
eve = Signer.secp256k1("eve")
second_key = Signer.ed25519("alice-second")


def test_implicit_accounts_own_their_key(verifier: Verifier) -> None:
    assert verifier.has_public_key(alice.account_id, alice.public_key)
    assert verifier.public_keys_of(alice.account_id) == [alice.public_key]
    # EVM-style implicit accounts own their key too, but it cannot be listed from the id.
    assert verifier.has_public_key(eve.account_id, eve.public_key)
    assert verifier.public_keys_of(eve.account_id) == []
    verifier.execute_intents([eve.sign(verifier, [])]).ensure_success()


def test_add_and_remove_keys_by_intent(verifier: Verifier) -> None:
    add = {"intent": "add_public_key", "public_key": second_key.public_key}
    record = verifier.execute_intents([alice.sign(verifier, [add])]).ensure_success()
    added = parse_log(record.logs[0])
    assert added is not None
    assert added["event"] == "public_key_added"
    assert added["data"]["public_key"] == second_key.public_key
    assert "intent_hash" in added["data"]
    as_alice = Signer(second_key.key, alice.account_id)
    # The second key signs for alice and removes alice's implicit key.
    remove = {"intent": "remove_public_key", "public_key": alice.public_key}
    verifier.execute_intents([as_alice.sign(verifier, [remove])]).ensure_success()
    assert verifier.public_keys_of(alice.account_id) == [second_key.public_key]
    record = verifier.execute_intents([alice.sign(verifier, [])])
    assert record.panic == (
        f"public key '{alice.public_key}' doesn't exist for account '{alice.account_id}'"
    )
    # Re-adding the implicit key clears the removal flag.
    readd = {"intent": "add_public_key", "public_key": alice.public_key}
    verifier.execute_intents([as_alice.sign(verifier, [readd])]).ensure_success()
    verifier.execute_intents([alice.sign(verifier, [])]).ensure_success()


def test_adding_an_existing_key_and_removing_a_missing_one_fail(verifier: Verifier) -> None:
    add = {"intent": "add_public_key", "public_key": alice.public_key}
    assert verifier.execute_intents([alice.sign(verifier, [add])]).panic == (
        f"public key '{alice.public_key}' already exists for account '{alice.account_id}'"
    )
    remove = {"intent": "remove_public_key", "public_key": bob.public_key}
    assert verifier.execute_intents([alice.sign(verifier, [remove])]).panic == (
        f"public key '{bob.public_key}' doesn't exist for account '{alice.account_id}'"
    )


def test_named_accounts_register_keys_by_direct_call(verifier: Verifier) -> None:
    carol = Signer(alice.key, "carol.near")
    assert verifier.execute_intents([carol.sign(verifier, [])]).panic is not None
    record = verifier.add_public_key("carol.near", alice.public_key).ensure_success()
    event = parse_log(record.logs[0])
    assert event is not None
    assert "intent_hash" not in event["data"]  # a function call, not an intent
    verifier.execute_intents([carol.sign(verifier, [])]).ensure_success()
    assert verifier.public_keys_of("carol.near") == [alice.public_key]


def test_auth_by_predecessor_can_be_disabled_and_reenabled(verifier: Verifier) -> None:
    verifier.deposit("dave.near", USDC, 10).ensure_success()
    verifier.add_public_key("dave.near", alice.public_key).ensure_success()
    verifier.disable_auth_by_predecessor_id("dave.near").ensure_success()
    assert verifier.view("is_auth_by_predecessor_id_enabled", {"account_id": "dave.near"}) is False
    record = verifier.ft_withdraw("dave.near", "usdc.near", "dave.near", 5)
    assert record.panic == "authentication by PREDECESSOR_ID is disabled for account 'dave.near'"
    dave = Signer(alice.key, "dave.near")
    enable = {"intent": "set_auth_by_predecessor_id", "enabled": True}
    logs = verifier.execute_intents([dave.sign(verifier, [enable])]).ensure_success().logs
    event = parse_log(logs[0])
    assert event is not None
    assert event["event"] == "set_auth_by_predecessor_id"
    verifier.ft_withdraw("dave.near", "usdc.near", "dave.near", 5).ensure_success()
    assert verifier.ft_balance_of("usdc.near", "dave.near") == 5


def test_a_locked_account_cannot_sign_but_can_receive(verifier: Verifier) -> None:
    verifier.deposit(alice.account_id, USDC, 10).ensure_success()
    verifier.force_lock_account(bob.account_id).ensure_success()
    assert verifier.execute_intents([bob.sign(verifier, [])]).panic == (
        f"account '{bob.account_id}' is locked"
    )
    send = [alice.sign(verifier, [transfer(bob.account_id, {USDC: 3})])]
    verifier.execute_intents(send).ensure_success()
    assert verifier.mt_balance_of(bob.account_id, USDC) == 3


def test_salt_rotation_keeps_the_old_salt_valid(verifier: Verifier) -> None:
    old = verifier.current_salt()
    new = verifier.update_current_salt().ensure_success().value
    assert new != old
    assert verifier.is_valid_salt(old)
    assert verifier.is_valid_salt(new)
    verifier.execute_intents([alice.sign(verifier, [], salt=old)]).ensure_success()
    assert verifier.simulate_intents([])["state"]["current_salt"] == new


def test_salt_grace_window(verifier: Verifier, clock: ManualClock) -> None:
    old = verifier.current_salt()
    verifier.update_current_salt(grace_ns=10 * SECOND_NS)
    signed = [alice.sign(verifier, [], salt=old, deadline_ns=clock.now_ns() + 30 * SECOND_NS)]
    clock.advance(seconds=10)
    assert verifier.is_valid_salt(old)
    clock.advance(seconds=1)
    assert not verifier.is_valid_salt(old)
    assert verifier.execute_intents(signed).panic == "invalid salt"


def test_invalidated_salts(verifier: Verifier) -> None:
    old = verifier.current_salt()
    signed = [alice.sign(verifier, [])]
    record = verifier.invalidate_salts([old, "00000000"]).ensure_success()
    current = record.value
    assert current == verifier.current_salt() != old
    assert not verifier.is_valid_salt(old)
    assert verifier.execute_intents(signed).panic == "invalid salt"
    assert parse_log(record.logs[0]) == {
        "standard": "dip4",
        "version": "0.4.0",
        "event": "salt_rotation",
        "data": {"current": current, "invalidated": [old]},
    }
