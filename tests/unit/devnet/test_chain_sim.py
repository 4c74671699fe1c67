"""The simulated ledgers (Bitcoin, the XRP-style memo chain): address and memo validation,
blocks, confirmations, reorgs, idempotent broadcasts and persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from devnet.chains import NATIVE, InsufficientFunds, InvalidAddress, TxState, Unsupported
from devnet.chains.keys import label_indices
from devnet.chains.sim import (
    BitcoinChain,
    XrpChain,
    validate_btc_address,
    validate_destination_tag,
    validate_xrp_address,
)

SEED = b"sim-ledger-tests"


@pytest.mark.parametrize(
    "address",
    [
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",  # BIP-173 P2WPKH vector
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
        "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",  # BIP-350 P2TR
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",  # P2PKH
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",  # P2SH
    ],
)
def test_valid_bitcoin_addresses(address: str) -> None:
    assert validate_btc_address(address) in (address, address.lower())


@pytest.mark.parametrize(
    "address",
    [
        "",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",  # bad checksum
        "Bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",  # mixed case
        "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",  # testnet
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3",
        "0x1111111111111111111111111111111111111111",
    ],
)
def test_malformed_bitcoin_addresses_are_rejected(address: str) -> None:
    with pytest.raises(InvalidAddress):
        validate_btc_address(address)


def test_xrp_addresses_and_destination_tags() -> None:
    assert validate_xrp_address("rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh")
    for bad in ("rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTi", "xHb9", "", "bc1q"):
        with pytest.raises(InvalidAddress):
            validate_xrp_address(bad)
    assert validate_destination_tag("4294967295") == "4294967295"
    for bad in ("4294967296", "01", "-1", "1.0", " 1", ""):
        with pytest.raises(InvalidAddress):
            validate_destination_tag(bad)
    with pytest.raises(InvalidAddress):
        BitcoinChain().validate_memo("1")


def test_wallets_are_deterministic_per_label() -> None:
    btc = BitcoinChain()
    assert btc.wallet(SEED, "a") == btc.wallet(SEED, "a")
    assert btc.wallet(SEED, "a") != btc.wallet(SEED, "b")
    assert btc.wallet(SEED, "a").address.startswith("bc1q")
    assert XrpChain().wallet(SEED, "a").address.startswith("r")
    assert all(0 <= i < 2**31 for i in label_indices("deposit:alice.near"))


async def test_transfers_confirmations_and_a_reorg_that_drops_a_transaction() -> None:
    btc = BitcoinChain()
    alice, bob = btc.wallet(SEED, "alice"), btc.wallet(SEED, "bob")
    await btc.fund(alice.address, NATIVE, 1_000)
    sent = await btc.send(alice, bob.address, NATIVE, 400)
    status = await btc.tx_status(sent)
    assert status.state is TxState.INCLUDED
    assert status.block_hash == await btc.block_hash(status.block_height or 0)
    [transfer] = await btc.transfers([bob.address], 0, await btc.head())
    assert (transfer.tx_hash, transfer.sender, transfer.amount) == (sent, alice.address, 400)
    with pytest.raises(InsufficientFunds):
        await btc.send(alice, bob.address, NATIVE, 601)

    old_hash = await btc.block_hash(await btc.head())
    await btc.reorg(1)
    assert await btc.block_hash(await btc.head()) != old_hash
    assert (await btc.tx_status(sent)).state is TxState.UNKNOWN
    assert await btc.balance(bob.address, NATIVE) == 0
    assert await btc.balance(alice.address, NATIVE) == 1_000
    with pytest.raises(Unsupported):
        await btc.reorg(100)
    await btc.aclose()


async def test_a_prepared_transaction_lands_once_however_often_it_is_broadcast() -> None:
    xrp = XrpChain(automine=False)
    payer, dest = xrp.wallet(SEED, "payer"), xrp.wallet(SEED, "dest")
    await xrp.fund(payer.address, NATIVE, 10_000)
    await xrp.mine()  # no automine: the faucet payment waits for a block too
    prepared = await xrp.prepare(payer, dest.address, NATIVE, 3_000, "12", key="payout-1")
    again = await xrp.prepare(payer, dest.address, NATIVE, 3_000, "12", key="payout-1")
    assert prepared.tx_hash == again.tx_hash
    assert len(prepared.tx_hash) == 64
    assert prepared.tx_hash == prepared.tx_hash.upper()
    await xrp.broadcast(prepared)
    await xrp.broadcast(prepared)
    assert (await xrp.tx_status(prepared.tx_hash)).state is TxState.PENDING
    assert await xrp.balance(dest.address, NATIVE) == 0  # not in a block yet
    await xrp.mine()
    await xrp.broadcast(again)
    assert await xrp.balance(dest.address, NATIVE) == 3_000
    [transfer] = await xrp.transfers([dest.address], 0, await xrp.head())
    assert transfer.memo == "12"
    await xrp.aclose()


async def test_a_ledger_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "btc.sqlite3"
    btc = BitcoinChain(path=path)
    alice = btc.wallet(SEED, "alice")
    await btc.fund(alice.address, NATIVE, 5_000)
    head, head_hash = await btc.head(), await btc.block_hash(await btc.head())
    await btc.aclose()

    reopened = BitcoinChain(path=path)
    assert await reopened.head() == head
    assert await reopened.block_hash(head) == head_hash
    assert await reopened.balance(alice.address, NATIVE) == 5_000
    await reopened.aclose()
