import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nearintents.nonce import (
    MAGIC,
    InvalidNonce,
    LegacyNonce,
    VersionedNonce,
    datetime_to_ns,
    decode_nonce,
    decode_nonce_b64,
    encode_nonce_b64,
    format_salt,
    fresh_versioned_nonce,
    is_versioned,
    ns_to_datetime,
    parse_salt,
    timestamped_random,
    versioned_nonce,
)


def _vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (Path(__file__).parents[2] / "fixtures" / "vectors.json").read_text()
    )
    return data


def test_magic_is_sha256_prefix() -> None:
    import hashlib

    # The README writes sha256(<versioned_nonce>): the angle brackets are notation, not bytes.
    assert hashlib.sha256(b"versioned_nonce").digest()[:4] == MAGIC


def test_vector_encodes_exactly() -> None:
    vector = _vectors()["versioned_nonce"]
    nonce = versioned_nonce(
        salt=parse_salt(vector["salt_hex"]),
        deadline_ns=vector["deadline_unix_s"] * 1_000_000_000,
        random=bytes.fromhex(vector["random_hex"]),
    )
    assert encode_nonce_b64(nonce) == vector["expected_base64"]
    assert len(nonce) == 32


def test_vector_decodes_exactly() -> None:
    vector = _vectors()["versioned_nonce"]
    decoded = decode_nonce_b64(vector["expected_base64"])
    assert decoded == VersionedNonce(
        version=0,
        salt=bytes.fromhex(vector["salt_hex"]),
        deadline_ns=vector["deadline_unix_s"] * 1_000_000_000,
        random=bytes.fromhex(vector["random_hex"]),
    )
    assert isinstance(decoded, VersionedNonce)
    assert decoded.deadline == datetime.fromtimestamp(vector["deadline_unix_s"], UTC)
    assert encode_nonce_b64(decoded.to_bytes()) == vector["expected_base64"]


@given(
    salt=st.binary(min_size=4, max_size=4),
    deadline_ns=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    random=st.binary(min_size=15, max_size=15),
)
def test_encode_decode_round_trip(salt: bytes, deadline_ns: int, random: bytes) -> None:
    nonce = versioned_nonce(salt=salt, deadline_ns=deadline_ns, random=random)
    assert nonce[:4] == MAGIC
    assert nonce[4] == 0
    decoded = decode_nonce(nonce)
    assert decoded == VersionedNonce(0, salt, deadline_ns, random)
    assert is_versioned(nonce)
    assert decode_nonce_b64(encode_nonce_b64(nonce)) == decoded


@given(st.binary(min_size=32, max_size=32))
def test_arbitrary_bytes_decode_as_legacy_unless_magic(raw: bytes) -> None:
    decoded = decode_nonce(raw)
    if raw[:4] == MAGIC and raw[4] == 0:
        assert isinstance(decoded, VersionedNonce)
    else:
        assert decoded == LegacyNonce(raw)


def test_unknown_version_is_legacy_like_the_contract() -> None:
    nonce = bytearray(versioned_nonce(salt=b"\x01\x02\x03\x04", deadline_ns=1, random=bytes(15)))
    nonce[4] = 1
    assert decode_nonce(bytes(nonce)) == LegacyNonce(bytes(nonce))
    assert not is_versioned(bytes(nonce))


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_decode_rejects_wrong_length(size: int) -> None:
    with pytest.raises(InvalidNonce):
        decode_nonce(bytes(size))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not base64",
        base64.b64encode(bytes(31)).decode(),
        base64.b64encode(bytes(33)).decode(),
        base64.urlsafe_b64encode(b"\xff" * 32).decode(),
        base64.b64encode(bytes(32)).decode().rstrip("="),
    ],
)
def test_decode_b64_rejects_malformed(text: str) -> None:
    with pytest.raises(InvalidNonce):
        decode_nonce_b64(text)


@pytest.mark.parametrize(
    ("salt", "deadline_ns", "random"),
    [
        (b"\x00" * 3, 0, bytes(15)),
        (b"\x00" * 5, 0, bytes(15)),
        (b"\x00" * 4, 0, bytes(14)),
        (b"\x00" * 4, 0, bytes(16)),
        (b"\x00" * 4, 2**63, bytes(15)),
        (b"\x00" * 4, -(2**63) - 1, bytes(15)),
    ],
)
def test_encode_rejects_bad_parts(salt: bytes, deadline_ns: int, random: bytes) -> None:
    with pytest.raises(InvalidNonce):
        versioned_nonce(salt=salt, deadline_ns=deadline_ns, random=random)


def test_encode_rejects_bool_deadline() -> None:
    with pytest.raises(InvalidNonce):
        versioned_nonce(salt=bytes(4), deadline_ns=True, random=bytes(15))


def test_fresh_nonces_differ_and_carry_salt_and_deadline() -> None:
    salt = parse_salt("252812b3")
    first = fresh_versioned_nonce(salt, 123)
    second = fresh_versioned_nonce(salt, 123)
    assert first != second
    decoded = decode_nonce(first)
    assert isinstance(decoded, VersionedNonce)
    assert decoded.salt == salt
    assert decoded.deadline_ns == 123


def test_timestamped_random_form() -> None:
    start_ns = 1_750_000_000_123_000_000
    random = timestamped_random(start_ns)
    assert len(random) == 15
    assert int.from_bytes(random[:8], "little", signed=True) == start_ns
    nonce = fresh_versioned_nonce(b"\x01\x02\x03\x04", 5, timestamped_at_ns=start_ns)
    decoded = decode_nonce(nonce)
    assert isinstance(decoded, VersionedNonce)
    assert decoded.random[:8] == random[:8]


def test_salt_parse_and_format() -> None:
    assert parse_salt("252812b3") == bytes.fromhex("252812b3")
    assert parse_salt("252812B3") == bytes.fromhex("252812b3")
    assert format_salt(bytes.fromhex("252812b3")) == "252812b3"


@pytest.mark.parametrize("text", ["", "252812b", "252812b3ff", "25281zb3", "0x252812", " 252812b"])
def test_salt_parse_rejects(text: str) -> None:
    with pytest.raises(InvalidNonce):
        parse_salt(text)


def test_format_salt_rejects_wrong_length() -> None:
    with pytest.raises(InvalidNonce):
        format_salt(b"\x00\x01")


def test_datetime_ns_conversions() -> None:
    moment = datetime(2042, 4, 1, 12, 0, 0, 250_000, tzinfo=timezone(timedelta(hours=2)))
    ns = datetime_to_ns(moment)
    assert ns == (int(datetime(2042, 4, 1, 10, 0, tzinfo=UTC).timestamp()) * 10**9) + 250_000_000
    assert ns_to_datetime(ns) == moment
    assert ns_to_datetime(ns + 999) == moment  # floored to microseconds
    with pytest.raises(InvalidNonce):
        datetime_to_ns(datetime(2042, 4, 1))
