"""Tokens in and out of the verifier: deposits with every ``msg`` form (PROTOCOL.md §2.3),
withdrawals to the NEAR-side ledger and to a payout sink, refunds, and the events of §2.13."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from devnet.verifier import ManualClock, Payout, PayoutResult, Verifier, VerifierConfig
from devnet.verifier.chain import Receipt
from devnet.verifier.events import ft_burn, parse_log
from devnet.verifier.near_tokens import ONE_NEAR, STORAGE_BALANCE, FtConfig
from devnet.verifier.testing import Signer, ft_withdraw, token_diff, transfer

USDC = "nep141:usdc.near"
WNEAR = "nep141:wrap.near"
BTC = "nep141:btc.omft.near"
alice = Signer.ed25519("alice")
bob = Signer.ed25519("bob")


def _value(receipt: Receipt) -> object:
    return json.loads(base64.b64decode(receipt.status["SuccessValue"]))


def events(logs: list[str]) -> list[tuple[str, str]]:
    parsed = [parse_log(line) for line in logs]
    return [(e["standard"], e["event"]) for e in parsed if e is not None]


def test_deposit_to_the_sender_emits_mt_mint(verifier: Verifier) -> None:
    verifier.faucet_ft("usdc.near", "user.near", 100).ensure_success()
    record = verifier.ft_transfer_call("user.near", "usdc.near", verifier.account_id, 60)
    record.ensure_success()
    assert record.value == "60"  # ft_resolve_transfer: all used
    assert parse_log(record.logs[1]) == {
        "standard": "nep245",
        "version": "1.0.0",
        "event": "mt_mint",
        "data": [
            {"owner_id": "user.near", "token_ids": [USDC], "amounts": ["60"], "memo": "deposit"}
        ],
    }
    assert verifier.mt_balance_of("user.near", USDC) == 60
    assert verifier.ft_balance_of("usdc.near", "user.near") == 40
    assert verifier.ft_balance_of("usdc.near", verifier.account_id) == 60


@pytest.mark.parametrize(
    "msg", ["bob.near", json.dumps({"receiver_id": "bob.near"})], ids=["account", "json"]
)
def test_deposit_to_another_account(verifier: Verifier, msg: str) -> None:
    verifier.deposit("user.near", USDC, 5, msg=msg).ensure_success()
    assert verifier.mt_balance_of("bob.near", USDC) == 5
    assert verifier.mt_balance_of("user.near", USDC) == 0


def test_a_bad_msg_refunds_the_deposit(verifier: Verifier) -> None:
    record = verifier.deposit("user.near", USDC, 5, msg="Not An Account")
    assert record.succeeded  # the transfer call itself; the deposit receipt failed
    assert record.value == "0"
    assert any(r.failed for r in record.receipts)
    assert verifier.ft_balance_of("usdc.near", "user.near") == 5
    assert verifier.mt_balance_of("user.near", USDC) == 0


def test_deposit_and_execute_with_refund_if_fails(verifier: Verifier) -> None:
    verifier.faucet_ft("usdc.near", alice.account_id, 100).ensure_success()
    swap = alice.sign(verifier, [transfer(bob.account_id, {USDC: 30})])
    msg = json.dumps(
        {"receiver_id": alice.account_id, "execute_intents": [swap], "refund_if_fails": True}
    )
    record = verifier.ft_transfer_call(
        alice.account_id, "usdc.near", verifier.account_id, 100, msg
    ).ensure_success()
    # One receipt: mint, the batch's events, then intents_executed and mt_transfer.
    assert events(record.receipts[1].logs) == [
        ("nep245", "mt_mint"),
        ("dip4", "transfer"),
        ("dip4", "intents_executed"),
        ("nep245", "mt_transfer"),
    ]
    assert verifier.mt_balance_of(bob.account_id, USDC) == 30
    assert verifier.mt_balance_of(alice.account_id, USDC) == 70
    # Replayed: the batch fails, so the whole deposit is refunded on the token.
    verifier.faucet_ft("usdc.near", alice.account_id, 50).ensure_success()
    record = verifier.ft_transfer_call(alice.account_id, "usdc.near", verifier.account_id, 50, msg)
    assert record.value == "0"
    assert record.receipts[1].panic == "nonce was already used"
    assert verifier.ft_balance_of("usdc.near", alice.account_id) == 50
    assert verifier.mt_balance_of(alice.account_id, USDC) == 70


def test_deposit_and_execute_detached_keeps_the_deposit(verifier: Verifier) -> None:
    failing = alice.sign(verifier, [transfer(bob.account_id, {USDC: 1_000})])
    msg = json.dumps({"receiver_id": alice.account_id, "execute_intents": [failing]})
    record = verifier.deposit(alice.account_id, USDC, 100, msg=msg).ensure_success()
    assert record.value == "100"
    detached = next(r for r in record.receipts if r.method == "execute_intents")
    assert detached.panic == "insufficient balance or overflow"
    assert verifier.mt_balance_of(alice.account_id, USDC) == 100


def test_deposit_with_notify_msg_is_refunded(verifier: Verifier) -> None:
    msg = json.dumps({"receiver_id": "app.near", "msg": "hello"})
    record = verifier.deposit("user.near", USDC, 7, msg=msg).ensure_success()
    assert record.value == "0"  # the receiver has no contract: everything comes back
    assert verifier.mt_balance_of("app.near", USDC) == 0
    assert verifier.ft_balance_of("usdc.near", "user.near") == 7


def test_zero_and_nft_deposits(verifier: Verifier) -> None:
    assert verifier.ft_on_transfer("btc.omft.near", "user.near", 0).receipts[0].panic == (
        "zero amount"
    )
    verifier.nft_on_transfer("nft.near", "user.near", "42").ensure_success()
    again = verifier.nft_on_transfer("nft.near", "other.near", "42")
    assert again.panic == "NFT 'nep171:nft.near:42' is already deposited"


def test_ft_withdraw_pays_out_on_the_near_ledger(verifier: Verifier) -> None:
    verifier.deposit(alice.account_id, USDC, 100).ensure_success()
    verifier.faucet_near("shop.near", ONE_NEAR).ensure_success()
    verifier.storage_deposit("shop.near", "usdc.near").ensure_success()  # NEP-145 registration
    signed = [alice.sign(verifier, [ft_withdraw("usdc.near", "shop.near", 40, memo="order 7")])]
    record = verifier.execute_intents(signed).ensure_success()
    main = record.receipts[0]
    assert events(main.logs) == [
        ("dip4", "ft_withdraw"),
        ("dip4", "intents_executed"),
        ("nep245", "mt_burn"),
    ]
    withdraw = parse_log(main.logs[0])
    assert withdraw is not None
    assert withdraw["data"][0]["amount"] == "40"
    assert withdraw["data"][0]["memo"] == "order 7"
    burn = parse_log(main.logs[2])
    assert burn is not None
    assert burn["data"][0]["memo"] == "withdraw"
    assert [r.method for r in record.receipts[1:]] == ["ft_transfer", "ft_resolve_withdraw"]
    assert verifier.ft_balance_of("usdc.near", "shop.near") == 40
    assert verifier.mt_balance_of(alice.account_id, USDC) == 60


@pytest.fixture
def strict(clock: ManualClock) -> Iterator[Verifier]:
    """USDC requires NEP-145 storage registration, as on mainnet."""
    tokens = (
        FtConfig("wrap.near", "wNEAR", 24, storage_required=True),
        FtConfig("usdc.near", "USDC", 6, storage_required=True),
    )
    with Verifier.open(clock=clock, config=VerifierConfig(tokens=tokens)) as v:
        for token in ("wrap.near", "usdc.near"):
            v.faucet_near("user.near", ONE_NEAR).ensure_success()
            v.storage_deposit("user.near", token).ensure_success()
        v.deposit("user.near", USDC, 100).ensure_success()
        v.near_deposit("user.near", ONE_NEAR // 2).ensure_success()
        v.ft_transfer_call("user.near", "wrap.near", v.account_id, ONE_NEAR // 2).ensure_success()
        yield v


def test_failed_payout_without_msg_is_refunded(strict: Verifier) -> None:
    user = Signer(alice.key, "user.near")
    strict.add_public_key("user.near", alice.public_key).ensure_success()
    signed = [user.sign(strict, [ft_withdraw("usdc.near", "shop.near", 40)])]
    record = strict.execute_intents(signed).ensure_success()
    transfer_receipt, resolve = record.receipts[1:]
    assert transfer_receipt.panic == "The account shop.near is not registered"
    assert parse_log(resolve.logs[0]) == {
        "standard": "nep245",
        "version": "1.0.0",
        "event": "mt_mint",
        "data": [
            {"owner_id": "user.near", "token_ids": [USDC], "amounts": ["40"], "memo": "refund"}
        ],
    }
    assert resolve.status == {"SuccessValue": "IjAi"}  # "0" used
    assert strict.mt_balance_of("user.near", USDC) == 100


def test_failed_payout_with_msg_is_not_refunded(strict: Verifier) -> None:
    user = Signer(alice.key, "user.near")
    strict.add_public_key("user.near", alice.public_key).ensure_success()
    signed = [user.sign(strict, [ft_withdraw("usdc.near", "shop.near", 40, msg="")])]
    strict.execute_intents(signed).ensure_success()
    assert strict.mt_balance_of("user.near", USDC) == 60
    # The tokens stay with the verifier on the token contract (as on mainnet).
    assert strict.ft_balance_of("usdc.near", strict.account_id) == 100


def test_withdraw_with_storage_deposit_registers_the_receiver(strict: Verifier) -> None:
    user = Signer(alice.key, "user.near")
    strict.add_public_key("user.near", alice.public_key).ensure_success()
    intent = ft_withdraw("usdc.near", "shop.near", 40, storage_deposit=str(STORAGE_BALANCE))
    record = strict.execute_intents([user.sign(strict, [intent])]).ensure_success()
    assert [r.method for r in record.receipts[1:]] == [
        "near_withdraw",
        "storage_deposit",
        "ft_transfer",
        "ft_resolve_withdraw",
    ]
    assert strict.ft_balance_of("usdc.near", "shop.near") == 40
    assert strict.mt_balance_of("user.near", WNEAR) == ONE_NEAR // 2 - STORAGE_BALANCE


@pytest.mark.parametrize(
    ("msg", "kept"), [("take-my-money", 40), ("15", 25), ("", 0), ("nonsense", 0)]
)
def test_ft_transfer_call_withdrawal_to_the_receiver_example(
    strict: Verifier, msg: str, kept: int
) -> None:
    """``ft_withdraw`` with ``msg`` and ``storage_deposit`` to a fresh, unregistered account
    running near-sdk-rs' test-contract-defi: it keeps what its ``ft_on_transfer`` does not
    return; ``ft_resolve_transfer`` takes the rest back and ``ft_resolve_withdraw`` credits it
    to the signer (mt_mint memo refund)."""
    user = Signer(alice.key, "user.near")
    strict.add_public_key("user.near", alice.public_key).ensure_success()
    strict.deploy_ft_receiver("defi.near", "usdc.near", ONE_NEAR).ensure_success()
    intent = ft_withdraw("usdc.near", "defi.near", 40, msg=msg,
                         storage_deposit=str(STORAGE_BALANCE))  # fmt: skip
    record = strict.execute_intents([user.sign(strict, [intent])]).ensure_success()
    assert [r.method for r in record.receipts[1:]] == [
        "near_withdraw", "storage_deposit", "ft_transfer_call", "ft_on_transfer",
        "ft_resolve_transfer", "ft_resolve_withdraw",
    ]  # fmt: skip
    assert strict.ft_balance_of("usdc.near", "defi.near") == kept
    assert strict.mt_balance_of("user.near", USDC) == 60 + (40 - kept)
    assert strict.ft_is_registered("usdc.near", "defi.near")  # the storage deposit stays
    assert _value(record.receipts[-1]) == str(kept)  # ft_resolve_withdraw: the amount used


def test_ft_transfer_call_to_an_account_without_code_comes_back(strict: Verifier) -> None:
    """The receiver cannot take it (no ``ft_on_transfer``): everything comes back to the
    signer, nothing is lost."""
    user = Signer(alice.key, "user.near")
    strict.add_public_key("user.near", alice.public_key).ensure_success()
    implicit = "e" * 64
    intent = ft_withdraw("usdc.near", implicit, 40, msg="take-my-money",
                         storage_deposit=str(STORAGE_BALANCE))  # fmt: skip
    record = strict.execute_intents([user.sign(strict, [intent])]).ensure_success()
    assert strict.ft_balance_of("usdc.near", implicit) == 0
    assert strict.mt_balance_of("user.near", USDC) == 100
    assert _value(record.receipts[-1]) == "0"


def test_native_withdraw_unwraps_and_sends_near(strict: Verifier) -> None:
    user = Signer(alice.key, "user.near")
    strict.add_public_key("user.near", alice.public_key).ensure_success()
    strict.faucet_near("cold.near", 1).ensure_success()  # a named account must exist
    intent = {"intent": "native_withdraw", "receiver_id": "cold.near", "amount": str(ONE_NEAR // 4)}
    record = strict.execute_intents([user.sign(strict, [intent])]).ensure_success()
    assert events(record.receipts[0].logs)[0] == ("dip4", "native_withdraw")
    assert strict.native_balance("cold.near") == ONE_NEAR // 4 + 1
    assert strict.mt_balance_of("user.near", WNEAR) == ONE_NEAR // 4


@pytest.mark.parametrize(("receiver", "delivered"), [("a" * 64, True), ("nobody.near", False)])
def test_native_withdraw_creates_only_implicit_accounts(
    strict: Verifier, receiver: str, delivered: bool
) -> None:
    """nearcore: a Transfer creates an implicit account; to a missing named one it fails, and
    intents.near does not refund a failed native_withdraw (tokens/nep141/native.rs)."""
    user = Signer(alice.key, "user.near")
    strict.add_public_key("user.near", alice.public_key).ensure_success()
    intent = {"intent": "native_withdraw", "receiver_id": receiver, "amount": str(ONE_NEAR // 4)}
    record = strict.execute_intents([user.sign(strict, [intent])]).ensure_success()
    [transfer] = [r for r in record.receipts if r.method == "transfer"]
    assert transfer.executor_id == receiver
    assert transfer.failed is not delivered
    assert strict.native_balance(receiver) == (ONE_NEAR // 4 if delivered else 0)
    assert strict.mt_balance_of("user.near", WNEAR) == ONE_NEAR // 4


@dataclass
class RecordingSink:
    """A bridge-like payout sink: accepts omft tokens, remembers what it paid."""

    ok: bool = True
    broken: bool = False
    paid: dict[str, Payout] = field(default_factory=dict)

    def accepts(self, token: str) -> bool:
        return token.endswith(".omft.near")

    def payout(self, payout: Payout) -> PayoutResult:
        if self.ok and not self.broken:
            self.paid.setdefault(payout.id, payout)
        if self.broken:
            raise ConnectionError("the bridge is down")
        burn = ft_burn(payout.receiver_id, payout.amounts[0], payout.memo)
        return PayoutResult(ok=self.ok, logs=(burn,) if self.ok else ())


def test_withdrawals_of_bridge_tokens_go_to_the_sink(verifier: Verifier) -> None:
    sink = RecordingSink()
    verifier.register_sink(sink)
    verifier.deposit(alice.account_id, BTC, 1_000).ensure_success()
    intent = ft_withdraw("btc.omft.near", "btc.omft.near", 600, memo="WITHDRAW_TO:bc1qxyz")
    signed = [alice.sign(verifier, [intent])]
    record = verifier.execute_intents(signed).ensure_success()
    (payout,) = sink.paid.values()
    assert (payout.kind, payout.token, payout.amounts, payout.memo) == (
        "ft",
        "btc.omft.near",
        (600,),
        "WITHDRAW_TO:bc1qxyz",
    )
    assert payout.owner_id == alice.account_id
    assert payout.tx_hash == record.hash
    executed = parse_log(record.receipts[0].logs[1])
    assert executed is not None
    assert payout.intent_hash == executed["data"][0]["intent_hash"]
    assert [r.method for r in record.receipts[1:]] == ["ft_transfer", "ft_resolve_withdraw"]
    assert events(record.receipts[1].logs) == [("nep141", "ft_burn")]
    assert verifier.mt_balance_of(alice.account_id, BTC) == 400
    assert verifier.dump().get("payout", {}) == {}


def test_a_failing_payout_is_refunded(verifier: Verifier) -> None:
    verifier.register_sink(RecordingSink(ok=False))
    verifier.deposit(alice.account_id, BTC, 1_000).ensure_success()
    intent = ft_withdraw("btc.omft.near", "btc.omft.near", 100)
    record = verifier.execute_intents([alice.sign(verifier, [intent])]).ensure_success()
    assert record.receipts[1].failed
    assert verifier.mt_balance_of(alice.account_id, BTC) == 1_000


def test_without_a_sink_the_token_contract_does_not_exist(verifier: Verifier) -> None:
    verifier.deposit(alice.account_id, BTC, 1_000).ensure_success()
    intent = ft_withdraw("btc.omft.near", "btc.omft.near", 100)
    record = verifier.execute_intents([alice.sign(verifier, [intent])]).ensure_success()
    assert record.receipts[1].failed
    assert verifier.mt_balance_of(alice.account_id, BTC) == 1_000


def test_an_undelivered_payout_stays_pending_until_delivered(verifier: Verifier) -> None:
    sink = RecordingSink(broken=True)
    verifier.register_sink(sink)
    verifier.deposit(alice.account_id, BTC, 1_000).ensure_success()
    intent = ft_withdraw("btc.omft.near", "btc.omft.near", 100)
    record = verifier.execute_intents([alice.sign(verifier, [intent])]).ensure_success()
    assert list(verifier.dump()["payout"]) == [f"{record.hash}:1"]
    assert verifier.mt_balance_of(alice.account_id, BTC) == 900  # burnt, not refunded
    sink.broken = False
    verifier.deliver_pending_payouts()
    assert list(sink.paid) == [f"{record.hash}:1"]
    assert verifier.dump().get("payout", {}) == {}
    completed = verifier.tx(record.hash)
    assert completed is not None
    assert [r.method for r in completed.receipts[1:]] == ["ft_transfer", "ft_resolve_withdraw"]
    assert verifier.mt_balance_of(alice.account_id, BTC) == 900


def test_events_of_a_mixed_batch_in_contract_order(verifier: Verifier) -> None:
    verifier.deposit(alice.account_id, USDC, 100).ensure_success()
    verifier.deposit(bob.account_id, WNEAR, 100).ensure_success()
    signed = [
        alice.sign(
            verifier,
            [token_diff({USDC: -50, WNEAR: 50}), ft_withdraw("usdc.near", "alice.near", 10)],
        ),
        bob.sign(
            verifier,
            [
                token_diff({USDC: 50, WNEAR: -50}),
                transfer(alice.account_id, {WNEAR: 5}, memo="tip"),
            ],
        ),
    ]
    logs = verifier.execute_intents(signed).ensure_success().receipts[0].logs
    assert events(logs) == [
        ("dip4", "token_diff"),
        ("dip4", "ft_withdraw"),
        ("dip4", "token_diff"),
        ("dip4", "transfer"),
        ("dip4", "intents_executed"),
        ("nep245", "mt_transfer"),
        ("nep245", "mt_burn"),
    ]
    executed = parse_log(logs[4])
    assert executed is not None
    assert [e["account_id"] for e in executed["data"]] == [alice.account_id, bob.account_id]
    tip = parse_log(logs[3])
    assert tip is not None
    assert tip["data"][0]["memo"] == "tip"
