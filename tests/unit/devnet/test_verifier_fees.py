"""The protocol fee on ``token_diff`` (PROTOCOL.md §2.12): a solver/user pair closed with
``nearintents.diff.closure`` settles, the collector gets exactly the fee, off-by-one fails."""

from __future__ import annotations

import pytest

from devnet.verifier import Verifier, VerifierError
from devnet.verifier.events import parse_log
from devnet.verifier.testing import Signer, token_diff
from nearintents.diff import closure, fee_amount

USDC = "nep141:usdc.near"
WNEAR = "nep141:wrap.near"
FEE = 100  # pips = 0.01 %

user = Signer.ed25519("user")
solver = Signer.ed25519("solver")


@pytest.fixture
def market(verifier: Verifier) -> Verifier:
    verifier.set_fee(FEE).ensure_success()
    verifier.deposit(user.account_id, USDC, 10_000_000).ensure_success()
    verifier.deposit(solver.account_id, WNEAR, 10_000_000).ensure_success()
    return verifier


def test_set_fee_emits_fee_changed_and_refuses_the_same_value(market: Verifier) -> None:
    assert market.fee() == FEE
    record = market.set_fee(FEE)
    assert record.panic == "same"
    logs = market.set_fee(1).ensure_success().logs
    assert parse_log(logs[0]) == {
        "standard": "dip4",
        "version": "0.3.0",
        "event": "fee_changed",
        "data": {"old_fee": FEE, "new_fee": 1},
    }


def test_a_closed_pair_settles_and_the_collector_gets_exactly_the_fee(market: Verifier) -> None:
    solver_diff = {USDC: 1_000_000, WNEAR: -499_999}
    user_diff = closure(solver_diff, FEE)
    # The worked example of §2.12: the user pays the gross-up and receives net of the fee.
    assert user_diff == {USDC: -1_000_101, WNEAR: 499_949}
    signed = [
        solver.sign(market, [token_diff(solver_diff)]),
        user.sign(market, [token_diff(user_diff)]),
    ]
    assert "invariant_violated" not in market.simulate_intents(signed)
    record = market.execute_intents(signed).ensure_success()

    usdc_fee = fee_amount(USDC, user_diff[USDC], FEE)
    wnear_fee = fee_amount(WNEAR, solver_diff[WNEAR], FEE)
    assert (usdc_fee, wnear_fee) == (101, 50)
    collector = market.fee_collector()
    assert market.mt_balance_of(collector, USDC) == usdc_fee
    assert market.mt_balance_of(collector, WNEAR) == wnear_fee
    assert market.mt_balance_of(user.account_id, USDC) == 10_000_000 - 1_000_101
    assert market.mt_balance_of(user.account_id, WNEAR) == 499_949
    assert market.mt_balance_of(solver.account_id, USDC) == 1_000_000
    assert market.mt_balance_of(solver.account_id, WNEAR) == 10_000_000 - 499_999

    events = [parse_log(line) for line in record.logs]
    diffs = [e for e in events if e and e["event"] == "token_diff"]
    assert [d["data"][0]["fees_collected"] for d in diffs] == [
        {WNEAR: str(wnear_fee)},
        {USDC: str(usdc_fee)},
    ]
    transfers = next(e for e in events if e and e["event"] == "mt_transfer")
    moved = {
        (t["old_owner_id"], t["new_owner_id"], tid): int(a)
        for t in transfers["data"]
        for tid, a in zip(t["token_ids"], t["amounts"], strict=True)
    }
    assert moved[(user.account_id, collector, USDC)] == usdc_fee
    assert moved[(solver.account_id, collector, WNEAR)] == wnear_fee


@pytest.mark.parametrize(("token", "nudge"), [(USDC, 1), (WNEAR, 1)])
def test_an_off_by_one_closure_is_rejected(market: Verifier, token: str, nudge: int) -> None:
    solver_diff = {USDC: 1_000_000, WNEAR: -499_999}
    user_diff = closure(solver_diff, FEE)
    user_diff[token] += nudge  # pays one less, or asks for one more
    signed = [
        solver.sign(market, [token_diff(solver_diff)]),
        user.sign(market, [token_diff(user_diff)]),
    ]
    out = market.simulate_intents(signed)
    assert out["invariant_violated"] == {
        "error": "unmatched_deltas",
        "unmatched_deltas": {token: str(nudge)},
    }
    with pytest.raises(VerifierError, match=r"^invariant violated"):
        market.execute_intents(signed).ensure_success()


def test_nft_like_deltas_pay_no_fee(market: Verifier) -> None:
    nft = "nep171:nft.near:1"
    market.deposit(solver.account_id, nft, 1).ensure_success()
    signed = [
        solver.sign(market, [token_diff({nft: -1, USDC: 1_000})]),
        user.sign(market, [token_diff(closure({nft: -1, USDC: 1_000}, FEE))]),
    ]
    market.execute_intents(signed).ensure_success()
    assert market.mt_balance_of(user.account_id, nft) == 1
    assert market.mt_balance_of(market.fee_collector(), nft) == 0
