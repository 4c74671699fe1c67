from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oneclick.domain.amounts import (
    format_units,
    mul_div_ceil,
    mul_div_floor,
    parse_amount,
    usd_value,
)
from oneclick.domain.errors import RequestError


@pytest.mark.parametrize("text", ["1", "10000", str(2**128 - 1)])
def test_canonical_positive_amounts_parse(text: str) -> None:
    assert parse_amount(text) == int(text)


@pytest.mark.parametrize(
    "text", ["0", "01", " 5", "5 ", "+5", "-5", "1_000", "1.0", "1e3", "", str(2**128), 5, None]
)
def test_non_canonical_amounts_are_refused(text: object) -> None:
    with pytest.raises(RequestError, match="positive integer string"):
        parse_amount(text)


def test_roundings_are_named_and_differ_on_remainders() -> None:
    assert mul_div_floor(10, 1, 3) == 3
    assert mul_div_ceil(10, 1, 3) == 4
    assert mul_div_floor(9, 1, 3) == mul_div_ceil(9, 1, 3) == 3


@given(st.integers(0, 2**130), st.integers(0, 10**6), st.integers(1, 10**6))
def test_floor_and_ceil_bracket_the_exact_quotient(a: int, b: int, d: int) -> None:
    low, high = mul_div_floor(a, b, d), mul_div_ceil(a, b, d)
    assert low * d <= a * b <= high * d
    assert high - low in (0, 1)


@pytest.mark.parametrize(
    ("amount", "decimals", "text"),
    [(10000, 8, "0.0001"), (5931560, 6, "5.93156"), (10**24, 24, "1"), (0, 6, "0"),
     (2**128 - 1, 18, "340282366920938463463.374607431768211455"), (7, 0, "7")],
)  # fmt: skip
def test_format_units_is_exact(amount: int, decimals: int, text: str) -> None:
    assert format_units(amount, decimals) == text


def test_usd_value_has_twelve_places_and_no_float_rounding() -> None:
    assert usd_value(10000, 8, Decimal("62376")) == "6.237600000000"
    assert (
        usd_value(2**128 - 1, 0, Decimal("0.1"))
        == "34028236692093846346337460743176821145.500000000000"
    )
    assert usd_value(1, 6, None) == "0"
