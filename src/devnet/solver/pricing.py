"""A market maker's arithmetic: exact exchange rates from USD prices and the amounts it offers,
in integer base units with named rounding (floor what it gives, ceil what it asks).

Prices arrive as ``Decimal``; they are turned into exact rationals (``Fraction(Decimal)`` is
exact), so no amount is ever rounded except where a function says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from nearintents.tokens import TokenId

BPS = 10_000


@dataclass(frozen=True, slots=True)
class TokenSpec:
    """A token the solver trades: its verifier id, its price-feed id and its decimals."""

    token_id: str
    price_id: str
    decimals: int

    def __post_init__(self) -> None:
        TokenId.parse(self.token_id)  # raises ValueError on a malformed id
        if not self.price_id:
            raise ValueError("price_id must not be empty")
        if not 0 <= self.decimals <= 38:
            raise ValueError("decimals must be in 0..38")

    @classmethod
    def parse(cls, text: str) -> TokenSpec:
        """``<token_id>=<price_id>:<decimals>``, e.g. ``nep141:usdc.near=usd-coin:6``."""
        token_id, sep, rest = text.rpartition("=")
        price_id, sep2, decimals = rest.rpartition(":")
        if not sep or not sep2 or not decimals.isdigit():
            raise ValueError(f"expected <token_id>=<price_id>:<decimals>, got {text!r}")
        return cls(token_id, price_id, int(decimals))


def rate(token_in: TokenSpec, token_out: TokenSpec, usd_in: Decimal, usd_out: Decimal) -> Fraction:
    """Base units of ``token_out`` worth one base unit of ``token_in``, exactly."""
    if usd_in <= 0 or usd_out <= 0:
        raise ValueError("prices must be positive")
    # USD per base unit of each side; int() because int ** int is typed as possibly float.
    value_in = Fraction(usd_in) / int(10**token_in.decimals)
    value_out = Fraction(usd_out) / int(10**token_out.decimals)
    return value_in / value_out


def _keep(spread_bps: int) -> Fraction:
    if not 0 <= spread_bps < BPS:
        raise ValueError("spread_bps must be in 0..9999")
    return Fraction(BPS - spread_bps, BPS)


def amount_out_for(amount_in: int, market_rate: Fraction, spread_bps: int) -> int:
    """Exact-in: what the solver gives for ``amount_in``, rounded down (floor what it gives)."""
    return math.floor(amount_in * market_rate * _keep(spread_bps))


def amount_in_for(amount_out: int, market_rate: Fraction, spread_bps: int) -> int:
    """Exact-out: what the solver asks for ``amount_out``, rounded up (ceil what it asks)."""
    return math.ceil(amount_out / (market_rate * _keep(spread_bps)))


def min_amount_in(market_rate: Fraction, spread_bps: int) -> int:
    """The smallest exact-in amount that earns at least one base unit out (ceil)."""
    return amount_in_for(1, market_rate, spread_bps)
