"""NEAR transactions built and signed by :mod:`nearintents.near_tx` match near-api-js's
published vector byte for byte (tests/fixtures/near_tx_vectors.json)."""

import hashlib
import json
from pathlib import Path

import pytest

from nearintents.encoding import b58decode, b58encode
from nearintents.keys import Ed25519SecretKey
from nearintents.near_tx import FunctionCall, Transfer, sign_transaction

VECTOR = json.loads((Path(__file__).parents[2] / "fixtures" / "near_tx_vectors.json").read_text())[
    "transfer"
]


def test_the_near_api_js_transfer_vector() -> None:
    key = Ed25519SecretKey(bytes.fromhex(VECTOR["secret_seed_hex"]))
    assert "ed25519:" + b58encode(key.public_key.data) == VECTOR["public_key"]
    signed = sign_transaction(
        key, VECTOR["signer_id"], VECTOR["receiver_id"], VECTOR["nonce"],
        b58decode(VECTOR["block_hash"]), [Transfer(int(VECTOR["deposit"]))],
    )  # fmt: skip
    assert signed.data.hex() == VECTOR["signed_hex"]
    unsigned = bytes.fromhex(VECTOR["unsigned_hex"])
    assert signed.hash == b58encode(hashlib.sha256(unsigned).digest())


def test_a_function_call_carries_compact_json_args_gas_and_deposit() -> None:
    key = Ed25519SecretKey(bytes(32))
    call = FunctionCall("ft_transfer_call", {"receiver_id": "intents.near", "amount": "5",
                                             "msg": ""}, deposit=1)  # fmt: skip
    signed = sign_transaction(key, "a.near", "usdc.near", 7, bytes(32), [call])
    args = b'{"receiver_id":"intents.near","amount":"5","msg":""}'
    tail = (
        len(args).to_bytes(4, "little") + args
        + (30 * 10**12).to_bytes(8, "little") + (1).to_bytes(16, "little")
    )  # fmt: skip
    assert signed.data[:-65].endswith(tail)
    assert signed.data[-65] == 0  # an ed25519 signature follows


def test_a_block_hash_is_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        sign_transaction(Ed25519SecretKey(bytes(32)), "a.near", "b.near", 1, b"", [Transfer(1)])
