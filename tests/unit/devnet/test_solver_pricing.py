"""The market maker's arithmetic (exact rates, floor what it gives, ceil what it asks), its
inventory reservations, and the CLI's small parsers."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devnet.solver import (
    Inventory,
    TokenSpec,
    amount_in_for,
    amount_out_for,
    min_amount_in,
    rate,
)
from devnet.solver.cli import load_key, ws_url
from nearintents.keys import Ed25519SecretKey

USDC = TokenSpec("nep141:usdc.near", "usd-coin", 6)
WNEAR = TokenSpec("nep141:wrap.near", "near", 24)

prices = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("100000"), places=6)
amounts = st.integers(min_value=1, max_value=10**30)
spreads = st.integers(min_value=0, max_value=9_999)


def test_rate_is_exact() -> None:
    assert rate(USDC, WNEAR, Decimal(1), Decimal(3)) == Fraction(10**24, 3 * 10**6)
    assert rate(WNEAR, USDC, Decimal("3.3"), Decimal(1)) == Fraction(33, 10**19)
    with pytest.raises(ValueError, match="positive"):
        rate(USDC, WNEAR, Decimal(0), Decimal(1))


@given(amounts, prices, prices, spreads)
def test_exact_in_floors_what_it_gives(amount: int, p_in: Decimal, p_out: Decimal, s: int) -> None:
    market = rate(USDC, WNEAR, p_in, p_out)
    out = amount_out_for(amount, market, s)
    fair = amount * market * Fraction(10_000 - s, 10_000)
    assert out <= fair < out + 1


@given(amounts, prices, prices, spreads)
def test_exact_out_ceils_what_it_asks(amount: int, p_in: Decimal, p_out: Decimal, s: int) -> None:
    market = rate(WNEAR, USDC, p_in, p_out)
    asked = amount_in_for(amount, market, s)
    keep = Fraction(10_000 - s, 10_000)
    assert asked * market * keep >= amount > (asked - 1) * market * keep
    # Asking for what it would give for `asked` never yields more than `amount` ... or less.
    assert amount_out_for(asked, market, s) >= amount


@given(prices, prices, spreads)
def test_min_amount_in_is_the_first_that_earns_a_unit(
    p_in: Decimal, p_out: Decimal, s: int
) -> None:
    market = rate(WNEAR, USDC, p_in, p_out)
    least = min_amount_in(market, s)
    assert amount_out_for(least, market, s) >= 1
    assert least == 1 or amount_out_for(least - 1, market, s) == 0


@given(amounts, spreads, spreads)
def test_a_wider_spread_never_gives_more(amount: int, a: int, b: int) -> None:
    market = rate(USDC, WNEAR, Decimal(1), Decimal(3))
    tight, wide = sorted((a, b))
    assert amount_out_for(amount, market, wide) <= amount_out_for(amount, market, tight)


def test_token_spec_parse() -> None:
    assert TokenSpec.parse("nep141:usdc.near=usd-coin:6") == USDC
    assert TokenSpec.parse("nep245:v2_1.omni.hot.tg:1100_111=bitcoin:8").decimals == 8
    for bad in (
        "nep141:usdc.near",
        "nep141:usdc.near=usd-coin",
        "usdc.near=usd-coin:6",
        "nep141:usdc.near=usd-coin:x",
        "nep141:usdc.near=:6",
    ):
        with pytest.raises(ValueError):  # noqa: PT011 - each says what is wrong
            TokenSpec.parse(bad)


def test_inventory_reserves_until_release_or_expiry() -> None:
    inventory = Inventory()
    inventory.set_balances({WNEAR.token_id: 100})
    inventory.reserve("q1", WNEAR.token_id, 60, expires_ns=1_000)
    inventory.reserve("q2", WNEAR.token_id, 30, expires_ns=2_000)
    assert inventory.available(WNEAR.token_id, now_ns=500) == 10
    assert inventory.available(WNEAR.token_id, now_ns=1_500) == 70  # q1 expired
    assert inventory.release("q2")
    assert not inventory.release("q2")
    assert inventory.expire(now_ns=1_500) == 1
    assert not inventory.holds("q1")
    assert inventory.available(WNEAR.token_id, now_ns=0) == 100
    assert inventory.available(USDC.token_id, now_ns=0) == 0
    with pytest.raises(ValueError, match="positive"):
        inventory.reserve("q3", WNEAR.token_id, 0, expires_ns=1)


def test_key_files_and_relay_urls(tmp_path: Path) -> None:
    key = Ed25519SecretKey(b"\x01" * 32)
    credentials = tmp_path / "creds.json"
    credentials.write_text(
        json.dumps({"account_id": "s.near", "private_key": key.to_near_string()})
    )
    loaded, account = load_key(credentials)
    assert (loaded.public_key, account) == (key.public_key, "s.near")
    bare = tmp_path / "key"
    bare.write_text(key.to_near_string() + "\n")
    assert load_key(bare)[0].public_key == key.public_key
    assert ws_url("http://127.0.0.1:9/") == "ws://127.0.0.1:9/ws"
    assert ws_url("https://relay.example/ws") == "wss://relay.example/ws"
    assert ws_url("ws://127.0.0.1:9/ws") == "ws://127.0.0.1:9/ws"
