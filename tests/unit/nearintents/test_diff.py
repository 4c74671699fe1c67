import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nearintents.diff import (
    I128_MAX,
    MAX_FEE_PIPS,
    DeltaOutOfRangeError,
    DiffOverflowError,
    FeeOutOfRangeError,
    closure,
    closure_many,
    closure_of_unmatched,
    fee_amount,
    fees_collected,
    supply_delta,
    token_fee_pips,
    unmatched,
)
from nearintents.tokens import InvalidTokenId

FT = "nep141:ft.near"
MT = "nep245:mt.near:ft1"
NFT = "nep171:nft.near:1"
IMT = "imt:minter.near:t1"

ONE_PIP = 1
ONE_BIP = 100
ONE_PERCENT = 10_000


# --- fee_amount ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token_id", "delta", "fee", "expected"),
    [
        (FT, -1_000_000, ONE_PIP, 1),
        (FT, -1, ONE_PIP, 1),  # ceil: any non-zero amount pays at least one unit
        (FT, -999_999, ONE_PIP, 1),
        (FT, -1_000_001, ONE_PIP, 2),
        (FT, -1_000, ONE_PERCENT, 10),
        (FT, -1_001, ONE_PERCENT, 11),
        (FT, 1_000, ONE_PERCENT, 0),  # positive deltas never pay
        (FT, -1_000, 0, 0),
        (MT, -1, ONE_PERCENT, 0),  # a lone NEP-245 unit is NFT-like
        (MT, -2, ONE_PERCENT, 1),
        (IMT, -1, ONE_PERCENT, 0),
        (IMT, -200, ONE_PERCENT, 2),
        (NFT, -1, ONE_PERCENT, 0),
        (NFT, -5_000, ONE_PERCENT, 0),
        (FT, -(2**127), MAX_FEE_PIPS, 2**127),
    ],
)
def test_fee_amount(token_id: str, delta: int, fee: int, expected: int) -> None:
    assert fee_amount(token_id, delta, fee) == expected


def test_token_fee_pips_by_standard() -> None:
    assert token_fee_pips(FT, 1, ONE_BIP) == ONE_BIP
    assert token_fee_pips(MT, 1, ONE_BIP) == 0
    assert token_fee_pips(MT, 2, ONE_BIP) == ONE_BIP
    assert token_fee_pips(NFT, 10, ONE_BIP) == 0


@pytest.mark.parametrize("fee", [-1, MAX_FEE_PIPS + 1, True, 1.0])
def test_fee_out_of_range(fee: object) -> None:
    with pytest.raises(FeeOutOfRangeError):
        fee_amount(FT, -1, fee)  # type: ignore[arg-type]


@pytest.mark.parametrize("delta", [2**127, -(2**127) - 1, True, 1.0])
def test_delta_out_of_range(delta: object) -> None:
    with pytest.raises(DeltaOutOfRangeError):
        fee_amount(FT, delta, ONE_PIP)  # type: ignore[arg-type]


def test_bad_token_id_is_rejected() -> None:
    with pytest.raises(InvalidTokenId):
        fee_amount("usdc.near", -1, ONE_PIP)


def test_fees_collected() -> None:
    diff = {FT: -1_001, MT: -1, NFT: -1, "nep141:b.near": 5}
    assert fees_collected(diff, ONE_PERCENT) == {FT: 11}


# --- closure: the worked example and the contract's own cases ---------------------------------


