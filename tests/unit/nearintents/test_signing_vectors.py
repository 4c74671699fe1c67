"""Every published MultiPayload and NEP-413 vector through the public signing surface."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import base58
import pytest

from nearintents import signing
from nearintents.keys import Curve, PublicKey, implicit_account_id
from nearintents.standards import nep413

VECTORS = json.loads((Path(__file__).parents[2] / "fixtures" / "vectors.json").read_text())
CASES: list[dict[str, Any]] = VECTORS["multipayload_intent_hashes"]["cases"]
BORSH: dict[str, Any] = VECTORS["nep413_borsh"]


def multipayload(case: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in case.items() if k not in ("expected_intent_hash", "recovered_signer")}


def case_id(case: dict[str, Any]) -> str:
    return f"{case['standard']}-{case['expected_intent_hash'][:6]}"


def test_every_standard_in_the_vectors_is_covered() -> None:
    assert {c["standard"] for c in CASES} == {"erc191", "nep413", "tip191", "raw_ed25519", "sep53"}


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_intent_hash(case: dict[str, Any]) -> None:
    assert signing.intent_hash(multipayload(case)) == case["expected_intent_hash"]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_verify(case: dict[str, Any]) -> None:
    signer = signing.verify(multipayload(case))
    pk = PublicKey.parse(signer)
    if "recovered_signer" in case:
        assert pk.curve is Curve.SECP256K1
        assert implicit_account_id(pk) == case["recovered_signer"]
    else:
        assert signer == case["public_key"]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_extract_payload(case: dict[str, Any]) -> None:
    payload = signing.extract_payload(multipayload(case))
    assert set(payload) == {"signer_id", "verifying_contract", "deadline", "nonce", "intents"}
    assert payload["verifying_contract"] == "intents.near"
    assert isinstance(payload["intents"], list)
    assert len(base64.b64decode(payload["nonce"])) == 32
    if case["standard"] == "nep413":
        assert payload["nonce"] == case["payload"]["nonce"]
    else:
        assert payload["nonce"] == json.loads(case["payload"])["nonce"]


def test_tip191_extra_key_is_dropped() -> None:
    (case,) = [c for c in CASES if c["standard"] == "tip191"]
    assert "message_size_validation" in json.loads(case["payload"])
    assert "message_size_validation" not in signing.extract_payload(multipayload(case))


def test_first_erc191_case_recovers_someone_else_but_hashes_the_same() -> None:
    case = next(c for c in CASES if c["standard"] == "erc191")
    mp = multipayload(case)
    signer_id = signing.extract_payload(mp)["signer_id"]
    recovered = implicit_account_id(PublicKey.parse(signing.verify(mp)))
    assert recovered == case["recovered_signer"]
    assert recovered != signer_id  # a verifier must reject it for the key mismatch
    assert signing.intent_hash(mp) == case["expected_intent_hash"]


def test_nep413_borsh_bytes() -> None:
    serialized = nep413.borsh_bytes(
        BORSH["message"],
        bytes.fromhex(BORSH["nonce_hex"]),
        BORSH["recipient"],
        BORSH["callback_url"],
    )
    assert serialized.hex() == BORSH["serialized_hex"]
    assert hashlib.sha256(serialized).hexdigest() == BORSH["sha256_hex"]


def test_nep413_borsh_vector_through_the_public_surface() -> None:
    public_key = "ed25519:" + base58.b58encode(bytes.fromhex(BORSH["public_key_hex"])).decode()
    mp = {
        "standard": "nep413",
        "payload": {
            "message": BORSH["message"],
            "nonce": base64.b64encode(bytes.fromhex(BORSH["nonce_hex"])).decode(),
            "recipient": BORSH["recipient"],
        },
        "public_key": public_key,
        "signature": "ed25519:" + base58.b58encode(bytes.fromhex(BORSH["signature_hex"])).decode(),
    }
    assert base58.b58decode(signing.intent_hash(mp)).hex() == BORSH["sha256_hex"]
    assert signing.verify(mp) == public_key
    # "Hello, world!" is not a DefusePayload: it verifies but cannot be extracted.
    with pytest.raises(signing.MalformedPayload):
        signing.extract_payload(mp)


def test_nep413_callback_url_changes_the_hash() -> None:
    nonce = bytes.fromhex(BORSH["nonce_hex"])
    with_cb = nep413.borsh_bytes(BORSH["message"], nonce, BORSH["recipient"], "https://x.y")
    without = nep413.borsh_bytes(BORSH["message"], nonce, BORSH["recipient"], None)
    assert with_cb[: len(without) - 1] == without[:-1]
    assert with_cb[len(without) - 1 :] == b"\x01" + (11).to_bytes(4, "little") + b"https://x.y"


def test_legacy_raw_ed25519_contract_vector() -> None:
    # PROTOCOL.md §2.8: hash and signature verify; the legacy deadline object no longer extracts.
    mp = {
        "standard": "raw_ed25519",
        "payload": '{"signer_id":'
        '"74affa71ab030d400fdfa1bed033dfa6fd3ae34f92d17c046ebe368e80d53751",'
        '"verifying_contract":"intents.near","deadline":{"timestamp":1732035219},'
        '"nonce":"XVoKfmScb3G+XqH9ke/fSlJ/3xO59sNhCxhpG821BH8=","intents":[{"intent":"token_diff",'
        '"diff":{"nep141:base-0x833589fcd6edb6e08f4c7c32d4f71b54bda02913.omft.near":"-1000",'
        '"nep141:eth-0xdac17f958d2ee523a2206206994597c13d831ec7.omft.near":"998"}}]}',
        "public_key": "ed25519:8rVvtHWFr8hasdQGGD5WiQBTyr4iH2ruEPPVfj491RPN",
        "signature": "ed25519:3vtbNQJHZfuV1s5DykzyjkbNLc583hnkrhTz57eDhd966iqzkor6T"
        "wgr4Loh2C195SCSEsiGfrd6KcxpjNq9ZbVj",
    }
    assert signing.intent_hash(mp) == "8LKE47o44ybZQR9ozLyDnvMDTh4Ao5ipy2mJWsYByG5Q"
    assert signing.verify(mp) == mp["public_key"]
    with pytest.raises(signing.MalformedPayload):
        signing.extract_payload(mp)
