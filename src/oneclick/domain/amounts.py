"""Integer money: strict parsing of wire amounts, the two named roundings, and exact display.

Every division of an amount names its rounding (STYLE.md "Amounts"): ``mul_div_floor`` for what
the user receives and for minimums we promise, ``mul_div_ceil`` for fees and for what the user
must send. ``Decimal`` appears only for display (``…Formatted``) and USD values.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, localcontext

from nearintents.amounts import U128_MAX, parse_decimal
from oneclick.domain.errors import RequestError

BPS = 10_000  # basis points in a whole
USD_PLACES = 12  # decimal places of ``…Usd`` strings, as 1Click prints them
_USD_QUANTUM = Decimal(1).scaleb(-USD_PLACES)


def parse_amount(text: object, *, what: str = "amount") -> int:
    """A canonical positive integer string in base units (``"01"``, ``"1.0"``, ``"0"`` refused)."""
    try:
        value = parse_decimal(text, signed=False, low=1, high=U128_MAX, what=what)
    except ValueError as exc:
        raise RequestError(
            f"{what} must be a positive integer string in the token's smallest units "
            f"(no sign, leading zeros, decimals or spaces, at most {U128_MAX})"
        ) from exc
    return value


def _check(numerator_a: int, numerator_b: int, denominator: int) -> None:
    if numerator_a < 0 or numerator_b < 0 or denominator <= 0:
        raise ValueError("mul_div takes non-negative factors and a positive divisor")


def mul_div_floor(a: int, b: int, d: int) -> int:
    """``floor(a * b / d)``: what the user receives, and minimums we promise."""
    _check(a, b, d)
    return (a * b) // d


def mul_div_ceil(a: int, b: int, d: int) -> int:
    """``ceil(a * b / d)``: fees, and what the user must send."""
    _check(a, b, d)
    return -((-(a * b)) // d)


def format_units(amount: int, decimals: int) -> str:
    """Exact decimal text of ``amount`` base units: ``10000, 8 → "0.0001"``, no trailing zeros."""
    if amount < 0 or decimals < 0:
        raise ValueError("amount and decimals must not be negative")
    whole, fraction = divmod(amount, 10**decimals)
    if fraction == 0:
        return str(whole)
    return f"{whole}.{str(fraction).zfill(decimals).rstrip('0')}"


def usd_value(amount: int, decimals: int, price_usd: Decimal | None) -> str:
    """USD value as a decimal string with 12 places, rounded down; ``"0"`` without a price."""
    if price_usd is None:
        return "0"
    with localcontext() as ctx:
        ctx.prec = 200  # u128 amounts times a price stay exact well inside this
        value = Decimal(amount) * price_usd / (Decimal(10) ** decimals)
        return str(value.quantize(_USD_QUANTUM, rounding=ROUND_DOWN))
