"""``cleanup_nonces`` (near/intents contracts/defuse/src/contract/garbage_collector.rs): the
GarbageCollector role (or the DAO) clears used versioned nonces once their deadline has passed or
their salt is no longer valid; everything else is silently skipped. After that ``is_nonce_used``
is false for a nonce that WAS used: only its deadline keeps the intent from running again."""

from __future__ import annotations

import os

from devnet.verifier import ManualClock, Verifier
from devnet.verifier.testing import SECOND_NS, Signer, transfer
from devnet.verifier.verifier import DEFAULT_DAO, DEFAULT_GARBAGE_COLLECTOR
from nearintents.encoding import b64encode
from nearintents.nonce import fresh_versioned_nonce

USDC = "nep141:usdc.near"
alice = Signer.ed25519("alice")
bob = Signer.ed25519("bob")


def _spend(verifier: Verifier, *, nonce: bytes) -> str:
    signed = alice.sign(verifier, [transfer(bob.account_id, {USDC: 1})], nonce=nonce)
    verifier.execute_intents([signed]).ensure_success()
    return b64encode(nonce)


def _used(verifier: Verifier, nonce: str) -> bool:
    return verifier.is_nonce_used(alice.account_id, nonce)


def test_only_expired_or_invalid_salt_versioned_nonces_are_cleaned(
    verifier: Verifier, clock: ManualClock
) -> None:
    verifier.deposit(alice.account_id, USDC, 100).ensure_success()
    now = clock.now_ns()
    salt = bytes.fromhex(verifier.current_salt())
    soon = _spend(verifier, nonce=fresh_versioned_nonce(salt, now + 120 * SECOND_NS))
    later = _spend(verifier, nonce=fresh_versioned_nonce(salt, now + 3600 * SECOND_NS))
    legacy = _spend(verifier, nonce=os.urandom(32))
    old_salt = _spend(verifier, nonce=fresh_versioned_nonce(salt, now + 7200 * SECOND_NS))
    clock.advance(seconds=121)

    record = verifier.cleanup_nonces([(alice.account_id, [soon, later, legacy])])
    assert record.succeeded
    assert record.logs == []  # the contract emits no event for it
    assert not _used(verifier, soon)  # used, deadline passed: collected
    assert _used(verifier, later)  # deadline still ahead
    assert _used(verifier, legacy)  # legacy nonces are never collected

    verifier.invalidate_salts([salt.hex()]).ensure_success()
    verifier.cleanup_nonces([(alice.account_id, [old_salt])], signer_id=DEFAULT_DAO)
    assert not _used(verifier, old_salt)  # its salt is no longer valid


def test_cleanup_needs_the_role_and_one_yocto(verifier: Verifier, clock: ManualClock) -> None:
    verifier.deposit(alice.account_id, USDC, 10).ensure_success()
    salt = bytes.fromhex(verifier.current_salt())
    nonce = _spend(verifier, nonce=fresh_versioned_nonce(salt, clock.now_ns() + 61 * SECOND_NS))
    clock.advance(seconds=62)
    refused = verifier.cleanup_nonces([(alice.account_id, [nonce])], signer_id="mallory.near")
    assert refused.panic == (
        "Insufficient permissions for method cleanup_nonces restricted by access control. "
        'Requires one of these roles: ["DAO", "GarbageCollector"]'
    )
    no_yocto = verifier.cleanup_nonces([(alice.account_id, [nonce])], deposit=0)
    assert no_yocto.panic == "Requires attached deposit of exactly 1 yoctoNEAR"
    assert _used(verifier, nonce)
    # Unknown accounts and malformed nonces are skipped, not errors.
    ok = verifier.cleanup_nonces([("nobody.near", [nonce]), (alice.account_id, ["bad", nonce])])
    assert ok.succeeded
    assert not _used(verifier, nonce)


def test_the_collector_pass_finds_every_cleanable_nonce(
    verifier: Verifier, clock: ManualClock
) -> None:
    verifier.deposit(alice.account_id, USDC, 10).ensure_success()
    salt = bytes.fromhex(verifier.current_salt())
    gone = _spend(verifier, nonce=fresh_versioned_nonce(salt, clock.now_ns() + 61 * SECOND_NS))
    kept = _spend(verifier, nonce=fresh_versioned_nonce(salt, clock.now_ns() + 600 * SECOND_NS))
    assert verifier.collect_garbage() is None  # nothing expired yet
    clock.advance(seconds=62)
    record = verifier.collect_garbage()
    assert record is not None
    assert record.signer_id == DEFAULT_GARBAGE_COLLECTOR
    assert (not _used(verifier, gone), _used(verifier, kept)) == (True, True)
    assert verifier.collect_garbage() is None
