"""The bridge's payout sink without any chain process: withdrawal memos, validation, and
at-least-once delivery (a repeated payout id is answered from the record)."""

from __future__ import annotations

import pytest

from devnet.bridge import PoaBridge
from devnet.bridge.withdrawals import parse_destination
from devnet.chains import InvalidAddress
from devnet.chains.sim import BitcoinChain, XrpChain
from devnet.verifier import Payout, Verifier

BTC_ADDRESS = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
XRP_ADDRESS = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"


def test_withdraw_to_memos() -> None:
    btc, xrp = BitcoinChain(), XrpChain()
    assert parse_destination(btc, f"WITHDRAW_TO:{BTC_ADDRESS}").address == BTC_ADDRESS
    assert parse_destination(xrp, f"WITHDRAW_TO:{XRP_ADDRESS}:7").memo == "7"
    assert parse_destination(xrp, f"WITHDRAW_TO:{XRP_ADDRESS}").memo is None
    for chain, memo in (
        (btc, None),
        (btc, BTC_ADDRESS),
        (btc, f"WITHDRAW_TO:{BTC_ADDRESS}:7"),
        (btc, "WITHDRAW_TO:bc1qnope"),
        (xrp, f"WITHDRAW_TO:{XRP_ADDRESS}:seven"),
    ):
        with pytest.raises(InvalidAddress):
            parse_destination(chain, memo)


def payout(payout_id: str, memo: str | None, *, msg: str | None = None) -> Payout:
    return Payout(
        id=payout_id,
        tx_hash="11111111111111111111111111111111",
        kind="ft",
        token="btc.omft.near",
        owner_id="alice.near",
        receiver_id="btc.omft.near",
        token_ids=(),
        amounts=(50_000,),
        memo=memo,
        msg=msg,
        intent_hash=None,
        block_height=1,
    )


def test_a_repeated_payout_is_answered_from_the_record() -> None:
    with Verifier.open(None) as verifier:
        bridge = PoaBridge(verifier, [BitcoinChain()], seed=b"sink-tests")
        good = payout("tx:0", f"WITHDRAW_TO:{BTC_ADDRESS}")
        first = bridge.sink.payout(good)
        assert first.ok
        assert first.logs
        assert '"event": "ft_burn"' in first.logs[0]
        assert bridge.sink.payout(good) == first
        assert len(bridge.store.withdrawals()) == 1

        assert not bridge.sink.payout(payout("tx:1", "WITHDRAW_TO:nowhere")).ok
        # With msg set the verifier refunds only what is reported unused.
        with_msg = bridge.sink.payout(payout("tx:2", "WITHDRAW_TO:nowhere", msg=""))
        assert (with_msg.ok, with_msg.used) == (True, (0,))
        assert [w.state for w in bridge.store.withdrawals()] == ["ACCEPTED", "REJECTED", "REJECTED"]

        bridge.close()
        assert not bridge.sink.accepts("btc.omft.near")  # a newer bridge takes over
