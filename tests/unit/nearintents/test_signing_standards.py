"""Sign → verify round trips, tampering and malformed input for every signing standard."""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import hashlib
import json
from typing import Any

import base58
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nearintents import signing
from nearintents.keys import (
    P256_N,
    SECP256K1_N,
    Curve,
    Ed25519SecretKey,
    PublicKey,
    Secp256k1SecretKey,
    implicit_account_id,
)
from nearintents.standards import ton_connect

ED25519_STANDARDS = ("nep413", "raw_ed25519", "sep53")
SECP256K1_STANDARDS = ("erc191", "tip191")
SIGNED_STANDARDS = ED25519_STANDARDS + SECP256K1_STANDARDS
NO_SLOW = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)


def b58(data: bytes) -> str:
    return base58.b58encode(data).decode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def compact(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# --- strategies -------------------------------------------------------------------------------

account_ids = st.from_regex(r"[a-z0-9]{2,20}(\.[a-z0-9]{1,10}){0,2}", fullmatch=True)
amounts = st.integers(min_value=0, max_value=2**128 - 1).map(str)
memo_text = st.text(st.characters(codec="utf-8"), max_size=30)
intents = st.lists(
    st.fixed_dictionaries(
        {
            "intent": st.just("transfer"),
            "receiver_id": account_ids,
            "tokens": st.dictionaries(
                account_ids.map(lambda a: f"nep141:{a}"), amounts, min_size=1, max_size=3
            ),
        },
        optional={"memo": memo_text},
    ),
    max_size=3,
)
payloads = st.fixed_dictionaries(
    {
        "signer_id": account_ids,
        "verifying_contract": st.just("intents.near"),
        "deadline": st.datetimes().map(lambda d: d.isoformat(timespec="microseconds") + "Z"),
        "nonce": st.binary(min_size=32, max_size=32).map(lambda b: base64.b64encode(b).decode()),
        "intents": intents,
    }
)
seeds = st.binary(min_size=32, max_size=32)
secp_secrets = st.integers(min_value=1, max_value=SECP256K1_N - 1).map(
    lambda k: k.to_bytes(32, "big")
)


def key_for(standard: str, seed: bytes) -> Ed25519SecretKey | Secp256k1SecretKey:
    if standard in SECP256K1_STANDARDS:
        scalar = int.from_bytes(seed, "big") % (SECP256K1_N - 1) + 1
        return Secp256k1SecretKey(scalar.to_bytes(32, "big"))
    return Ed25519SecretKey(seed)


# --- round trips ------------------------------------------------------------------------------


@NO_SLOW
@given(st.sampled_from(SIGNED_STANDARDS), payloads, seeds)
def test_sign_verify_extract_round_trip(
    standard: str, payload: dict[str, Any], seed: bytes
) -> None:
    key = key_for(standard, seed)
    mp = signing.sign(standard, payload, key)
    assert mp["standard"] == standard
    assert signing.verify(mp) == str(key.public_key)
    assert len(base58.b58decode(signing.intent_hash(mp))) == 32
    assert signing.extract_payload(mp) == payload
    # The MultiPayload survives the wire unchanged.
    assert signing.intent_hash(json.loads(json.dumps(mp))) == signing.intent_hash(mp)


@NO_SLOW
@given(payloads, seeds)
def test_nep413_shape(payload: dict[str, Any], seed: bytes) -> None:
    mp = signing.sign("nep413", payload, Ed25519SecretKey(seed))
    assert set(mp) == {"standard", "payload", "public_key", "signature"}
    assert list(mp["payload"]) == ["message", "nonce", "recipient"]
    assert mp["payload"]["recipient"] == payload["verifying_contract"]
    assert mp["payload"]["nonce"] == payload["nonce"]
    assert json.loads(mp["payload"]["message"]) == {
        "signer_id": payload["signer_id"],
        "deadline": payload["deadline"],
        "intents": payload["intents"],
    }
    assert signing.payload_json(mp) == mp["payload"]["message"]


@pytest.mark.parametrize("standard", SIGNED_STANDARDS)
def test_full_json_standards_sign_compact_utf8(standard: str) -> None:
    payload = {
        "signer_id": "alice.near",
        "verifying_contract": "intents.near",
        "deadline": "2035-01-01T00:00:00Z",
        "nonce": base64.b64encode(bytes(32)).decode(),
        "intents": [{"intent": "transfer", "receiver_id": "bob.near", "memo": "café"}],
    }
    mp = signing.sign(standard, payload, key_for(standard, b"\x07" * 32))
    text = signing.payload_json(mp)
    assert "café" in text
    assert ": " not in text
    assert ", " not in text
    if standard in SECP256K1_STANDARDS:
        assert set(mp) == {"standard", "payload", "signature"}
    elif standard != "nep413":
        assert set(mp) == {"standard", "payload", "public_key", "signature"}
        assert text == compact(payload)


def test_tip191_and_erc191_differ_only_by_prefix() -> None:
    payload = {
        "signer_id": "a.near",
        "verifying_contract": "intents.near",
        "deadline": "2035-01-01T00:00:00Z",
        "nonce": base64.b64encode(bytes(32)).decode(),
        "intents": [],
    }
    key = Secp256k1SecretKey(b"\x11" * 32)
    erc, tip = signing.sign("erc191", payload, key), signing.sign("tip191", payload, key)
    assert erc["payload"] == tip["payload"]
    assert signing.intent_hash(erc) != signing.intent_hash(tip)
    # The signature of one standard under the other's tag recovers a different key.
    swapped = dict(erc, standard="tip191")
    assert signing.verify(swapped) != str(key.public_key)


# --- tampering --------------------------------------------------------------------------------


def flip_char(text: str, index: int) -> str:
    index %= len(text)
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


def signed_text_location(mp: dict[str, Any]) -> tuple[dict[str, Any], str]:
    return (mp["payload"], "message") if mp["standard"] == "nep413" else (mp, "payload")


@NO_SLOW
@given(st.sampled_from(SIGNED_STANDARDS), payloads, seeds, st.integers(min_value=0))
def test_tampered_payload_is_rejected(
    standard: str, payload: dict[str, Any], seed: bytes, index: int
) -> None:
    key = key_for(standard, seed)
    mp = signing.sign(standard, payload, key)
    container, name = signed_text_location(mp)
    container[name] = flip_char(container[name], index)
    if standard in SECP256K1_STANDARDS:
        # Recovery always yields *some* key (or fails); what matters is that it is not ours.
        try:
            recovered = signing.verify(mp)
        except signing.InvalidSignature:
            return
        assert recovered != str(key.public_key)
    else:
        with pytest.raises(signing.InvalidSignature):
            signing.verify(mp)


@NO_SLOW
@given(
    st.sampled_from(SIGNED_STANDARDS),
    payloads,
    seeds,
    st.integers(min_value=0, max_value=63),
    st.integers(min_value=1, max_value=255),
)
def test_tampered_signature_is_rejected(
    standard: str, payload: dict[str, Any], seed: bytes, index: int, xor: int
) -> None:
    key = key_for(standard, seed)
    mp = signing.sign(standard, payload, key)
    curve, encoded = mp["signature"].split(":")
    raw = bytearray(base58.b58decode(encoded))
    raw[index] ^= xor
    mp["signature"] = f"{curve}:{b58(bytes(raw))}"
    if standard in SECP256K1_STANDARDS:
        try:
            recovered = signing.verify(mp)
        except signing.InvalidSignature:
            return
        assert recovered != str(key.public_key)
    else:
        with pytest.raises(signing.InvalidSignature):
            signing.verify(mp)


@pytest.mark.parametrize("standard", ED25519_STANDARDS)
def test_other_public_key_is_rejected(standard: str) -> None:
    payload = {
        "signer_id": "a.near",
        "verifying_contract": "intents.near",
        "deadline": "2035-01-01T00:00:00Z",
        "nonce": base64.b64encode(bytes(32)).decode(),
    }
    mp = signing.sign(standard, payload, Ed25519SecretKey(b"\x01" * 32))
    mp["public_key"] = str(Ed25519SecretKey(b"\x02" * 32).public_key)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(mp)


@NO_SLOW
@given(st.sampled_from(SECP256K1_STANDARDS), payloads, secp_secrets)
def test_high_s_and_v_27_are_rejected(
    standard: str, payload: dict[str, Any], secret: bytes
) -> None:
    mp = signing.sign(standard, payload, Secp256k1SecretKey(secret))
    raw = base58.b58decode(mp["signature"].split(":")[1])
    r, s, v = raw[:32], int.from_bytes(raw[32:64], "big"), raw[64]
    high_s = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([v ^ 1])
    with pytest.raises(signing.InvalidSignature):
        signing.verify(dict(mp, signature=f"secp256k1:{b58(high_s)}"))
    with pytest.raises(signing.InvalidSignature):
        signing.verify(dict(mp, signature=f"secp256k1:{b58(raw[:64] + bytes([v + 27]))}"))


# --- webauthn ---------------------------------------------------------------------------------

RP_ID_HASH = sha256(b"example.com")
FLAG_UP, FLAG_UV, FLAG_BE, FLAG_BS = 0x01, 0x04, 0x08, 0x10


def webauthn_payload() -> str:
    return compact(
        {
            "signer_id": "0x3602b546589a8fcafdce7fad64a46f91db0e4d50",
            "verifying_contract": "intents.near",
            "deadline": "2035-03-30T00:00:00Z",
            "nonce": base64.b64encode(b"\x09" * 32).decode(),
            "intents": [],
        }
    )


def webauthn_sign(
    payload: str,
    key: ec.EllipticCurvePrivateKey | Ed25519SecretKey,
    *,
    flags: int = FLAG_UP | FLAG_UV,
    kind: str = "webauthn.get",
    challenge: bytes | None = None,
    high_s: bool = False,
) -> dict[str, Any]:
    """A test-local passkey: what a browser would hand back for ``navigator.credentials.get``."""
    client_data_json = compact(
        {
            "type": kind,
            "challenge": b64url(sha256(payload.encode()) if challenge is None else challenge),
            "origin": "https://example.com",
            "crossOrigin": False,
        }
    )
    authenticator_data = RP_ID_HASH + bytes([flags]) + (7).to_bytes(4, "big")
    message = authenticator_data + sha256(client_data_json.encode())
    if isinstance(key, Ed25519SecretKey):
        public_key, signature = str(key.public_key), str(key.sign(message))
    else:
        r, s = decode_dss_signature(key.sign(sha256(message), ec.ECDSA(Prehashed(hashes.SHA256()))))
        s = max(s, P256_N - s) if high_s else min(s, P256_N - s)
        numbers = key.public_key().public_numbers()
        public_key = "p256:" + b58(numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big"))
        signature = "p256:" + b58(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    return {
        "standard": "webauthn",
        "payload": payload,
        "public_key": public_key,
        "signature": signature,
        "client_data_json": client_data_json,
        "authenticator_data": b64url(authenticator_data),
    }


def webauthn_keys() -> list[ec.EllipticCurvePrivateKey | Ed25519SecretKey]:
    return [ec.generate_private_key(ec.SECP256R1()), Ed25519SecretKey(b"\x21" * 32)]


@pytest.mark.parametrize("key", webauthn_keys(), ids=["p256", "ed25519"])
def test_webauthn_round_trip(key: ec.EllipticCurvePrivateKey | Ed25519SecretKey) -> None:
    payload = webauthn_payload()
    mp = webauthn_sign(payload, key)
    assert signing.verify(mp) == mp["public_key"]
    assert base58.b58decode(signing.intent_hash(mp)) == sha256(payload.encode())
    assert signing.extract_payload(mp) == json.loads(payload)
    # UV is not required: U2F authenticators only set UP. BE+BS is fine.
    for flags in (FLAG_UP, FLAG_UP | FLAG_BE, FLAG_UP | FLAG_BE | FLAG_BS):
        assert signing.verify(webauthn_sign(payload, key, flags=flags)) == mp["public_key"]


@pytest.mark.parametrize("key", webauthn_keys(), ids=["p256", "ed25519"])
def test_webauthn_aliases_and_padding_accepted(
    key: ec.EllipticCurvePrivateKey | Ed25519SecretKey,
) -> None:
    mp = webauthn_sign(webauthn_payload(), key)
    camel = dict(mp)
    camel["clientDataJSON"] = camel.pop("client_data_json")
    camel["authenticatorData"] = camel.pop("authenticator_data")
    assert signing.verify(camel) == mp["public_key"]
    padded = mp["authenticator_data"] + "=" * (-len(mp["authenticator_data"]) % 4)
    assert padded != mp["authenticator_data"]
    assert signing.verify(dict(mp, authenticator_data=padded)) == mp["public_key"]


@pytest.mark.parametrize("key", webauthn_keys(), ids=["p256", "ed25519"])
@pytest.mark.parametrize(
    "options",
    [
        {"flags": FLAG_UV},  # user not present
        {"flags": FLAG_UP | FLAG_BS},  # backed up but not backup-eligible
        {"kind": "webauthn.create"},
        {"challenge": b"\x00" * 32},
    ],
    ids=["no-UP", "BS-without-BE", "create", "wrong-challenge"],
)
def test_webauthn_assertion_checks(
    key: ec.EllipticCurvePrivateKey | Ed25519SecretKey, options: dict[str, Any]
) -> None:
    with pytest.raises(signing.InvalidSignature):
        signing.verify(webauthn_sign(webauthn_payload(), key, **options))


@pytest.mark.parametrize("key", webauthn_keys(), ids=["p256", "ed25519"])
def test_webauthn_tampering(key: ec.EllipticCurvePrivateKey | Ed25519SecretKey) -> None:
    mp = webauthn_sign(webauthn_payload(), key)
    tampered_payload = dict(mp, payload=mp["payload"].replace("2035", "2036"))
    tampered_client = dict(
        mp, client_data_json=mp["client_data_json"].replace("example.com", "evil.com")
    )
    auth = bytearray(base64.urlsafe_b64decode(mp["authenticator_data"] + "=="))
    auth[36] ^= 1  # the sign counter: still well-formed, no longer what was signed
    tampered_auth = dict(mp, authenticator_data=b64url(bytes(auth)))
    short_auth = dict(mp, authenticator_data=b64url(bytes(auth[:36])))
    for bad in (tampered_payload, tampered_client, tampered_auth, short_auth):
        with pytest.raises(signing.InvalidSignature):
            signing.verify(bad)


def test_webauthn_p256_high_s_is_rejected() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    payload = webauthn_payload()
    assert signing.verify(webauthn_sign(payload, key))
    with pytest.raises(signing.InvalidSignature):
        signing.verify(webauthn_sign(payload, key, high_s=True))


def test_webauthn_key_and_signature_curves_must_match() -> None:
    p256_mp = webauthn_sign(webauthn_payload(), ec.generate_private_key(ec.SECP256R1()))
    ed_mp = webauthn_sign(webauthn_payload(), Ed25519SecretKey(b"\x21" * 32))
    with pytest.raises(signing.InvalidSignature):
        signing.verify(dict(p256_mp, signature=ed_mp["signature"]))
    secp = Secp256k1SecretKey(b"\x05" * 32)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(
            dict(
                p256_mp,
                public_key=str(secp.public_key),
                signature=str(secp.sign_recoverable(bytes(32))),
            )
        )


@pytest.mark.parametrize(
    "change",
    [
        {"authenticator_data": "not base64!"},
        {"authenticator_data": "AB="},  # wrong padding
        {"authenticator_data": "AB"},  # non-canonical trailing bits
        {"authenticator_data": 5},
        {"client_data_json": {"type": "webauthn.get"}},
        {"authenticatorData": "AAAA"},  # both spellings at once
    ],
)
def test_webauthn_malformed_fields(change: dict[str, Any]) -> None:
    mp = webauthn_sign(webauthn_payload(), Ed25519SecretKey(b"\x21" * 32))
    with pytest.raises(signing.MalformedPayload):
        signing.verify({**mp, **change})


@pytest.mark.parametrize(
    "client_data_json",
    [
        "not json",
        '{"type":"webauthn.get","origin":"x"}',  # no challenge
        '{"type":"webauthn.get","challenge":"AAAA"}',  # no origin
        '{"type":"webauthn.get","type":"webauthn.get","challenge":"AAAA","origin":"x"}',
    ],
)
def test_webauthn_bad_client_data_is_an_invalid_signature(client_data_json: str) -> None:
    mp = webauthn_sign(webauthn_payload(), Ed25519SecretKey(b"\x21" * 32))
    with pytest.raises(signing.InvalidSignature):
        signing.verify(dict(mp, client_data_json=client_data_json))


# Assertions produced by real passkeys, from the Verifier's tests (core/src/payload/webauthn.rs).
CONTRACT_WEBAUTHN_P256 = {
    "standard": "webauthn",
    "payload": '{"signer_id":"0x3602b546589a8fcafdce7fad64a46f91db0e4d50","verifying_contract":'
    '"defuse.test.near","deadline":"2025-03-30T00:00:00Z","nonce":"A3nsY1GMVjzyXL3mUzOOP3KT+5a0Ruy+'
    'QDNWPhchnxM=","intents":[{"intent":"transfer","receiver_id":"user1.test.near","tokens":'
    '{"nep141:ft1.poa-factory.test.near":"1000"}}]}',
    "public_key": (
        "p256:2V8Np9vGqLiwVZ8qmMmpkxU7CTRqje4WtwFeLimSw"
        "uuyF1rddQK5fELiMgxUnYbVjbZHCNnGc6fAe4JeDcVxgj3Q"
    ),
    "signature": (
        "p256:3KBMZ72BHUiVfE1ey5dpi3KgbXvSEf9kuxgBEax7q"
        "LBQtidZExxxjjQk1hTTGFRrPvUoEStfrjoFNVVW4Abar94W"
    ),
    "client_data_json": '{"type":"webauthn.get","challenge":"4cveZsIe6p-WaEcL-Lhtzt3SZuXb'
    'YsjDdlFhLNrSjjk","origin":"https://defuse-widget-git-feat-passkeys-defuse-94bbc1b2.vercel.app"}',
    "authenticator_data": "933cQogpBzE3RSAYSAkfWoNEcBd3X84PxE8iRrRVxMgdAAAAAA==",
}
CONTRACT_WEBAUTHN_ED25519 = {
    "standard": "webauthn",
    "payload": '{"signer_id":"19a8cd22b37802c3cbc0031f55c70f3858ac48dbfb7697c435da637fea0e0e47",'
    '"verifying_contract":"intents.near","deadline":{"timestamp":1732035219},"nonce":"XVoKfmScb3G+'
    'XqH9ke/fSlJ/3xO59sNhCxhpG821BH8=","intents":[{"intent":"token_diff","diff":{"nep141:base-0x833'
    '589fcd6edb6e08f4c7c32d4f71b54bda02913.omft.near":"-1000","nep141:eth-0xdac17f958d2ee523a220620'
    '6994597c13d831ec7.omft.near":"998"}}]}',
    "public_key": "ed25519:2jAUugnvWPvMaftKj5TDkyfsfxBwYjkMSf5MRtqDUMHY",
    "signature": (
        "ed25519:2yBp5oExa9BBZQf8habpjLUaSiprvT7srHrK38Bx"
        "t9zL1yrkQSeeXMLmkihKCd9frmTdk24YctUdzNN5nGqHWHgb"
    ),
    "client_data_json": '{"type":"webauthn.get","challenge":"PfRFOFrLxCfyomuDryxhv6v2OzJI'
    'WqyMXaMikUYHSmY","origin":"http://localhost:3000"}',
    "authenticator_data": "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFZ50DuA",
}


def test_webauthn_contract_vectors() -> None:
    signer = signing.verify(CONTRACT_WEBAUTHN_P256)
    assert signer == CONTRACT_WEBAUTHN_P256["public_key"]
    assert (
        implicit_account_id(PublicKey.parse(signer))
        == (signing.extract_payload(CONTRACT_WEBAUTHN_P256)["signer_id"])
    )
    signer = signing.verify(CONTRACT_WEBAUTHN_ED25519)
    assert implicit_account_id(PublicKey.parse(signer)) == (
        "19a8cd22b37802c3cbc0031f55c70f3858ac48dbfb7697c435da637fea0e0e47"
    )


# --- ton_connect ------------------------------------------------------------------------------

TON_ACCOUNT = bytes.fromhex("f4809e5ffac9dc42a6b1d94c5e74ad5fd86378de675c805f2274d0055cbc9378")


def ton_digest(
    workchain: int, account: bytes, domain: str, seconds: int, kind: bytes, data: bytes
) -> bytes:
    """Independent restatement of the PROTOCOL.md §2.5 layout."""
    return sha256(
        b"\xff\xff"
        + b"ton-connect/sign-data/"
        + workchain.to_bytes(4, "big", signed=True)
        + account
        + len(domain.encode()).to_bytes(4, "big")
        + domain.encode()
        + seconds.to_bytes(8, "big")
        + kind
        + len(data).to_bytes(4, "big")
        + data
    )


def ton_sign(
    text: str,
    key: Ed25519SecretKey,
    *,
    address: str = "0:" + TON_ACCOUNT.hex(),
    workchain: int = 0,
    domain: str = "app.example",
    timestamp: Any = 1_900_000_000,
    seconds: int = 1_900_000_000,
) -> dict[str, Any]:
    signature = key.sign(ton_digest(workchain, TON_ACCOUNT, domain, seconds, b"txt", text.encode()))
    return {
        "standard": "ton_connect",
        "address": address,
        "domain": domain,
        "timestamp": timestamp,
        "payload": {"type": "text", "text": text},
        "public_key": str(key.public_key),
        "signature": str(signature),
    }


def friendly_address(
    workchain: int, account: bytes, flags: int = 0x11, url: bool = True, crc_delta: int = 0
) -> str:
    body = bytes([flags, workchain & 0xFF]) + account
    data = body + ((binascii.crc_hqx(body, 0) + crc_delta) % 65536).to_bytes(2, "big")
    return (base64.urlsafe_b64encode if url else base64.b64encode)(data).decode()


TON_PAYLOAD = compact(
    {
        "signer_id": "alice.near",
        "verifying_contract": "intents.near",
        "deadline": "2030-03-18T00:00:00Z",  # after the default signing time 1_900_000_000
        "nonce": base64.b64encode(b"\x03" * 32).decode(),
        "intents": [],
    }
)


@pytest.mark.parametrize(
    "timestamp",
    [1_900_000_000, "1900000000", "2030-03-17T17:46:40Z", "2030-03-17T19:46:40.999+02:00"],
)
def test_ton_connect_round_trip_and_timestamp_forms(timestamp: Any) -> None:
    key = Ed25519SecretKey(b"\x31" * 32)
    mp = ton_sign(TON_PAYLOAD, key, timestamp=timestamp)
    assert signing.verify(mp) == str(key.public_key)
    assert base58.b58decode(signing.intent_hash(mp)) == ton_digest(
        0, TON_ACCOUNT, "app.example", 1_900_000_000, b"txt", TON_PAYLOAD.encode()
    )
    assert signing.extract_payload(mp) == json.loads(TON_PAYLOAD)


@pytest.mark.parametrize(
    ("address", "workchain"),
    [
        ("-1:" + TON_ACCOUNT.hex(), -1),
        ("0:" + TON_ACCOUNT.hex().upper(), 0),
        (friendly_address(0, TON_ACCOUNT), 0),
        (friendly_address(0, TON_ACCOUNT, flags=0x51, url=False), 0),
        (friendly_address(-1, TON_ACCOUNT, flags=0x91), -1),
    ],
)
def test_ton_connect_address_forms(address: str, workchain: int) -> None:
    key = Ed25519SecretKey(b"\x31" * 32)
    mp = ton_sign(TON_PAYLOAD, key, address=address, workchain=workchain)
    assert signing.verify(mp) == str(key.public_key)


def test_ton_connect_tampering() -> None:
    key = Ed25519SecretKey(b"\x31" * 32)
    mp = ton_sign(TON_PAYLOAD, key)
    tampered = [
        dict(mp, domain="evil.example"),
        dict(mp, timestamp=1_900_000_001),
        dict(mp, address="-1:" + TON_ACCOUNT.hex()),
        dict(mp, payload={"type": "text", "text": TON_PAYLOAD.replace("alice", "alicf")}),
        dict(
            mp, payload={"type": "binary", "bytes": base64.b64encode(TON_PAYLOAD.encode()).decode()}
        ),
        dict(mp, public_key=str(Ed25519SecretKey(b"\x32" * 32).public_key)),
    ]
    for bad in tampered:
        with pytest.raises(signing.InvalidSignature):
            signing.verify(bad)


@pytest.mark.parametrize(
    "change",
    [
        {"address": "0:" + TON_ACCOUNT.hex()[:-2]},
        {"address": "workchain:" + TON_ACCOUNT.hex()},
        {"address": "2147483648:" + TON_ACCOUNT.hex()},
        {"address": friendly_address(0, TON_ACCOUNT, crc_delta=1)},
        {"address": friendly_address(0, TON_ACCOUNT, flags=0x12)},
        {"timestamp": 1.5},
        {"timestamp": "yesterday"},
        {"timestamp": "2030-02-30T00:00:00Z"},
        {"timestamp": -5},
        {"timestamp": True},
        {"payload": {"type": "cell", "cell": "te6cc"}},
        {"payload": "text"},
        {"domain": None},
    ],
)
def test_ton_connect_malformed(change: dict[str, Any]) -> None:
    mp = ton_sign(TON_PAYLOAD, Ed25519SecretKey(b"\x31" * 32))
    with pytest.raises(signing.MalformedPayload):
        signing.verify({**mp, **change})


def test_ton_connect_deadline_before_timestamp_does_not_extract() -> None:
    key = Ed25519SecretKey(b"\x31" * 32)
    mp = ton_sign(TON_PAYLOAD, key, timestamp=1_950_000_000, seconds=1_950_000_000)
    assert signing.verify(mp) == str(key.public_key)
    with pytest.raises(signing.MalformedPayload, match="deadline"):
        signing.extract_payload(mp)


def test_ton_connect_contract_vectors() -> None:
    # From the Verifier's ton-connect crate tests: a text and a binary signData.
    public_key = "ed25519:" + b58(
        bytes.fromhex("22e795a07e832fc9084ca35a488a711f1dbedef637d4e886a6997d93ee2c2e37")
    )
    base = {
        "standard": "ton_connect",
        "address": "0:" + TON_ACCOUNT.hex(),
        "domain": "ton-connect.github.io",
        "public_key": public_key,
    }
    text_mp = {
        **base,
        "timestamp": 1747759882,
        "payload": {"type": "text", "text": "Hello, TON!" * 100},
        "signature": "ed25519:"
        + b58(
            bytes.fromhex(
                "7bc628f6d634ab6ddaf10463742b13f0ede3cb828737d9ce1962cc808fbfe703"
                "5e77c1a3d0b682acf02d645cc1a244992b276552c0e1c57d30b03c2820d73d01"
            )
        ),
    }
    binary_mp = {
        **base,
        "timestamp": 1747760435,
        "payload": {"type": "binary", "bytes": base64.b64encode(b"Hello, TON!").decode()},
        "signature": "ed25519:"
        + b58(
            bytes.fromhex(
                "9cf4c1c16b47afce46940eb9cd410894f31544b74206c2254bb1651f9b32cf5b"
                "0e482b78a2e8251e54d3517fae4b06c6f23546667d63ff62dccce70451698d01"
            )
        ),
    }
    assert signing.verify(text_mp) == public_key
    assert signing.verify(binary_mp) == public_key
    with pytest.raises(signing.MalformedPayload):
        signing.extract_payload(binary_mp)  # only text carries an intent


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T10:00:00+04:00", 6 * 3600 * 10**9),
        ("1970-01-01T10:00:00-02:30", (12 * 3600 + 1800) * 10**9),
        ("2025-05-21T10:34:04.254392Z", 1747823644_254392000),
        ("2026-06-25T13:53:42.123456789z", 1782395622_123456789),
    ],
)
def test_rfc3339_nanos(text: str, nanos: int) -> None:
    assert ton_connect.rfc3339_nanos(text) == nanos


@pytest.mark.parametrize(
    "text",
    [
        "2025-05-21T10:34:04",
        "2025-05-21",
        "2025-05-21T10:34:04.1234567890Z",
        "2025-13-01T00:00:00Z",
    ],
)
def test_rfc3339_rejects(text: str) -> None:
    with pytest.raises(signing.MalformedPayload):
        ton_connect.rfc3339_nanos(text)


# --- malformed input: the documented errors and nothing else ----------------------------------


def base_payload() -> dict[str, Any]:
    return {
        "signer_id": "alice.near",
        "verifying_contract": "intents.near",
        "deadline": "2035-01-01T00:00:00Z",
        "nonce": base64.b64encode(bytes(32)).decode(),
        "intents": [],
    }


@pytest.mark.parametrize(
    "value",
    [None, [], "nep413", 5, {}, {"standard": None}, {"standard": "nep999"}, {"standard": 1}],
)
def test_unsupported_standard(value: Any) -> None:
    for function in (signing.intent_hash, signing.verify, signing.extract_payload):
        with pytest.raises(signing.UnsupportedStandard):
            function(value)


@pytest.mark.parametrize(
    ("standard", "change"),
    [
        ("raw_ed25519", {"payload": None}),
        ("raw_ed25519", {"payload": {"a": 1}}),
        ("raw_ed25519", {"public_key": "secp256k1:" + b58(b"\x01" * 64)}),
        ("raw_ed25519", {"public_key": "ed25519:abc"}),
        ("raw_ed25519", {"signature": None}),
        ("sep53", {"public_key": None}),
        ("nep413", {"payload": "message"}),
        ("nep413", {"payload": {"message": "{}", "recipient": "intents.near"}}),
        ("nep413", {"payload": {"message": "{}", "nonce": "AAAA", "recipient": "intents.near"}}),
        (
            "nep413",
            {
                "payload": {
                    "message": 1,
                    "nonce": base64.b64encode(bytes(32)).decode(),
                    "recipient": "r",
                }
            },
        ),
        ("erc191", {"signature": 7}),
    ],
)
def test_malformed_multipayload(standard: str, change: dict[str, Any]) -> None:
    mp = signing.sign(standard, base_payload(), key_for(standard, b"\x09" * 32))
    with pytest.raises(signing.MalformedPayload):
        signing.verify({**mp, **change})


@pytest.mark.parametrize(
    "signature",
    ["ed25519:" + b58(b"\x01" * 63), "p256:" + b58(b"\x01" * 64), "ed25519", "secp256k1:0OIl"],
)
def test_unparseable_signature_is_invalid(signature: str) -> None:
    mp = signing.sign("raw_ed25519", base_payload(), Ed25519SecretKey(b"\x09" * 32))
    with pytest.raises(signing.InvalidSignature):
        signing.verify(dict(mp, signature=signature))


@pytest.mark.parametrize(
    "payload_text",
    [
        "not json",
        "[]",
        '{"signer_id":"a","signer_id":"b","verifying_contract":"c","deadline":"d","nonce":"'
        + base64.b64encode(bytes(32)).decode()
        + '"}',
        '{"signer_id":"a","verifying_contract":"c","deadline":"d","nonce":"AAAA"}',
        '{"signer_id":"a","verifying_contract":"c","deadline":{"timestamp":1},"nonce":"'
        + base64.b64encode(bytes(32)).decode()
        + '"}',
        '{"signer_id":"a","verifying_contract":"c","deadline":"d","nonce":"'
        + base64.b64encode(bytes(32)).decode()
        + '","intents":{}}',
        '{"signer_id":NaN}',
        '{"signer_id":"\\ud800"}',
        "\ud800",
    ],
)
def test_extract_rejects_bad_payload_json(payload_text: str) -> None:
    mp = {"standard": "raw_ed25519", "payload": payload_text}
    with pytest.raises(signing.MalformedPayload):
        signing.extract_payload(mp)


def test_unpadded_nonce_is_accepted_and_normalised() -> None:
    payload = base_payload()
    padded = payload["nonce"]
    payload["nonce"] = padded.rstrip("=")
    mp = {"standard": "raw_ed25519", "payload": compact(payload)}
    assert signing.extract_payload(mp)["nonce"] == padded


def test_sign_refusals() -> None:
    ed, secp = Ed25519SecretKey(b"\x09" * 32), Secp256k1SecretKey(b"\x09" * 32)
    for standard in ("webauthn", "ton_connect", "nep999"):
        with pytest.raises(signing.UnsupportedStandard):
            signing.sign(standard, base_payload(), ed)
    with pytest.raises(TypeError):
        signing.sign("erc191", base_payload(), ed)
    with pytest.raises(TypeError):
        signing.sign("nep413", base_payload(), secp)
    incomplete = base_payload()
    del incomplete["nonce"]
    with pytest.raises(signing.MalformedPayload):
        signing.sign("raw_ed25519", incomplete, ed)
    with pytest.raises(signing.MalformedPayload):
        signing.sign("sep53", {**base_payload(), "x": float("nan")}, ed)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


def valid_multipayloads() -> list[dict[str, Any]]:
    mps = [signing.sign(s, base_payload(), key_for(s, b"\x0a" * 32)) for s in SIGNED_STANDARDS]
    mps.append(webauthn_sign(webauthn_payload(), ec.generate_private_key(ec.SECP256R1())))
    mps.append(ton_sign(TON_PAYLOAD, Ed25519SecretKey(b"\x31" * 32)))
    return mps


VALID = valid_multipayloads()
FIELD_NAMES = sorted(
    {k for mp in VALID for k in mp} | {"message", "nonce", "recipient", "text", "type"}
)


_DELETE = object()


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=len(VALID) - 1),
    st.booleans(),
    st.sampled_from(FIELD_NAMES),
    st.one_of(st.just(_DELETE), json_values),
)
def test_mutated_multipayloads_raise_only_documented_errors(
    index: int, inner: bool, name: str, value: Any
) -> None:
    """Replace or delete one field (top level or inside ``payload``): a documented error or a
    well-formed answer, never anything else."""
    mp = copy.deepcopy(VALID[index])
    target = mp["payload"] if inner and isinstance(mp.get("payload"), dict) else mp
    if value is _DELETE:
        target.pop(name, None)
    else:
        target[name] = value
    try:
        assert len(base58.b58decode(signing.intent_hash(mp))) == 32
        PublicKey.parse(signing.verify(mp))
        assert set(signing.extract_payload(mp)) >= {"signer_id", "nonce", "intents"}
    except signing.SignedPayloadError:
        pass


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_arbitrary_json_raises_only_documented_errors(value: Any) -> None:
    for standard in signing.Standard:
        candidate = dict(value, standard=standard.value) if isinstance(value, dict) else value
        # Random JSON never carries a valid signature.
        with pytest.raises(signing.SignedPayloadError):
            signing.verify(candidate)
        for function in (signing.intent_hash, signing.extract_payload):
            with contextlib.suppress(signing.SignedPayloadError):
                assert isinstance(function(candidate), str | dict)


def test_valid_multipayloads_are_valid() -> None:
    # Guards the mutation test above: its starting points must verify.
    for mp in VALID:
        PublicKey.parse(signing.verify(mp))
    assert {mp["standard"] for mp in VALID} == {s.value for s in signing.Standard}
    assert Curve.P256 in {PublicKey.parse(signing.verify(mp)).curve for mp in VALID}
