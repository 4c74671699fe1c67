"""The devnet relay's fee reconciliation (:mod:`devnet.relay.fees`): the channel's side it reports,
signed verbatim against the solver's raw diff, balances the contract's invariant exactly
(``Σ positive + Σ fees = Σ |negative|`` per token) and keeps the request's exact amount exact."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devnet.relay.fees import NoSolverAmount, least_gross, net, solver_request, user_amounts
from devnet.relay.quotes import QuoteCollection, SolverQuote
from nearintents.diff import unmatched
from nearintents.rpc.relay import QuoteRequest

FT_IN, FT_OUT = "nep141:a.near", "nep141:b.near"
MT = "nep245:mt.near:item"  # a lone unit of a NEP-245 token pays no fee (TokenDiff::token_fee)
FEES = st.one_of(st.sampled_from([0, 1, 100, 10_000]), st.integers(0, 999_999))
TOKENS = st.sampled_from([(FT_IN, FT_OUT), (FT_IN, MT), (MT, FT_OUT)])


def _request(token_in: str, token_out: str, **amount: int) -> QuoteRequest:
    return QuoteRequest(defuse_asset_identifier_in=token_in, defuse_asset_identifier_out=token_out,
                        **amount)  # fmt: skip


def test_the_examples_of_the_issue() -> None:
    # 1 pip on 20 000 000 units: ceil(20) = 20 units of fee on each side.
    assert net(FT_IN, 20_000_000, 1) == 19_999_980
    assert least_gross(FT_IN, 19_999_980, 1) == 20_000_000
    assert net(FT_IN, 20_000_001, 1) == 19_999_980  # ceil(20.000001) = 21: a step of 0
    assert least_gross(FT_IN, 19_999_981, 1) == 20_000_002
    # 100 pips: the least Y whose net is 1 000 000.
    assert least_gross(FT_OUT, 1_000_000, 100) == 1_000_101
    assert net(FT_OUT, 1_000_100, 100) == 999_999
    assert net(FT_OUT, 1_000_101, 100) == 1_000_000
    assert least_gross(MT, 1, 100) == 1  # no fee on a single NEP-245 unit


@given(FEES, st.integers(1, 10**30), TOKENS)
def test_least_gross_is_the_exact_least_preimage(fee, target, tokens) -> None:
    token = tokens[0]
    gross = least_gross(token, target, fee)
    assert net(token, gross, fee) == target
    assert gross == 1 or net(token, gross - 1, fee) < target


def test_a_full_fee_or_a_dust_input_asks_nothing() -> None:
    with pytest.raises(NoSolverAmount):
        least_gross(FT_OUT, 5, 1_000_000)
    with pytest.raises(NoSolverAmount):
        solver_request(_request(FT_IN, FT_OUT, exact_amount_in=1), 1)  # ceil(1e-6) = 1: nothing


@given(FEES, st.integers(1, 10**30), st.integers(1, 10**6), st.integers(1, 10**6), TOKENS)
def test_exact_in_settles_and_stays_exact(fee, amount, num, den, tokens) -> None:
    token_in, token_out = tokens
    request = _request(token_in, token_out, exact_amount_in=amount)
    try:
        asked = solver_request(request, fee)
    except NoSolverAmount:
        return
    x = asked.exact_amount_in
    assert x == net(token_in, amount, fee)  # what actually reaches the solver
    y = x * num // den + 1  # any raw amount the solver offers
    amount_in, amount_out = user_amounts(request, fee, x, y)
    assert amount_in == amount
    if amount_out <= 0:
        return  # the relay drops such an offer
    channel, solver = {token_in: -amount_in, token_out: amount_out}, {token_in: x, token_out: -y}
    assert unmatched([channel, solver], fee) == {}


@given(FEES, st.integers(1, 10**30), st.integers(1, 10**6), st.integers(1, 10**6), TOKENS)
def test_exact_out_settles_and_stays_exact(fee, amount, num, den, tokens) -> None:
    token_in, token_out = tokens
    request = _request(token_in, token_out, exact_amount_out=amount)
    asked = solver_request(request, fee)
    y = asked.exact_amount_out
    assert y is not None
    assert net(token_out, y, fee) == amount
    assert y == 1 or net(token_out, y - 1, fee) < amount  # the least the solver must pay
    x = -((-y * den) // num)  # any raw amount the solver wants
    amount_in, amount_out = user_amounts(request, fee, x, y)
    assert amount_out == amount
    assert net(token_in, amount_in, fee) == x
    assert amount_in == 1 or net(token_in, amount_in - 1, fee) < x  # the channel pays the least
    channel, solver = {token_in: -amount_in, token_out: amount_out}, {token_in: x, token_out: -y}
    assert unmatched([channel, solver], fee) == {}


def _quote(quote_hash: str, amount_in: int, amount_out: int) -> SolverQuote:
    return SolverQuote(quote_hash, {}, "s.near", "", FT_IN, FT_OUT, amount_in, amount_out, 0)


def test_the_quote_result_reports_the_channel_side() -> None:
    channel = _request(FT_IN, FT_OUT, exact_amount_in=1_000_000)
    asked = solver_request(channel, 100)
    assert asked.exact_amount_in == 999_900
    collection = QuoteCollection("q", asked, channel_request=channel, fee_pips=100)
    collection.quotes = [_quote("low", 999_900, 500_000), _quote("high", 999_900, 600_000)]
    collection.min_amounts = [999_900]
    assert collection.result() == [
        _quote("high", 0, 0).wire(1_000_000, 599_940),  # 600 000 less ceil(60)
        _quote("low", 0, 0).wire(1_000_000, 499_950),
        {"type": "INSUFFICIENT_AMOUNT", "min_amount": "1000000"},
    ]
