"""State survives a restart: a verifier re-opened from its data directory has the same balances,
nonces, salts and transaction records, still rejects replays, and finishes pending payouts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devnet.verifier import ManualClock, Payout, PayoutResult, Verifier, VerifierConfig
from devnet.verifier.testing import Signer, ft_withdraw, token_diff, transfer
from nearintents.diff import closure

USDC = "nep141:usdc.near"
WNEAR = "nep141:wrap.near"
BTC = "nep141:btc.omft.near"
alice = Signer.ed25519("alice")
bob = Signer.ed25519("bob")

pytestmark = pytest.mark.devnet


@dataclass
class BridgeSink:
    down: bool = False
    paid: list[str] = field(default_factory=list)

    def accepts(self, token: str) -> bool:
        return token.endswith(".omft.near")

    def payout(self, payout: Payout) -> PayoutResult:
        if self.down:
            raise ConnectionError("bridge unreachable")
        if payout.id not in self.paid:
            self.paid.append(payout.id)
        return PayoutResult(ok=True)


def test_restart_keeps_everything_and_rejects_replays(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    verifier = Verifier.open(tmp_path, clock=clock, config=VerifierConfig(fee=100))
    verifier.deposit(alice.account_id, USDC, 5_000).ensure_success()
    verifier.deposit(bob.account_id, WNEAR, 5_000).ensure_success()
    bob_diff = {USDC: 1_000, WNEAR: -900}
    swap = [
        bob.sign(verifier, [token_diff(bob_diff)]),
        alice.sign(verifier, [token_diff(closure(bob_diff, 100))]),
    ]
    swapped = verifier.execute_intents(swap).ensure_success()
    pay = [alice.sign(verifier, [transfer(bob.account_id, {USDC: 7})])]
    verifier.execute_intents(pay).ensure_success()
    verifier.update_current_salt().ensure_success()
    before = verifier.dump()
    verifier.close()

    reopened = Verifier.open(tmp_path, clock=clock)
    try:
        assert reopened.dump() == before
        assert reopened.fee() == 100  # stored settings win over the (default) config
        assert reopened.tx(swapped.hash) == swapped
        replay = reopened.execute_intents(swap)
        assert replay.panic == "nonce was already used"
        assert reopened.execute_intents(pay).panic == "nonce was already used"
        assert reopened.mt_balance_of(bob.account_id, USDC) == 1_007
        # New transactions continue the chain.
        assert replay.block_height == swapped.block_height + 3
    finally:
        reopened.close()


def test_a_pending_payout_is_delivered_once_after_a_restart(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    verifier = Verifier.open(tmp_path, clock=clock)
    sink = BridgeSink(down=True)
    verifier.register_sink(sink)
    verifier.deposit(alice.account_id, BTC, 1_000).ensure_success()
    intent = ft_withdraw("btc.omft.near", "btc.omft.near", 300, memo="WITHDRAW_TO:bc1q")
    record = verifier.execute_intents([alice.sign(verifier, [intent])]).ensure_success()
    verifier.close()  # "crash" with the payout undelivered

    reopened = Verifier.open(tmp_path, clock=clock)
    try:
        assert list(reopened.dump()["payout"]) == [f"{record.hash}:1"]
        sink.down = False
        reopened.register_sink(sink)
        assert sink.paid == [f"{record.hash}:1"]
        reopened.deliver_pending_payouts()  # nothing left: no second delivery
        assert sink.paid == [f"{record.hash}:1"]
        assert reopened.mt_balance_of(alice.account_id, BTC) == 700
        final = reopened.tx(record.hash)
        assert final is not None
        assert [r.method for r in final.receipts] == [
            "execute_intents",
            "ft_transfer",
            "ft_resolve_withdraw",
        ]
    finally:
        reopened.close()