@pytest.mark.parametrize("fee", [0, ONE_PIP, ONE_BIP, 12 * ONE_BIP, ONE_PERCENT, 50 * ONE_PERCENT])
@pytest.mark.parametrize(("x", "y"), [(1_000, 998), (1, 1), (10**24, 3 * 10**6), (999_999, 7)])
def test_worked_example_of_the_protocol_doc(fee: int, x: int, y: int) -> None:
    token_in, token_out = "nep141:usdc.near", "nep141:usdt.near"
    solver = {token_in: x, token_out: -y}
    user = closure(solver, fee)
    # -ceil(X*1e6/(1e6-f)) and Y - ceil(Y*f/1e6), written out independently
    expected_in = -((x * MAX_FEE_PIPS + (MAX_FEE_PIPS - fee) - 1) // (MAX_FEE_PIPS - fee))
    expected_out = y - (y * fee + MAX_FEE_PIPS - 1) // MAX_FEE_PIPS
    expected = {token_in: expected_in}
    if expected_out:
        expected[token_out] = expected_out
    assert user == expected
    assert unmatched([solver, user], fee) == {}


def test_worked_example_numbers() -> None:
    # 1 pip: paying 1,000,001 would cost ceil(1.000001) = 2 units of fee, leaving 999,999 for
    # the solver, so the user must pay 1,000,002; on the way out the solver's 998,000 loses 1.
    solver = {"nep141:usdc.near": 1_000_000, "nep141:usdt.near": -998_000}
    user = closure(solver, ONE_PIP)
    assert user == {"nep141:usdc.near": -1_000_002, "nep141:usdt.near": 997_999}
    assert fee_amount("nep141:usdc.near", -1_000_002, ONE_PIP) == 2
    assert unmatched([solver, user], ONE_PIP) == {}
    # One unit less: credits exceed debits by 1, reported as a positive unmatched delta.
    assert unmatched([solver, {**user, "nep141:usdc.near": -1_000_001}], ONE_PIP) == {
        "nep141:usdc.near": 1
    }


@pytest.mark.parametrize("fee", [0, ONE_PIP, ONE_BIP, ONE_PERCENT, 50 * ONE_PERCENT])
@pytest.mark.parametrize(
    ("token_id", "delta"),
    [
        (FT, 1_000_000),
        (FT, -1_000_000),
        (NFT, 1),
        (NFT, -1),
        (MT, 1_000_000),
        (MT, -1_000_000),
        ("nep245:mt.near:nft1", 1),
        ("nep245:mt.near:nft1", -1),
    ],
)
def test_closure_delta_invariant_like_the_contract(token_id: str, delta: int, fee: int) -> None:
    (closed,) = closure({token_id: delta}, fee).values()
    assert supply_delta(token_id, delta, fee) + supply_delta(token_id, closed, fee) == 0


def test_closure_of_nothing_is_empty() -> None:
    assert closure({}, ONE_BIP) == {}
    assert closure_many([], ONE_BIP) == {}


@pytest.mark.parametrize("fee", [0, ONE_PIP, ONE_BIP, 12 * ONE_BIP, ONE_PERCENT, 50 * ONE_PERCENT])
def test_closure_of_non_overlapping_diffs_is_per_token(fee: int) -> None:
    t1, t2, t3 = "nep141:ft1", "nep141:ft2", "nep141:ft3"
    values = [0, 1, -1, 50, -50, 100, -100, 300, -300, 10_000, -10_000]
    for d1, d2, d3 in itertools.combinations(values, 3):
        together = closure_many([{t1: d1, t2: d2}, {t3: d3}], fee)
        separately = {}
        for token_id, delta in ((t1, d1), (t2, d2), (t3, d3)):
            separately.update(closure({token_id: delta}, fee))
        assert together == separately, (d1, d2, d3)


@pytest.mark.parametrize("fee", [0, ONE_BIP])
def test_arbitrage_means_somebody_loses(fee: int) -> None:
    t1, t2, t3 = "nep141:ft1", "nep141:ft2", "nep141:ft3"
    result = closure_many(
        [{t1: -100, t2: 200}, {t2: -200, t3: 300}, {t3: -300, t1: 101}],
        fee,
    )
    assert result
    assert all(value < 0 for value in result.values())


def test_closure_of_unmatched_deltas_does_not_charge_twice() -> None:
    solver = {FT: 1_000_000, "nep141:b.near": -500_000}
    reported = unmatched([solver], ONE_PERCENT)  # what simulate_intents would report
    assert reported == {FT: 1_000_000, "nep141:b.near": -495_000}
    assert closure_of_unmatched(reported, ONE_PERCENT) == closure(solver, ONE_PERCENT)


def test_closure_overflow_and_full_fee() -> None:
    with pytest.raises(DiffOverflowError):
        closure({FT: I128_MAX}, ONE_PERCENT)  # the gross-up leaves i128
    with pytest.raises(DiffOverflowError):
        closure({FT: 5}, MAX_FEE_PIPS)  # nothing can be delivered at a 100 % fee
    # NFTs pay no fee, so even a 100 % fee closes them.
    assert closure({NFT: 1}, MAX_FEE_PIPS) == {NFT: -1}
    with pytest.raises(DiffOverflowError):
        closure({FT: -(2**127)}, 0)  # -(-2**127) does not fit i128
    with pytest.raises(DiffOverflowError):
        closure_many([{FT: I128_MAX}, {FT: 1}], 0)  # running total overflows like checked_add


def test_unmatched_reports_per_token_net_after_fees() -> None:
    assert unmatched([{FT: -1_000}, {FT: 990}], ONE_PERCENT) == {}
    assert unmatched([{FT: -1_000}, {FT: 991}], ONE_PERCENT) == {FT: 1}
    assert unmatched([{FT: -1_000}, {FT: 989}], ONE_PERCENT) == {FT: -1}
    # A debit of 1 at 1 pip pays its whole unit as fee (ceil), so nothing is left to receive.
    assert unmatched([{FT: -1}], ONE_PIP) == {}
    # Fees apply per intent: two debits of 1 pay 2 units, one debit of 2 pays only 1.
    assert unmatched([{FT: -1}, {FT: -1}, {FT: 1}], ONE_PIP) == {FT: 1}
    assert unmatched([{FT: -2}, {FT: 1}], ONE_PIP) == {}


# --- properties --------------------------------------------------------------------------------

TOKEN_IDS = [
    "nep141:a.near",
    "nep141:b.near",
    "nep141:usdc.omft.near",
    "nep245:mt.near:1",
    "nep245:v2_1.omni.hot.tg:137_x",
    "nep171:nft.near:7",
    "imt:minter.near:gold",
]


def _solver_diffs(max_amount: int) -> st.SearchStrategy[dict[str, int]]:
    amounts = st.integers(min_value=-max_amount, max_value=max_amount).filter(bool)
    small = st.integers(min_value=-3, max_value=3).filter(bool)
    return st.dictionaries(
        st.sampled_from(TOKEN_IDS), st.one_of(amounts, small), min_size=1, max_size=5
    )


def _assert_balances_and_is_least_cost(solver: dict[str, int], fee: int) -> None:
    user = closure(solver, fee)
    # Exact balance under the fee rule: Σ positive + Σ fees = Σ |negative| per token.
    assert unmatched([solver, user], fee) == {}
    for token_id in solver:
        positive = sum(d for d in (solver.get(token_id, 0), user.get(token_id, 0)) if d > 0)
        negative = sum(-d for d in (solver.get(token_id, 0), user.get(token_id, 0)) if d < 0)
        fees = fee_amount(token_id, solver[token_id], fee) + fee_amount(
            token_id, user.get(token_id, 0), fee
        )
        assert positive + fees == negative
    # Least cost: paying one unit less, or receiving one more, no longer balances.
    for token_id, delta in user.items():
        cheaper = dict(user)
        cheaper[token_id] = delta + 1
        assert token_id in unmatched([solver, cheaper], fee)


@given(solver=_solver_diffs(2**126), fee=st.integers(min_value=0, max_value=10_000))
def test_closure_balances_and_is_least_cost(solver: dict[str, int], fee: int) -> None:
    _assert_balances_and_is_least_cost(solver, fee)


@given(
    solver=_solver_diffs(2**127 // MAX_FEE_PIPS),
    fee=st.integers(min_value=10_000, max_value=MAX_FEE_PIPS - 1),
)
def test_closure_balances_at_high_fees(solver: dict[str, int], fee: int) -> None:
    _assert_balances_and_is_least_cost(solver, fee)


@given(solver=_solver_diffs(2**127 - 1), fee=st.integers(min_value=0, max_value=MAX_FEE_PIPS - 1))
def test_closure_either_balances_or_reports_overflow(solver: dict[str, int], fee: int) -> None:
    try:
        user = closure(solver, fee)
    except DiffOverflowError:
        # Only a paying side that must be grossed up beyond i128 can overflow.
        assert any(
            d > 0 and d * MAX_FEE_PIPS // (MAX_FEE_PIPS - fee) > I128_MAX for d in solver.values()
        )
        return
    assert unmatched([solver, user], fee) == {}


@given(
    token_id=st.sampled_from(TOKEN_IDS),
    delta=st.integers(min_value=-(2**127), max_value=-1),
    fee=st.integers(min_value=0, max_value=MAX_FEE_PIPS),
)
def test_supply_delta_is_delta_plus_fee(token_id: str, delta: int, fee: int) -> None:
    paid = fee_amount(token_id, delta, fee)
    assert supply_delta(token_id, delta, fee) == delta + paid
    assert 0 <= paid <= -delta
