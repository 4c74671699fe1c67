"""Signed NEAR transactions on the devnet (issue 16 step 2): the borsh decoding against
near-api-js's published vectors (tests/fixtures/near_tx_vectors.json), then access keys, nonces
and the actions the devnet models, executed under the transaction's own hash."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import py_near_primitives as npp  # type: ignore[import-untyped]
import pytest

from devnet.chains.near.gas import GAS_PRICE, upfront_cost
from devnet.chains.near.transactions import (
    FunctionCall,
    InvalidTransaction,
    Transfer,
    decode_signed_transaction,
)
from devnet.verifier import ManualClock, Verifier, VerifierConfig
from devnet.verifier.near_tokens import ONE_NEAR, STORAGE_BALANCE, FtConfig
from nearintents.encoding import b58decode, b58encode
from nearintents.keys import Ed25519SecretKey

VECTORS = json.loads((Path(__file__).parents[2] / "fixtures" / "near_tx_vectors.json").read_text())
TRANSFER = VECTORS["transfer"]
USDC = "nep141:usdc.near"


def test_the_near_api_js_signed_transfer_decodes_and_verifies() -> None:
    tx = decode_signed_transaction(bytes.fromhex(TRANSFER["signed_hex"]))
    assert (tx.signer_id, tx.nonce, tx.receiver_id) == ("test.near", 1, "whatever.near")
    assert tx.public_key_text == TRANSFER["public_key"]
    assert b58encode(tx.block_hash) == TRANSFER["block_hash"]
    assert tx.actions == (Transfer(1),)
    unsigned = bytes.fromhex(TRANSFER["unsigned_hex"])
    assert bytes.fromhex(TRANSFER["signed_hex"]).startswith(unsigned)
    assert tx.hash == b58encode(hashlib.sha256(unsigned).digest())


def test_a_tampered_signature_is_refused() -> None:
    data = bytearray(bytes.fromhex(TRANSFER["signed_hex"]))
    data[-1] ^= 1
    with pytest.raises(InvalidTransaction, match="does not verify") as caught:
        decode_signed_transaction(bytes(data))
    assert caught.value.kind == "InvalidSignature"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (bytes.fromhex(TRANSFER["signed_hex"]) + b"\x00", "Malformed"),
        (bytes.fromhex(TRANSFER["signed_hex"])[:-1], "Malformed"),
        (bytes.fromhex(VECTORS["multi_action_unsigned_hex"]) + bytes(65), "ActionsValidation"),
    ],
)
def test_what_the_devnet_cannot_read_is_refused(data: bytes, kind: str) -> None:
    with pytest.raises(InvalidTransaction) as caught:
        decode_signed_transaction(data)
    assert caught.value.kind == kind


class Wallet:
    """A NEAR account with a full access key, signing with nearcore's own types."""

    def __init__(self, account_id: str, seed: str) -> None:
        self.account_id = account_id
        self.key = Ed25519SecretKey(hashlib.sha256(seed.encode()).digest())
        self.public_key = "ed25519:" + b58encode(self.key.public_key.data)
        self.nonce = 0

    def sign(self, receiver_id: str, action: Any, *, nonce: int | None = None) -> bytes:
        self.nonce = nonce if nonce is not None else self.nonce + 1
        tx = npp.Transaction(self.account_id, self.key.public_key.data, self.nonce, receiver_id,
                             b58decode(TRANSFER["block_hash"]), [action])  # fmt: skip
        signature = self.key.sign(hashlib.sha256(bytes(tx.serialize())).digest()).data
        return bytes(npp.SignedTransaction(signature, tx).serialize())


def call(method: str, args: dict[str, Any], deposit: int = 0) -> Any:
    return npp.FunctionCallAction(method, json.dumps(args).encode(), 30 * 10**12, deposit)


@pytest.fixture
def chain(clock: ManualClock) -> Iterator[Verifier]:
    tokens = (
        FtConfig("wrap.near", "wNEAR", 24, storage_required=True),
        FtConfig("usdc.near", "USDC", 6, storage_required=True),
    )
    with Verifier.open(clock=clock, config=VerifierConfig(tokens=tokens)) as v:
        yield v


@pytest.fixture
def alice(chain: Verifier) -> Wallet:
    wallet = Wallet("alice.near", "alice")
    chain.faucet_near(wallet.account_id, 10 * ONE_NEAR).ensure_success()
    chain.add_access_key(wallet.account_id, wallet.public_key).ensure_success()
    chain.storage_deposit(wallet.account_id, "usdc.near").ensure_success()
    chain.faucet_ft("usdc.near", wallet.account_id, 1_000).ensure_success()
    return wallet


def test_ft_transfer_call_into_intents_credits_the_verifier_account(
    chain: Verifier, alice: Wallet
) -> None:
    msg = "a" * 64  # the deposit msg form: the receiving account id
    args = {"receiver_id": chain.account_id, "amount": "400", "msg": msg}
    data = alice.sign("usdc.near", call("ft_transfer_call", args, 1))
    record = chain.submit_transaction(data)
    record.ensure_success()
    assert record.hash == decode_signed_transaction(data).hash
    assert chain.tx(record.hash) is not None
    assert chain.mt_balance_of(msg, USDC) == 400
    assert chain.ft_balance_of("usdc.near", alice.account_id) == 600
    assert chain.access_key_nonce(alice.account_id, alice.public_key) == 1
    again = chain.submit_transaction(data)  # the same bytes: the same outcome, once
    assert again.hash == record.hash
    assert chain.mt_balance_of(msg, USDC) == 400


