"""Integer amounts on the wire: the u128/i128/u64 ranges of the contract and strict parsing of
their canonical decimal-string form (``"01"``, ``"+5"``, ``" 5"``, ``"1_000"``, ``"1.0"``, ``"-0"``
are all refused, though Rust's parser would take some of them).
"""

from __future__ import annotations

import re

U64_MAX = 2**64 - 1
U128_MAX = 2**128 - 1
I128_MIN = -(2**127)
I128_MAX = 2**127 - 1

# ASCII digits only (``\d`` would accept other scripts); no sign, no leading zero, no spaces.
_UNSIGNED = re.compile(r"0|[1-9][0-9]*", re.ASCII)
_SIGNED = re.compile(r"0|-?[1-9][0-9]*", re.ASCII)
# Longer than any value in range: refuse before int() does quadratic work on huge strings.
_MAX_DIGITS = 40


def parse_decimal(text: object, *, signed: bool, low: int, high: int, what: str) -> int:
    """A canonical decimal string within ``low..high``; ``ValueError`` otherwise."""
    pattern = _SIGNED if signed else _UNSIGNED
    if not isinstance(text, str) or len(text) > _MAX_DIGITS or not pattern.fullmatch(text):
        shown = text[:50] if isinstance(text, str) else type(text).__name__
        raise ValueError(f"{what} must be a canonical decimal string, got {shown!r}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{what} {text} is out of range")
    return value


def parse_u128(text: object) -> int:
    """A canonical unsigned decimal string in u128 range (token amounts, yoctoNEAR)."""
    return parse_decimal(text, signed=False, low=0, high=U128_MAX, what="u128")


def parse_i128(text: object) -> int:
    """A canonical signed decimal string in i128 range (``token_diff`` deltas)."""
    return parse_decimal(text, signed=True, low=I128_MIN, high=I128_MAX, what="i128")


def parse_u64(text: object) -> int:
    """A canonical unsigned decimal string in u64 range (gas)."""
    return parse_decimal(text, signed=False, low=0, high=U64_MAX, what="u64")
