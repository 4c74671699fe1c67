"""Integer amounts as the contract reads and bounds them: u128 balances, i128 deltas, u64 gas.

Parsing follows Rust's ``FromStr`` for integers (what serde's ``DisplayFromStr`` calls): ASCII
digits with an optional ``+`` (or ``-`` for signed types), leading zeros allowed, nothing else.
"""

from __future__ import annotations

U64_MAX = 2**64 - 1
U128_MAX = 2**128 - 1
I128_MIN = -(2**127)
I128_MAX = 2**127 - 1


def _parse_int(text: object, *, signed: bool, what: str) -> int:
    if not isinstance(text, str):
        raise ValueError(f"invalid type: expected a string for {what}")
    digits = text
    negative = False
    if digits[:1] == "+" or (signed and digits[:1] == "-"):
        negative = digits[0] == "-"
        digits = digits[1:]
    if not digits:
        raise ValueError(f"cannot parse integer from empty string ({what})")
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"invalid digit found in string ({what})")
    value = int(digits)
    return -value if negative else value


def parse_u128(text: object, what: str = "u128") -> int:
    value = _parse_int(text, signed=False, what=what)
    if value > U128_MAX:
        raise ValueError(f"number too large to fit in target type ({what})")
    return value


def parse_i128(text: object, what: str = "i128") -> int:
    value = _parse_int(text, signed=True, what=what)
    if value > I128_MAX:
        raise ValueError(f"number too large to fit in target type ({what})")
    if value < I128_MIN:
        raise ValueError(f"number too small to fit in target type ({what})")
    return value


def parse_u64(text: object, what: str = "u64") -> int:
    value = _parse_int(text, signed=False, what=what)
    if value > U64_MAX:
        raise ValueError(f"number too large to fit in target type ({what})")
    return value


def checked_add(a: int, b: int) -> int | None:
    """``a + b`` if it fits a u128, else None (Rust's ``checked_add``)."""
    total = a + b
    return total if total <= U128_MAX else None


def checked_sub(a: int, b: int) -> int | None:
    """``a - b`` if it does not go below zero, else None."""
    return a - b if b <= a else None


def fee_ceil(amount: int, fee_pips: int) -> int:
    """``ceil(amount * fee / 1_000_000)`` (CONTRACT crates/primitives/fees ``fee_ceil``)."""
    return -(-amount * fee_pips // 1_000_000)