def test_nonces_must_grow_and_keys_must_exist(chain: Verifier, alice: Wallet) -> None:
    first = alice.sign("usdc.near", call("ft_transfer", {"receiver_id": "x", "amount": "1"}, 1))
    failed = chain.submit_transaction(first)
    assert failed.panic  # x is not registered: it still used nonce 1, and burnt its gas
    assert failed.tokens_burnt == failed.gas_burnt * GAS_PRICE > 0
    assert chain.access_key_nonce(alice.account_id, alice.public_key) == 1
    reused = alice.sign("wrap.near", call("near_deposit", {}, ONE_NEAR), nonce=1)
    with pytest.raises(InvalidTransaction, match="must be larger") as caught:
        chain.submit_transaction(reused)
    assert caught.value.kind == "InvalidNonce"
    stranger = Wallet("alice.near", "not alice's key")
    with pytest.raises(InvalidTransaction, match="doesn't have access key") as caught:
        chain.submit_transaction(stranger.sign("wrap.near", call("near_deposit", {}, 1)))
    assert caught.value.kind == "InvalidAccessKeyError"
    # the failed call's yoctoNEAR came back with its receipt; only its gas was spent
    spent = STORAGE_BALANCE + failed.tokens_burnt
    assert chain.native_balance(alice.account_id) == 10 * ONE_NEAR - spent


def test_gas_is_burnt_from_the_signer_and_a_signer_that_cannot_pay_is_refused(
    chain: Verifier, alice: Wallet
) -> None:
    """nearcore charges the signer gas at the gas price; a signer whose balance is below the
    upfront cost (prepaid gas and deposit) is refused with ``NotEnoughBalance``, nothing
    recorded and no nonce used."""
    poor = Wallet("poor.near", "poor")
    chain.faucet_near(poor.account_id, 10**21).ensure_success()  # 0.001 NEAR < 30 Tgas' 0.003
    chain.add_access_key(poor.account_id, poor.public_key).ensure_success()
    data = poor.sign("wrap.near", call("near_deposit", {}, 1))
    with pytest.raises(InvalidTransaction, match="does not have enough balance") as caught:
        chain.submit_transaction(data)
    assert caught.value.kind == "NotEnoughBalance"
    cost = upfront_cost(decode_signed_transaction(data))
    assert caught.value.detail == {"signer_id": "poor.near", "balance": str(10**21),
                                   "cost": str(cost)}  # fmt: skip
    assert chain.tx(decode_signed_transaction(data).hash) is None
    assert chain.access_key_nonce(poor.account_id, poor.public_key) == 0
    assert chain.native_balance(poor.account_id) == 10**21
    # a transfer's upfront cost is small: it goes through and burns its gas
    before = chain.native_balance(alice.account_id)
    sent = chain.submit_transaction(alice.sign("d" * 64, npp.TransferAction(ONE_NEAR)))
    sent.ensure_success()
    assert sent.gas_burnt == 2 * (108_059_500_000 + 115_123_062_500)
    assert chain.native_balance(alice.account_id) == before - ONE_NEAR - sent.tokens_burnt


def test_ft_transfer_needs_one_yocto_and_a_registered_receiver(
    chain: Verifier, alice: Wallet
) -> None:
    args = {"receiver_id": "shop.near", "amount": "40"}
    assert chain.submit_transaction(
        alice.sign("usdc.near", call("ft_transfer", args, 0))
    ).panic == ("Requires attached deposit of exactly 1 yoctoNEAR")
    bounced = chain.submit_transaction(alice.sign("usdc.near", call("ft_transfer", args, 1)))
    assert bounced.panic == "The account shop.near is not registered"
    register = call("storage_deposit", {"account_id": "shop.near"}, STORAGE_BALANCE)
    chain.submit_transaction(alice.sign("usdc.near", register)).ensure_success()
    chain.submit_transaction(alice.sign("usdc.near", call("ft_transfer", args, 1))).ensure_success()
    assert chain.ft_balance_of("usdc.near", "shop.near") == 40


def test_wrap_and_unwrap_near(chain: Verifier, alice: Wallet) -> None:
    register = call("storage_deposit", {}, STORAGE_BALANCE)
    chain.submit_transaction(alice.sign("wrap.near", register)).ensure_success()
    chain.submit_transaction(alice.sign("wrap.near", call("near_deposit", {}, ONE_NEAR)))
    assert chain.ft_balance_of("wrap.near", alice.account_id) == ONE_NEAR
    withdraw = call("near_withdraw", {"amount": str(ONE_NEAR // 4)}, 1)
    chain.submit_transaction(alice.sign("wrap.near", withdraw)).ensure_success()
    assert chain.ft_balance_of("wrap.near", alice.account_id) == ONE_NEAR * 3 // 4


@pytest.mark.parametrize(("receiver", "created"), [("c" * 64, True), ("nobody.near", False)])
def test_a_transfer_creates_only_implicit_accounts(
    chain: Verifier, alice: Wallet, receiver: str, created: bool
) -> None:
    record = chain.submit_transaction(alice.sign(receiver, npp.TransferAction(ONE_NEAR)))
    assert (record.panic is None) is created
    assert chain.native_balance(receiver) == (ONE_NEAR if created else 0)
    assert record.tokens_burnt > 0  # a failed transfer burns its gas too


def test_the_decoded_actions_are_what_was_signed() -> None:
    wallet = Wallet("bob.near", "bob")
    data = wallet.sign("usdc.near", call("ft_transfer", {"amount": "5"}, 1))
    tx = decode_signed_transaction(data)
    assert tx.actions == (FunctionCall("ft_transfer", b'{"amount": "5"}', 30 * 10**12, 1),)
    assert base64.b64encode(data)  # what send_tx carries
