"""Solana on LiteSVM: SOL and SPL transfers read back from the ledger, memos, blockhash expiry of
prepared transactions, and state restored after a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from devnet.chains import NATIVE, InsufficientFunds, InvalidAddress, TxExpired, TxState
from devnet.chains.solana import USDC_MINT, SolanaChain, validate_solana_address

SEED = b"solana-tests"


def test_address_validation() -> None:
    assert validate_solana_address(USDC_MINT) == USDC_MINT
    for bad in ("", "0x1111111111111111111111111111111111111111", USDC_MINT + "1", "Il0O"):
        with pytest.raises(InvalidAddress):
            validate_solana_address(bad)


async def test_sol_and_spl_transfers_with_a_memo_and_expiry(tmp_path: Path) -> None:
    path = tmp_path / "sol.sqlite3"
    sol = SolanaChain(path=path)
    alice, bob = sol.wallet(SEED, "alice"), sol.wallet(SEED, "bob")
    await sol.fund(alice.address, NATIVE, 10**9)
    await sol.fund(alice.address, USDC_MINT, 7_000_000)
    spl = await sol.send(alice, bob.address, USDC_MINT, 2_000_000, memo="hello")
    native = await sol.send(alice, bob.address, NATIVE, 10**8)
    transfers = await sol.transfers([bob.address], 0, await sol.head())
    assert [(t.tx_hash, t.asset, t.sender, t.amount, t.memo) for t in transfers] == [
        (spl, USDC_MINT, alice.address, 2_000_000, "hello"),
        (native, NATIVE, alice.address, 10**8, None),
    ]
    with pytest.raises(InsufficientFunds):
        await sol.prepare(alice, bob.address, USDC_MINT, 5_000_001, None, key="")

    prepared = await sol.prepare(alice, bob.address, NATIVE, 10**7, None, key="")
    await sol.mine()
    with pytest.raises(TxExpired):
        await sol.broadcast(prepared)
    assert (await sol.tx_status(prepared.tx_hash)).state is TxState.UNKNOWN
    await sol.aclose()

    restored = SolanaChain(path=path)
    assert await restored.balance(bob.address, USDC_MINT) == 2_000_000
    assert await restored.balance(bob.address, NATIVE) == 10**8
    assert (await restored.tx_status(spl)).state is TxState.INCLUDED
    await restored.send(bob, alice.address, USDC_MINT, 1)
    assert await restored.balance(alice.address, USDC_MINT) == 5_000_001
    await restored.aclose()
