"""Quote and swap maths (:mod:`oneclick.domain.quotes`): table tests per swap type with fees and
slippage, hypothesis properties, the exact settlement of the signed swap at protocol fees of 0, 1,
100 and 10 000 pips against the fee-reconciling fake relay and the fee-charging ledger, and a walk
over the domain's AST proving that no float is ever used there."""

import ast
import asyncio
import contextlib
import os
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import oneclick.domain
from nearintents import signing
from nearintents.encoding import b64encode
from nearintents.keys import Ed25519SecretKey, implicit_account_id
from nearintents.payload import format_rfc3339
from nearintents.rpc import Quote, QuoteRequest
from oneclick.domain.errors import RequestError
from oneclick.domain.quotes import (
    Fees,
    InputFee,
    SwapType,
    flex_min_out,
    min_gross,
    net_of_input_fees,
    offer_rank,
    order_amounts,
    quote_amounts,
    solver_ask,
)
from oneclick.testing.fakes import FakeClock, FakeSolverRelay, FakeVerifierViews

IN = "nep141:btc.omft.near"
OUT = "nep141:usdt.omft.near"
NO_FEES = Fees()
PROTOCOL_FEES = (0, 1, 100, 10_000)  # pips: none, mainnet, the docs' example, 1 %


def _quote(swap_type: SwapType, amount: int, slippage: int, fees: Fees, rate: tuple[int, int]):
    """Ask as the service does; the relay answers the ask at ``rate`` (out per in), user side."""
    ask = solver_ask(swap_type, amount, fees)
    num, den = rate
    if ask.exact_amount_in is not None:
        u, v = ask.exact_amount_in, ask.exact_amount_in * num // den
    else:
        assert ask.exact_amount_out is not None
        v = ask.exact_amount_out
        u = -((-v * den) // num)
    if u == 0 or v == 0:
        raise RequestError("no relay quotes a zero amount")
    return ask, quote_amounts(swap_type, amount, slippage, fees, u, v)


def test_exact_input_matches_the_published_vector() -> None:
    # PROTOCOL.md §5.3: amountOut 5931560 with 100 bps -> minAmountOut 5872244 (no fees here).
    _, q = _quote(SwapType.EXACT_INPUT, 10000, 100, NO_FEES, (593156, 1000))
    assert (q.amount_in, q.min_amount_in) == (10000, 10000)
    assert (q.amount_out, q.min_amount_out) == (5931560, 5872244)


@pytest.mark.parametrize(
    ("fees", "ask_in", "amount_out", "min_out", "fee_amounts"),
    [
        # no fees: the relay is asked for all of it
        (NO_FEES, 1_000_000, 2_000_000, 1_980_000, ()),
        # 20 bps platform fee + 10 bps app fee, taken from the input (ceil)
        (Fees((InputFee("a.near", 20), InputFee("b.near", 10))), 997_000, 1_994_000, 1_974_060,
         (("a.near", 2000), ("b.near", 1000))),
        # bridge withdrawal fee comes out of amountOut
        (Fees((), 50_000), 1_000_000, 1_950_000, 1_930_500, ()),
    ],
)  # fmt: skip
def test_exact_input_table(fees, ask_in, amount_out, min_out, fee_amounts) -> None:
    ask, q = _quote(SwapType.EXACT_INPUT, 1_000_000, 100, fees, (2, 1))
    assert ask.exact_amount_in == ask_in
    assert (q.amount_in, q.min_amount_in) == (1_000_000, 1_000_000)
    assert (q.amount_out, q.min_amount_out) == (amount_out, min_out)
    assert q.fee_amounts == fee_amounts
    assert q.swap_amount_in + sum(a for _, a in q.fee_amounts) == q.amount_in


def test_flex_input_takes_both_minimums_from_slippage() -> None:
    _, q = _quote(SwapType.FLEX_INPUT, 1_000_000, 250, NO_FEES, (3, 1))
    assert (q.amount_in, q.min_amount_in) == (1_000_000, 975_000)
    assert (q.amount_out, q.min_amount_out) == (3_000_000, 2_925_000)
    assert flex_min_out(q.min_amount_out, 500_000, q.amount_in) == 1_462_500


@pytest.mark.parametrize(
    ("fees", "ask_out", "min_in", "amount_in"),
    [
        (NO_FEES, 2_000_000, 1_000_000, 1_010_000),
        # withdrawal fee: the relay is asked for amount + fee
        (Fees((), 2_000), 2_002_000, 1_001_000, 1_011_010),
        # input fees: minAmountIn grossed up so that net(minAmountIn) covers the relay's amount_in
        (Fees((InputFee("a.near", 30),)), 2_000_000, 1_003_010, 1_013_041),
    ],
)
def test_exact_output_table(fees, ask_out, min_in, amount_in) -> None:
    ask, q = _quote(SwapType.EXACT_OUTPUT, 2_000_000, 100, fees, (2, 1))
    assert ask.exact_amount_out == ask_out
    assert (q.amount_out, q.min_amount_out) == (2_000_000, 2_000_000)
    assert (q.min_amount_in, q.amount_in) == (min_in, amount_in)
    assert net_of_input_fees(q.min_amount_in, fees) >= q.swap_amount_in
    assert net_of_input_fees(q.min_amount_in - 1, fees) < q.swap_amount_in
    assert q.swap_amount_out - q.withdraw_fee == q.amount_out


def test_an_offer_for_another_amount_is_refused() -> None:
    with pytest.raises(ValueError, match="exact amount asked"):
        quote_amounts(SwapType.EXACT_INPUT, 1000, 0, NO_FEES, 999, 10)
    with pytest.raises(ValueError, match="exact amount asked"):
        quote_amounts(SwapType.EXACT_OUTPUT, 1000, 0, NO_FEES, 10, 1001)


def test_too_small_amounts_are_refused() -> None:
    with pytest.raises(RequestError, match="too small"):
        solver_ask(SwapType.EXACT_INPUT, 1, Fees((InputFee("a.near", 500),)))
    with pytest.raises(RequestError, match="too small"):
        _quote(SwapType.EXACT_INPUT, 1000, 0, Fees((), 10**9), (1, 1))


def test_slippage_and_fee_bounds() -> None:
    with pytest.raises(RequestError, match="slippage"):
        quote_amounts(SwapType.EXACT_INPUT, 10, 10_001, NO_FEES, 10, 10)
    with pytest.raises(RequestError, match="100 %"):
        quote_amounts(SwapType.EXACT_INPUT, 10, 0, Fees((InputFee("a.near", 10_000),)), 10, 10)


def test_best_offer_rank() -> None:
    assert offer_rank(SwapType.EXACT_INPUT, 10, 7) > offer_rank(SwapType.EXACT_INPUT, 10, 6)
    assert offer_rank(SwapType.EXACT_OUTPUT, 9, 7) > offer_rank(SwapType.EXACT_OUTPUT, 10, 7)


amounts = st.integers(1, 10**30)
slippages = st.integers(0, 10_000)
input_fees = st.lists(
    st.builds(InputFee, st.sampled_from(["a.near", "b.near"]), st.integers(0, 500)), max_size=3
).map(tuple)
fee_sets = st.builds(Fees, input_fees, st.integers(0, 10**6))
rates = st.tuples(st.integers(1, 10**6), st.integers(1, 10**6))


@given(st.integers(1, 10**30), input_fees)
def test_min_gross_is_the_least_input_covering_the_target(target, fees) -> None:
    plan = Fees(fees)
    gross = min_gross(target, plan)
    assert net_of_input_fees(gross, plan) >= target
    assert gross == target or net_of_input_fees(gross - 1, plan) < target


@given(st.sampled_from(list(SwapType)[:3]), amounts, slippages, fee_sets, rates)
def test_quote_invariants(swap_type, amount, slippage, fees, rate) -> None:
    try:
        ask, q = _quote(swap_type, amount, slippage, fees, rate)
    except RequestError:
        return  # too small for the fees: refused, never a negative or zero quote
    assert 0 <= q.min_amount_out <= q.amount_out
    assert q.amount_out > 0
    assert 0 <= q.min_amount_in <= q.amount_in
    assert q.amount_in > 0
    # the swap order signs the relay's amounts verbatim and spends within the quote
    order = order_amounts(swap_type, q.amount_in, fees, q.swap_amount_in, q.swap_amount_out)
    assert order.expected_out == q.swap_amount_out - fees.withdraw_fee
    if swap_type is SwapType.EXACT_OUTPUT:
        assert q.amount_out == amount
        assert ask.exact_amount_out == amount + fees.withdraw_fee == q.swap_amount_out
        assert order.gross == q.min_amount_in
        assert order.spend <= q.min_amount_in <= q.amount_in
        assert order.expected_out == amount
    else:
        assert q.amount_in == amount
        assert q.swap_amount_in == net_of_input_fees(amount, fees) == ask.exact_amount_in
        assert order.spend == amount  # net + every input fee is the gross, to the unit
        assert q.amount_out == order.expected_out


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


# --- settlement at the verifier's fee ---------------------------------------------------------


def _settle(protocol_fee: int, swap_type: SwapType, amount: int, fees: Fees, margin: int) -> None:
    """Quote through the fake relay at ``protocol_fee``, sign the order verbatim with the input
    fee transfers, publish, settle in the fee-charging ledger; every balance to the unit."""
    clock = FakeClock()
    verifier = FakeVerifierViews(fee_pips=protocol_fee, clock=clock)
    relay = FakeSolverRelay(
        clock,
        prices={IN: (60_000_000_000, 8), OUT: (1_000_000, 6)},
        margins_bps=(margin,),
        verifier=verifier,
    )
    key = Ed25519SecretKey.generate()
    custody = implicit_account_id(key.public_key)
    ledger = verifier.ledger
    ledger.mint(relay.solver_account, IN, 10**40)
    ledger.mint(relay.solver_account, OUT, 10**40)

    async def run() -> None:
        ask = solver_ask(swap_type, amount, fees)
        request = QuoteRequest(
            defuse_asset_identifier_in=IN,
            defuse_asset_identifier_out=OUT,
            exact_amount_in=ask.exact_amount_in,
            exact_amount_out=ask.exact_amount_out,
        )
        offers = [a for a in await relay.quote(request) if isinstance(a, Quote)]
        settled.append(bool(offers))
        if not offers:
            return  # too small for one unit out: no quote, nothing to settle
        offer = offers[0]
        q = quote_amounts(swap_type, amount, 0, fees, offer.amount_in, offer.amount_out)
        order = order_amounts(swap_type, q.amount_in, fees, offer.amount_in, offer.amount_out)
        ledger.mint(custody, IN, q.amount_in)
        intents = [
            {
                "intent": "token_diff",
                "diff": {IN: str(-offer.amount_in), OUT: str(offer.amount_out)},
            }
        ]
        intents += [{"intent": "transfer", "receiver_id": r, "tokens": {IN: str(a)},
                     "memo": "APP_FEE"} for r, a in order.fee_transfers]  # fmt: skip
        payload = {
            "signer_id": custody,
            "verifying_contract": ledger.contract,
            "deadline": format_rfc3339(clock.now() + timedelta(minutes=1)),
            "nonce": b64encode(os.urandom(32)),
            "intents": intents,
        }
        signed = signing.sign("nep413", payload, key)
        published = await relay.publish_intent(signed, [offer.quote_hash])
        assert published.status == "OK", published
        status = await relay.get_status(signing.intent_hash(signed))
        assert status.status == "SETTLED", status
        balances = ledger.balances
        assert balances.get((custody, OUT), 0) == offer.amount_out == q.swap_amount_out
        assert balances.get((custody, IN), 0) == q.amount_in - order.spend
        owed: dict[str, int] = {}
        for recipient, paid in order.fee_transfers:
            owed[recipient] = owed.get(recipient, 0) + paid
        assert {r: balances.get((r, IN), 0) for r in owed} == owed
        assert q.swap_amount_out - fees.withdraw_fee == order.expected_out
        if swap_type is SwapType.EXACT_OUTPUT:
            assert order.expected_out == amount
        else:
            assert order.spend == amount

    asyncio.run(run())


settled: list[bool] = []  # whether each settlement example had an offer (checked below)


@pytest.mark.parametrize("protocol_fee", PROTOCOL_FEES)
@settings(max_examples=25, deadline=None)
@given(
    swap_type=st.sampled_from([SwapType.EXACT_INPUT, SwapType.FLEX_INPUT, SwapType.EXACT_OUTPUT]),
    amount=st.integers(1, 10**24),
    fees=st.builds(Fees, input_fees, st.integers(0, 10**6)),
    margin=st.integers(0, 300),
)
def test_the_signed_swap_settles_exactly_at_the_protocol_fee(
    protocol_fee, swap_type, amount, fees, margin
) -> None:
    with contextlib.suppress(RequestError):  # too small for the fees: refused before signing
        _settle(protocol_fee, swap_type, amount, fees, margin)


@pytest.mark.parametrize("protocol_fee", PROTOCOL_FEES)
@pytest.mark.parametrize("swap_type", [SwapType.EXACT_INPUT, SwapType.EXACT_OUTPUT])
def test_a_typical_swap_settles_exactly(protocol_fee: int, swap_type: SwapType) -> None:
    settled.clear()
    fees = Fees((InputFee("app.near", 25), InputFee("platform.near", 20)), 1_000)
    _settle(protocol_fee, swap_type, 12_345_678, fees, 30)
    assert settled == [True]


def test_no_float_anywhere_in_the_domain() -> None:
    offenders = []
    for path in Path(oneclick.domain.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, float):
                offenders.append(f"{path.name}:{node.lineno} float literal")
            if isinstance(node, ast.Name) and node.id == "float":
                offenders.append(f"{path.name}:{node.lineno} float")
    assert offenders == []
