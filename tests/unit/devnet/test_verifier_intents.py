"""The less common intent kinds and their follow-up calls: ``mt_withdraw``/``nft_withdraw``
refunds, ``transfer`` with ``msg``, ``storage_deposit``, ``auth_call``, and u128 overflow."""

from __future__ import annotations

from typing import Any

from devnet.verifier import Verifier
from devnet.verifier.amounts import U128_MAX
from devnet.verifier.events import parse_log
from devnet.verifier.near_tokens import ONE_NEAR, STORAGE_BALANCE
from devnet.verifier.testing import Signer, transfer

USDC = "nep141:usdc.near"
WNEAR = "nep141:wrap.near"
alice = Signer.ed25519("alice")
bob = Signer.ed25519("bob")


def event(line: str) -> dict[str, Any]:
    parsed = parse_log(line)
    assert parsed is not None
    return parsed


def test_mt_withdraw_to_a_missing_contract_is_refunded(verifier: Verifier) -> None:
    verifier.mt_on_transfer("mt.near", alice.account_id, ["a", "b"], [10, 5]).ensure_success()
    intent = {
        "intent": "mt_withdraw",
        "token": "mt.near",
        "receiver_id": "x.near",
        "token_ids": ["a", "b"],
        "amounts": ["4", "5"],
    }
    record = verifier.execute_intents([alice.sign(verifier, [intent])]).ensure_success()
    burn = event(record.receipts[0].logs[-1])
    assert burn["event"] == "mt_burn"
    assert burn["data"][0]["token_ids"] == ["nep245:mt.near:a", "nep245:mt.near:b"]
    refund = event(record.receipts[-1].logs[0])
    assert refund["data"] == [
        {
            "owner_id": alice.account_id,
            "token_ids": ["nep245:mt.near:a", "nep245:mt.near:b"],
            "amounts": ["4", "5"],
            "memo": "refund",
        }
    ]
    assert verifier.mt_batch_balance_of(
        alice.account_id, ["nep245:mt.near:a", "nep245:mt.near:b"]
    ) == [10, 5]


def test_mt_withdraw_with_mismatched_lengths_is_invalid(verifier: Verifier) -> None:
    verifier.mt_on_transfer("mt.near", alice.account_id, ["a"], [10]).ensure_success()
    intent = {
        "intent": "mt_withdraw",
        "token": "mt.near",
        "receiver_id": "x.near",
        "token_ids": ["a"],
        "amounts": ["1", "2"],
    }
    assert verifier.execute_intents([alice.sign(verifier, [intent])]).panic == "invalid intent"


def test_nft_withdraw_without_receiver_contract_comes_back(verifier: Verifier) -> None:
    verifier.nft_on_transfer("nft.near", alice.account_id, "7").ensure_success()
    intent = {
        "intent": "nft_withdraw",
        "token": "nft.near",
        "receiver_id": "x.near",
        "token_id": "7",
    }
    verifier.execute_intents([alice.sign(verifier, [intent])]).ensure_success()
    assert verifier.mt_balance_of(alice.account_id, "nep171:nft.near:7") == 1


def test_transfer_with_msg_is_refunded_when_the_receiver_has_no_contract(
    verifier: Verifier,
) -> None:
    verifier.deposit(alice.account_id, USDC, 50).ensure_success()
    intent = transfer(bob.account_id, {USDC: 20}, msg="swap please")
    record = verifier.execute_intents([alice.sign(verifier, [intent])]).ensure_success()
    assert [r.method for r in record.receipts] == [
        "execute_intents",
        "mt_on_transfer",
        "mt_resolve_transfer",
    ]
    refund = event(record.receipts[2].logs[0])
    assert refund["data"] == [
        {
            "old_owner_id": bob.account_id,
            "new_owner_id": alice.account_id,
            "token_ids": [USDC],
            "amounts": ["20"],
            "memo": "refund",
        }
    ]
    assert verifier.mt_balance_of(alice.account_id, USDC) == 50
    # The simulation stops at the contract's own effects: the receiver keeps it there.
    out = verifier.simulate_intents([alice.sign(verifier, [intent])])
    assert event(out["logs"][0])["event"] == "transfer"


def test_storage_deposit_intent_pays_from_wnear(verifier: Verifier) -> None:
    verifier.deposit(alice.account_id, WNEAR, ONE_NEAR).ensure_success()
    intent = {
        "intent": "storage_deposit",
        "contract_id": "usdc.near",
        "account_id": "new.near",
        "amount": str(STORAGE_BALANCE),
    }
    record = verifier.execute_intents([alice.sign(verifier, [intent])]).ensure_success()
    logged = event(record.receipts[0].logs[0])
    assert logged["event"] == "storage_deposit"
    assert logged["data"][0]["deposit_for_account_id"] == "new.near"  # the alias is normalised
    assert [r.method for r in record.receipts[1:]] == ["near_withdraw", "storage_deposit"]
    assert verifier.mt_balance_of(alice.account_id, WNEAR) == ONE_NEAR - STORAGE_BALANCE
    assert verifier.native_balance("usdc.near") == STORAGE_BALANCE


def test_auth_call_spends_its_deposit_even_though_the_call_fails(verifier: Verifier) -> None:
    verifier.deposit(alice.account_id, WNEAR, 100).ensure_success()
    intent = {
        "intent": "auth_call",
        "contract_id": "app.near",
        "msg": "hi",
        "attached_deposit": "60",
    }
    record = verifier.execute_intents([alice.sign(verifier, [intent])]).ensure_success()
    assert record.receipts[-1].method == "on_auth"
    assert record.receipts[-1].failed
    assert verifier.mt_balance_of(alice.account_id, WNEAR) == 40


def test_balances_never_overflow_u128(verifier: Verifier) -> None:
    verifier.ft_on_transfer("btc.omft.near", alice.account_id, U128_MAX).ensure_success()
    record = verifier.ft_on_transfer("btc.omft.near", bob.account_id, 1)
    assert record.panic == "insufficient balance or overflow"  # the total supply would overflow
    assert verifier.mt_balance_of(bob.account_id, "nep141:btc.omft.near") == 0
