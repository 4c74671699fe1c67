"""The verifier's building blocks against the contract's own unit tests and formats: the transfer
matcher (``engine/state/deltas.rs`` tests), RFC 3339 timestamps, Rust integer parsing, deposit
``msg`` parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devnet.verifier import InvariantViolated
from devnet.verifier.amounts import U128_MAX, parse_i128, parse_u128
from devnet.verifier.deltas import TransferMatcher
from devnet.verifier.deposits import ExecuteAction, NotifyAction, parse_deposit_message
from devnet.verifier.errors import VerifierError
from devnet.verifier.rpc import rust_debug
from devnet.verifier.timestamps import MAX_NS, format_rfc3339_ns, parse_rfc3339_ns

FT1, FT2 = "nep141:ft1.near", "nep141:ft2.near"


def test_matcher_turns_deltas_into_transfers_that_reproduce_them() -> None:
    # CONTRACT deltas.rs `test_transfers`.
    deltas = {
        "a.near": {FT1: -5, FT2: 1},
        "b.near": {FT1: 4, FT2: -1},
        "c.near": {FT1: 3},
        "d.near": {FT1: -10},
        "e.near": {FT1: -1},
        "f.near": {FT1: 10},
        "g.near": {FT1: -1},
    }
    matcher = TransferMatcher()
    for owner, tokens in deltas.items():
        for token, delta in tokens.items():
            move = matcher.deposit if delta > 0 else matcher.withdraw
            assert move(owner, token, abs(delta))
    replayed: dict[str, dict[str, int]] = {}
    for sender, receiver, tokens in matcher.finalize().ordered():
        for token, amount in tokens.items():
            replayed.setdefault(sender, {}).setdefault(token, 0)
            replayed[sender][token] -= amount
            replayed.setdefault(receiver, {}).setdefault(token, 0)
            replayed[receiver][token] += amount
    assert replayed == deltas


def test_matcher_reports_unmatched_deltas() -> None:
    # CONTRACT deltas.rs `test_unmatched`.
    matcher = TransferMatcher()
    for owner, token, delta in [
        ("a.near", FT1, -5),
        ("b.near", FT1, 4),
        ("d.near", FT1, -10),
        ("e.near", FT1, -1),
        ("f.near", FT1, 10),
        ("g.near", FT1, -1),
        ("a.near", FT2, -1),
    ]:
        (matcher.deposit if delta > 0 else matcher.withdraw)(owner, token, abs(delta))
    with pytest.raises(InvariantViolated) as raised:
        matcher.finalize()
    assert raised.value.violation == {
        "error": "unmatched_deltas",
        "unmatched_deltas": {FT1: "-3", FT2: "-1"},
    }


def test_matcher_overflow() -> None:
    matcher = TransferMatcher()
    assert matcher.deposit("a.near", FT1, U128_MAX)
    assert not matcher.deposit("a.near", FT1, 1)
    big = TransferMatcher()
    assert big.deposit("a.near", FT1, U128_MAX)
    with pytest.raises(InvariantViolated) as raised:
        big.finalize()  # the leftover does not fit an i128
    assert str(raised.value) == 'invariant violated: {"error":"overflow"}'


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("2025-05-21T10:34:04.254392Z", 1747823644254392000),
        ("2025-05-21T12:34:04.254392+02:00", 1747823644254392000),
        ("2025-05-21t10:34:04.2543921239z", 1747823644254392123),
    ],
)
def test_rfc3339_parsing(text: str, ns: int) -> None:
    assert parse_rfc3339_ns(text) == ns


@pytest.mark.parametrize(
    "text", ["2025-05-21 10:34:04Z", "2025-13-01T00:00:00Z", "2025-05-21T10:34:04", 1732035219]
)
def test_rfc3339_rejects(text: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any message
        parse_rfc3339_ns(text)


def test_rfc3339_formatting_trims_the_fraction() -> None:
    assert format_rfc3339_ns(1747823644254392000) == "2025-05-21T10:34:04.254392Z"
    assert format_rfc3339_ns(1747823644000000000) == "2025-05-21T10:34:04Z"
    assert format_rfc3339_ns(MAX_NS) == "9999-12-31T23:59:59.999999999Z"


@given(st.integers(min_value=0, max_value=MAX_NS))
def test_rfc3339_round_trip(ns: int) -> None:
    assert parse_rfc3339_ns(format_rfc3339_ns(ns)) == ns


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("+5", 5), ("007", 7)])
def test_u128_parses_like_rust(text: str, value: int) -> None:
    assert parse_u128(text) == value


@pytest.mark.parametrize("text", ["", "-1", " 5", "1_000", "1.0", "+", str(2**128), "٣"])
def test_u128_rejects_like_rust(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        parse_u128(text)


def test_i128_bounds() -> None:
    assert parse_i128(str(-(2**127))) == -(2**127)
    with pytest.raises(ValueError, match="too large"):
        parse_i128(str(2**127))


def test_deposit_messages() -> None:
    assert parse_deposit_message("", "me.near").receiver_id == "me.near"
    assert parse_deposit_message("you.near", "me.near").receiver_id == "you.near"
    executed = parse_deposit_message(
        '{"receiver_id":"a.near","execute_intents":[],"refund_if_fails":true}', "me.near"
    )
    assert executed.action == ExecuteAction([], True)
    notify = parse_deposit_message('{"receiver_id":"a.near","msg":"hi"}', "me.near")
    assert notify.action == NotifyAction("hi")
    # Execute wins when both forms are present (the untagged enum tries it first).
    both = parse_deposit_message(
        '{"receiver_id":"a.near","execute_intents":[],"msg":"ignored"}', "me.near"
    )
    assert isinstance(both.action, ExecuteAction)
    with pytest.raises(VerifierError, match="missing field `receiver_id`"):
        parse_deposit_message('{"msg":"hi"}', "me.near")


def test_rust_debug_escaping() -> None:
    assert rust_debug('invariant violated: {"error":"overflow"}') == (
        'invariant violated: {\\"error\\":\\"overflow\\"}'
    )
    assert rust_debug("a\nb'c") == "a\\nb'c"
