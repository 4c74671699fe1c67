"""Quote maths: table tests per swap type with fees and slippage, hypothesis properties, and a
walk over the domain's AST proving that no float is ever used there."""

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import oneclick.domain
from nearintents.diff import closure
from oneclick.domain.errors import RequestError
from oneclick.domain.quotes import (
    Fees,
    InputFee,
    SwapType,
    net_of_input_fees,
    offer_rank,
    quote_amounts,
    solver_ask,
)

IN = "nep141:btc.omft.near"
OUT = "nep141:usdt.omft.near"
NO_FEES = Fees(protocol_fee_pips=0)


def _quote(swap_type: SwapType, amount: int, slippage: int, fees: Fees, rate: tuple[int, int]):
    """Ask as the service does; a solver at ``rate`` (out per in) answers the ask."""
    ask = solver_ask(swap_type, amount, fees, IN, OUT)
    num, den = rate
    if ask.exact_amount_in is not None:
        x, y = ask.exact_amount_in, ask.exact_amount_in * num // den
    else:
        assert ask.exact_amount_out is not None
        y = ask.exact_amount_out
        x = -((-y * den) // num)
    if x == 0 or y == 0:
        raise RequestError("no solver quotes a zero amount")
    return ask, quote_amounts(swap_type, amount, slippage, fees, IN, OUT, x, y)


def test_exact_input_matches_the_published_vector() -> None:
    # PROTOCOL.md §5.3: amountOut 5931560 with 100 bps -> minAmountOut 5872244 (no fees here).
    _, q = _quote(SwapType.EXACT_INPUT, 10000, 100, NO_FEES, (593156, 1000))
    assert (q.amount_in, q.min_amount_in) == (10000, 10000)
    assert (q.amount_out, q.min_amount_out) == (5931560, 5872244)


@pytest.mark.parametrize(
    ("fees", "ask_in", "amount_out", "min_out", "fee_amounts"),
    [
        # no fees: the solver gets all of it
        (NO_FEES, 1_000_000, 2_000_000, 1_980_000, ()),
        # protocol fee 1 pip: X = floor(1e6 * 999999/1e6); out loses ceil(Y/1e6)
        (Fees(1), 999_999, 1_999_996, 1_979_996, ()),
        # 20 bps platform fee + 10 bps app fee, taken from the input (ceil)
        (Fees(0, (InputFee("a.near", 20), InputFee("b.near", 10))), 997_000, 1_994_000, 1_974_060,
         (("a.near", 2000), ("b.near", 1000))),
        # bridge withdrawal fee comes out of amountOut
        (Fees(0, (), 50_000), 1_000_000, 1_950_000, 1_930_500, ()),
    ],
)  # fmt: skip
def test_exact_input_table(fees, ask_in, amount_out, min_out, fee_amounts) -> None:
    ask, q = _quote(SwapType.EXACT_INPUT, 1_000_000, 100, fees, (2, 1))
    assert ask.exact_amount_in == ask_in
    assert (q.amount_in, q.min_amount_in) == (1_000_000, 1_000_000)
    assert (q.amount_out, q.min_amount_out) == (amount_out, min_out)
    assert q.fee_amounts == fee_amounts
    assert q.swap_amount_in + sum(a for _, a in q.fee_amounts) <= q.amount_in


def test_flex_input_takes_both_minimums_from_slippage() -> None:
    _, q = _quote(SwapType.FLEX_INPUT, 1_000_000, 250, NO_FEES, (3, 1))
    assert (q.amount_in, q.min_amount_in) == (1_000_000, 975_000)
    assert (q.amount_out, q.min_amount_out) == (3_000_000, 2_925_000)


@pytest.mark.parametrize(
    ("fees", "ask_out", "min_in", "amount_in"),
    [
        (NO_FEES, 2_000_000, 1_000_000, 1_010_000),
        # protocol fee: the solver must give a bit more, and the input is grossed up
        (Fees(100), 2_000_201, 1_000_202, 1_010_205),
        # withdrawal fee: the solver delivers amount + fee
        (Fees(0, (), 2_000), 2_002_000, 1_001_000, 1_011_010),
        # input fees: minAmountIn grossed up so that net(minAmountIn) >= what the swap needs
        (Fees(0, (InputFee("a.near", 30),)), 2_000_000, 1_003_010, 1_013_041),
    ],
)
def test_exact_output_table(fees, ask_out, min_in, amount_in) -> None:
    ask, q = _quote(SwapType.EXACT_OUTPUT, 2_000_000, 100, fees, (2, 1))
    assert ask.exact_amount_out == ask_out
    assert (q.amount_out, q.min_amount_out) == (2_000_000, 2_000_000)
    assert (q.min_amount_in, q.amount_in) == (min_in, amount_in)
    assert net_of_input_fees(q.min_amount_in, fees) >= q.swap_amount_in
    assert net_of_input_fees(q.min_amount_in - 1, fees) < q.swap_amount_in
    assert q.received_out - q.withdraw_fee >= q.amount_out


def test_too_small_amounts_are_refused() -> None:
    with pytest.raises(RequestError, match="too small"):
        solver_ask(SwapType.EXACT_INPUT, 1, Fees(0, (InputFee("a.near", 500),)), IN, OUT)
    with pytest.raises(RequestError, match="too small"):
        _quote(SwapType.EXACT_INPUT, 1000, 0, Fees(0, (), 10**9), (1, 1))


def test_slippage_and_fee_bounds() -> None:
    with pytest.raises(RequestError, match="slippage"):
        quote_amounts(SwapType.EXACT_INPUT, 10, 10_001, NO_FEES, IN, OUT, 10, 10)
    with pytest.raises(RequestError, match="100 %"):
        quote_amounts(
            SwapType.EXACT_INPUT, 10, 0, Fees(0, (InputFee("a.near", 10_000),)), IN, OUT, 10, 10
        )


def test_best_offer_rank() -> None:
    assert offer_rank(SwapType.EXACT_INPUT, 10, 7) > offer_rank(SwapType.EXACT_INPUT, 10, 6)
    assert offer_rank(SwapType.EXACT_OUTPUT, 9, 7) > offer_rank(SwapType.EXACT_OUTPUT, 10, 7)


amounts = st.integers(1, 10**30)
slippages = st.integers(0, 10_000)
fee_sets = st.builds(
    Fees,
    st.integers(0, 1000),
    st.lists(st.builds(InputFee, st.just("a.near"), st.integers(0, 500)), max_size=3).map(tuple),
    st.integers(0, 10**6),
)
rates = st.tuples(st.integers(1, 10**6), st.integers(1, 10**6))


@given(st.sampled_from(list(SwapType)[:3]), amounts, slippages, fee_sets, rates)
def test_quote_invariants(swap_type, amount, slippage, fees, rate) -> None:
    try:
        _ask, q = _quote(swap_type, amount, slippage, fees, rate)
    except RequestError:
        return  # too small for the fees: refused, never a negative or zero quote
    assert 0 <= q.min_amount_out <= q.amount_out
    assert q.amount_out > 0
    assert 0 <= q.min_amount_in <= q.amount_in
    assert q.amount_in > 0
    # the signed swap diff closes the solver's diff exactly (PROTOCOL.md §2.12)
    ours = closure({IN: q.solver_amount_in, OUT: -q.solver_amount_out}, fees.protocol_fee_pips)
    assert ours == {IN: -q.swap_amount_in, OUT: q.received_out}
    if swap_type is SwapType.EXACT_OUTPUT:
        assert q.amount_out == amount
        assert net_of_input_fees(q.min_amount_in, fees) >= q.swap_amount_in
    else:
        assert q.amount_in == amount
        assert q.swap_amount_in <= net_of_input_fees(amount, fees)
        assert q.amount_out == q.received_out - fees.withdraw_fee


@given(amounts, st.integers(0, 9_999), fee_sets, rates)
def test_minimums_are_monotone_in_slippage(amount, slippage, fees, rate) -> None:
    try:
        _, tight = _quote(SwapType.FLEX_INPUT, amount, slippage, fees, rate)
        _, loose = _quote(SwapType.FLEX_INPUT, amount, slippage + 1, fees, rate)
        _, out_tight = _quote(SwapType.EXACT_OUTPUT, amount, slippage, fees, rate)
        _, out_loose = _quote(SwapType.EXACT_OUTPUT, amount, slippage + 1, fees, rate)
    except RequestError:
        return
    assert loose.min_amount_out <= tight.min_amount_out
    assert loose.min_amount_in <= tight.min_amount_in
    assert out_loose.amount_in >= out_tight.amount_in


def test_no_float_anywhere_in_the_domain() -> None:
    offenders = []
    for path in Path(oneclick.domain.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, float):
                offenders.append(f"{path.name}:{node.lineno} float literal")
            if isinstance(node, ast.Name) and node.id == "float":
                offenders.append(f"{path.name}:{node.lineno} float")
    assert offenders == []
