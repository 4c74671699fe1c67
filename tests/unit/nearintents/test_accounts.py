import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nearintents.accounts import (
    InvalidAccountId,
    is_implicit_ed25519,
    is_implicit_evm,
    is_valid_account_id,
    validate_account_id,
)

# The lists from near-account-id's own test data (src/test_data.rs).
OK_ACCOUNT_IDS = [
    "aa",
    "a-a",
    "a-aa",
    "100",
    "0o",
    "com",
    "near",
    "bowen",
    "b-o_w_e-n",
    "b.owen",
    "bro.wen",
    "a.ha",
    "a.b-a.ra",
    "system",
    "over.9000",
    "google.com",
    "illia.cheapaccounts.near",
    "0o0ooo00oo00o",
    "alex-skidanov",
    "10-4.8-2",
    "no_lols",
    "0123456789012345678901234567890123456789012345678901234567890123",
    "near.a",
]
BAD_ACCOUNT_IDS = [
    "a",
    "A",
    "Abc",
    "-near",
    "near-",
    "-near-",
    "near.",
    ".near",
    "near@",
    "@near",
    "неар",
    "@@@@@",
    "0__0",
    "0_-_0",
    "..",
    "a..near",
    "nEar",
    "_bowen",
    "hello world",
    "abcdefghijklmnopqrstuvwxyz.abcdefghijklmnopqrstuvwxyz.abcdefghijklmnopqrstuvwxyz",
    "01234567890123456789012345678901234567890123456789012345678901234",
    "some-complex-address@gmail.com",
    "sub.buy_d1gitz@atata@b0-rg.c_0_m",
    "",
]

# The grammar as documented in the crate, used as an independent oracle.
GRAMMAR = re.compile(r"(([a-z\d]+[-_])*[a-z\d]+\.)*([a-z\d]+[-_])*[a-z\d]+", re.ASCII)


@pytest.mark.parametrize("account_id", OK_ACCOUNT_IDS)
def test_valid_account_ids_pass_unchanged(account_id: str) -> None:
    assert validate_account_id(account_id) == account_id
    assert is_valid_account_id(account_id)


@pytest.mark.parametrize("account_id", BAD_ACCOUNT_IDS)
def test_invalid_account_ids_raise(account_id: str) -> None:
    with pytest.raises(InvalidAccountId):
        validate_account_id(account_id)
    assert not is_valid_account_id(account_id)


def test_non_string_is_rejected_with_account_error() -> None:
    with pytest.raises(InvalidAccountId, match="must be a string"):
        validate_account_id(42)  # type: ignore[arg-type]


def test_error_is_a_value_error() -> None:
    assert issubclass(InvalidAccountId, ValueError)


@given(st.text(alphabet="ab09-_.Z@", max_size=70))
def test_validation_agrees_with_the_documented_grammar(candidate: str) -> None:
    expected = 2 <= len(candidate) <= 64 and GRAMMAR.fullmatch(candidate) is not None
    assert is_valid_account_id(candidate) is expected


def test_implicit_ed25519() -> None:
    hex_id = "74affa71ab030d400fdfa1bed033dfa6fd3ae34f92d17c046ebe368e80d53751"
    assert is_implicit_ed25519(hex_id)
    assert not is_implicit_ed25519(hex_id.upper())
    assert not is_implicit_ed25519(hex_id[:-1])
    assert not is_implicit_ed25519(hex_id[:-1] + "g")
    assert not is_implicit_evm(hex_id)


def test_implicit_evm() -> None:
    evm = "0x5a95b4a393f0a8def7ac46907e1fb0782cd3538a"
    assert is_implicit_evm(evm)
    assert not is_implicit_evm("0xcac3C41676deF4FE375E57118f3eB83A99105577")
    assert not is_implicit_evm(evm[:-1])
    assert not is_implicit_evm("0X" + evm[2:])
    assert not is_implicit_ed25519(evm)
    # Implicit ids are ordinary valid account ids too.
    assert is_valid_account_id(evm)
