"""The strict decoders accept exactly the canonical encodings of bytes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nearintents.encoding import (
    EncodingError,
    b58decode,
    b58encode,
    b64decode,
    b64encode,
    b64url_decode,
    b64url_encode,
    hex_decode,
)


@given(st.binary(min_size=1, max_size=80))
def test_base58_round_trips(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


@given(st.binary(max_size=80))
def test_base64_round_trips(data: bytes) -> None:
    assert b64decode(b64encode(data)) == data
    assert b64url_decode(b64url_encode(data)) == data


def test_base58_known_value() -> None:
    # the 32 zero bytes are 32 ones in base58 (each leading zero byte is a '1')
    assert b58encode(bytes(32)) == "1" * 32
    assert b58decode("1" * 32, length=32) == bytes(32)


@pytest.mark.parametrize("text", ["", "0OIl", "abc def", "ab+c"])
def test_base58_rejects_characters_outside_the_alphabet(text: str) -> None:
    with pytest.raises(EncodingError):
        b58decode(text)


def test_base58_checks_length() -> None:
    with pytest.raises(EncodingError, match="expected 32 bytes"):
        b58decode(b58encode(b"\x01" * 31), length=32)


@pytest.mark.parametrize(
    "text",
    [
        "Vij2xgAlKBKzADZykFdbpB8CcBXsE9wRhklzE4_mgS8=",  # url-safe alphabet
        "Vij2xgAlKBKzADZykFdbpB8CcBXsE9wRhklzE4/mgS8",  # missing padding
        "Vij2xgAlKBKzADZykFdbpB8CcBXsE9wRhklzE4/mgS9=",  # non-zero trailing bits
        " Vij2xgAlKBKzADZykFdbpB8CcBXsE9wRhklzE4/mgS8=",
    ],
)
def test_base64_rejects_non_canonical_forms(text: str) -> None:
    with pytest.raises(EncodingError):
        b64decode(text)


def test_base64_checks_length() -> None:
    good = "Vij2xgAlKBKzADZykFdbpB8CcBXsE9wRhklzE4/mgS8="
    assert len(b64decode(good, length=32)) == 32
    with pytest.raises(EncodingError, match="expected 31 bytes"):
        b64decode(good, length=31)


@pytest.mark.parametrize("text", ["0x00", "abc", "zz", " 00"])
def test_hex_rejects_bad_input(text: str) -> None:
    with pytest.raises(EncodingError):
        hex_decode(text)


def test_hex_checks_length() -> None:
    assert hex_decode("252812b3", length=4) == bytes.fromhex("252812b3")
    with pytest.raises(EncodingError):
        hex_decode("252812b3", length=5)
