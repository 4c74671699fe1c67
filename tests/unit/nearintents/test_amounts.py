"""Wire amounts parse only from their canonical decimal form and only within range."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nearintents.amounts import I128_MAX, I128_MIN, U128_MAX, parse_i128, parse_u64, parse_u128


@given(st.integers(min_value=0, max_value=U128_MAX))
def test_u128_round_trips(value: int) -> None:
    assert parse_u128(str(value)) == value


@given(st.integers(min_value=I128_MIN, max_value=I128_MAX))
def test_i128_round_trips(value: int) -> None:
    assert parse_i128(str(value)) == value


@pytest.mark.parametrize(
    "text", ["", "01", "+5", " 5", "5 ", "1_000", "1.0", "-0", "1e3", "٣", "0x10", "-5"]
)
def test_u128_refuses_non_canonical_text(text: str) -> None:
    with pytest.raises(ValueError, match="canonical"):
        parse_u128(text)


@pytest.mark.parametrize("value", [5, 5.0, None, True, b"5"])
def test_only_strings_are_wire_amounts(value: object) -> None:
    with pytest.raises(ValueError, match="canonical"):
        parse_u128(value)


def test_range_edges() -> None:
    assert parse_u128(str(U128_MAX)) == U128_MAX
    with pytest.raises(ValueError, match="out of range"):
        parse_u128(str(U128_MAX + 1))
    with pytest.raises(ValueError, match="out of range"):
        parse_i128(str(I128_MIN - 1))
    with pytest.raises(ValueError, match="out of range"):
        parse_u64(str(2**64))
    with pytest.raises(ValueError, match="canonical"):
        parse_u128("9" * 41)  # refused by length before any conversion
