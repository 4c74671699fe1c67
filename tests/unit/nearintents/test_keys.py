"""Keys, signatures, implicit account ids and the sign/verify primitives (PROTOCOL.md §2.1)."""

from __future__ import annotations

import base58
import coincurve
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature
from hypothesis import given
from hypothesis import strategies as st

from nearintents.keys import (
    P256_N,
    SECP256K1_N,
    Curve,
    Ed25519SecretKey,
    KeyFormatError,
    PublicKey,
    Secp256k1SecretKey,
    Signature,
    implicit_account_id,
    keccak256,
    recover_secp256k1,
    verify_ed25519,
    verify_p256,
)

PK_LEN = {Curve.ED25519: 32, Curve.SECP256K1: 64, Curve.P256: 64}
SIG_LEN = {Curve.ED25519: 64, Curve.SECP256K1: 65, Curve.P256: 64}


def b58(data: bytes) -> str:
    return base58.b58encode(data).decode()


@st.composite
def public_keys(draw: st.DrawFn) -> PublicKey:
    curve = draw(st.sampled_from(list(Curve)))
    return PublicKey(curve, draw(st.binary(min_size=PK_LEN[curve], max_size=PK_LEN[curve])))


@st.composite
def signatures(draw: st.DrawFn) -> Signature:
    curve = draw(st.sampled_from(list(Curve)))
    data = draw(st.binary(min_size=SIG_LEN[curve], max_size=SIG_LEN[curve]))
    if curve is Curve.SECP256K1:
        data = data[:64] + bytes([draw(st.sampled_from([0, 1]))])
    return Signature(curve, data)


@given(public_keys())
def test_public_key_string_round_trip(pk: PublicKey) -> None:
    text = str(pk)
    assert text.startswith(f"{pk.curve}:")
    assert PublicKey.parse(text) == pk


@given(signatures())
def test_signature_string_round_trip(sig: Signature) -> None:
    assert Signature.parse(str(sig)) == sig


@given(st.sampled_from(list(Curve)), st.integers(min_value=1, max_value=80))
def test_wrong_lengths_are_rejected(curve: Curve, length: int) -> None:
    data = b"\x01" * length
    if length != PK_LEN[curve]:
        with pytest.raises(KeyFormatError):
            PublicKey.parse(f"{curve}:{b58(data)}")
    if length != SIG_LEN[curve]:
        with pytest.raises(KeyFormatError):
            Signature.parse(f"{curve}:{b58(data)}")


@pytest.mark.parametrize(
    "text",
    [
        "3KLfGdhUSYpdYtLvjRXDryT6Za5wEQHvhiJcBN398yjS",  # no curve prefix
        "ED25519:3KLfGdhUSYpdYtLvjRXDryT6Za5wEQHvhiJcBN398yjS",
        "ed448:3KLfGdhUSYpdYtLvjRXDryT6Za5wEQHvhiJcBN398yjS",
        "ed25519:",
        "ed25519:3KLfGdhUSYpdYtLvjRXDryT6Za5wEQHvhiJcBN398yj0",  # '0' is not base58
        "ed25519: 3KLfGdhUSYpdYtLvjRXDryT6Za5wEQHvhiJcBN398yjS",
        "ed25519:5TagutioHgKLh7KZ1VEFBYfgRkPtqnKm9LoMnJMJ",  # too short
        "secp256k1:p3UPfBR3kWxE2C8wF1855eguaoRvoW6jV5ZXbu3sTTCs",
        "p256:p3UPfBR3kWxE2C8wF1855eguaoRvoW6jV5ZXbu3sTTCs",
    ],
)
def test_malformed_public_key_strings(text: str) -> None:
    with pytest.raises(KeyFormatError):
        PublicKey.parse(text)


def test_non_string_is_a_key_format_error() -> None:
    with pytest.raises(KeyFormatError):
        PublicKey.parse(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("v", [2, 3, 27, 28, 255])
def test_secp256k1_signature_v_must_be_zero_or_one(v: int) -> None:
    encoded = b58(bytes([7]) * 64 + bytes([v]))
    with pytest.raises(KeyFormatError):
        Signature.parse(f"secp256k1:{encoded}")


# Implicit ids from the Verifier's own tests (near/intents core/src/public_key.rs).
@pytest.mark.parametrize(
    ("key", "account_id"),
    [
        (
            "ed25519:5TagutioHgKLh7KZ1VEFBYfgRkPtqnKm9LoMnJMJugxm",
            "423df0a6640e9467769c55a573f15b9ee999dc8970048959c72890abf5cc3a8e",
        ),
        (
            "secp256k1:3aMVMxsoAnHUbweXMtdKaN1uJaNwsfKv7wnc97SDGjXhyK62VyJwhPUPLZefKVthcoUcuWK6cqkSU4M542ipNxS3",
            "0xbff77166b39599e54e391156eef7b8191e02be92",
        ),
        (
            "p256:3aMVMxsoAnHUbweXMtdKaN1uJaNwsfKv7wnc97SDGjXhyK62VyJwhPUPLZefKVthcoUcuWK6cqkSU4M542ipNxS3",
            "0x7edf07ede58238026db3f90fc8032633b69b8de5",
        ),
    ],
)
def test_implicit_account_id_vectors(key: str, account_id: str) -> None:
    assert implicit_account_id(PublicKey.parse(key)) == account_id


def test_secp256k1_implicit_id_is_the_lowercase_ethereum_address() -> None:
    # Private key 1 has the well-known address 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf.
    key = Secp256k1SecretKey((1).to_bytes(32, "big"))
    assert implicit_account_id(key.public_key) == "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"


def test_keccak256_is_not_sha3() -> None:
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )


@given(public_keys())
def test_implicit_account_id_shape(pk: PublicKey) -> None:
    account_id = implicit_account_id(pk)
    assert account_id == account_id.lower()
    if pk.curve is Curve.ED25519:
        assert account_id == pk.data.hex()
    else:
        assert account_id.startswith("0x")
        assert len(account_id) == 42


# --- ed25519 ----------------------------------------------------------------------------------

RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")


def test_ed25519_rfc8032_vector() -> None:
    key = Ed25519SecretKey(RFC8032_SEED)
    assert key.public_key.data.hex() == (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    )
    assert key.sign(b"").data.hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
        "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )


@given(st.binary(min_size=32, max_size=32), st.binary(max_size=200))
def test_ed25519_sign_verify(seed: bytes, message: bytes) -> None:
    key = Ed25519SecretKey(seed)
    sig = key.sign(message)
    assert verify_ed25519(key.public_key, message, sig)
    assert not verify_ed25519(key.public_key, message + b"x", sig)


def test_ed25519_rejects_weak_public_key() -> None:
    # The identity point (small order): any "signature" with R = identity, s = 0 would pass a
    # naive cofactorless check for it.
    identity = PublicKey(Curve.ED25519, (1).to_bytes(32, "little"))
    forged = Signature(Curve.ED25519, (1).to_bytes(32, "little") + bytes(32))
    assert not verify_ed25519(identity, b"anything", forged)


@given(st.binary(min_size=32, max_size=32))
def test_near_secret_key_string_round_trip(seed: bytes) -> None:
    key = Ed25519SecretKey(seed)
    text = key.to_near_string()
    assert text.startswith("ed25519:")
    again = Ed25519SecretKey.from_near_string(text)
    assert again.public_key == key.public_key
    assert again.seed_bytes() == seed


def test_near_secret_key_with_foreign_public_half_is_rejected() -> None:
    seed = bytes(range(32))
    other = Ed25519SecretKey(bytes(32)).public_key.data
    with pytest.raises(KeyFormatError):
        Ed25519SecretKey.from_near_string(f"ed25519:{b58(seed + other)}")


@pytest.mark.parametrize(
    "text", ["ed25519:abc", "secp256k1:" + "2" * 80, "ed25519", f"ed25519:{'1' * 10}"]
)
def test_near_secret_key_malformed(text: str) -> None:
    with pytest.raises(KeyFormatError):
        Ed25519SecretKey.from_near_string(text)


def test_secret_keys_do_not_leak_in_repr_or_str() -> None:
    ed = Ed25519SecretKey(RFC8032_SEED)
    secp = Secp256k1SecretKey(b"\x42" * 32)
    for shown in (repr(ed), str(ed), f"{ed}"):
        assert b58(RFC8032_SEED) not in shown
        assert RFC8032_SEED.hex() not in shown
        assert ed.to_near_string().split(":")[1] not in shown
        assert str(ed.public_key) in shown
    for shown in (repr(secp), str(secp)):
        assert (b"\x42" * 32).hex() not in shown
        assert b58(b"\x42" * 32) not in shown
        assert str(secp.public_key) in shown


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_ed25519_seed_length(length: int) -> None:
    with pytest.raises(KeyFormatError):
        Ed25519SecretKey(bytes(length))


# --- secp256k1 --------------------------------------------------------------------------------

secp_secrets = st.integers(min_value=1, max_value=SECP256K1_N - 1).map(
    lambda k: k.to_bytes(32, "big")
)


@given(secp_secrets, st.binary(min_size=32, max_size=32))
def test_secp256k1_sign_recover(secret: bytes, digest: bytes) -> None:
    key = Secp256k1SecretKey(secret)
    assert key.public_key.data == coincurve.PrivateKey(secret).public_key.format(False)[1:]
    sig = key.sign_recoverable(digest)
    assert sig.data[64] in (0, 1)
    assert int.from_bytes(sig.data[32:64], "big") <= SECP256K1_N // 2
    assert recover_secp256k1(digest, sig) == key.public_key


@given(secp_secrets, st.binary(min_size=32, max_size=32))
def test_secp256k1_high_s_twin_is_refused(secret: bytes, digest: bytes) -> None:
    sig = Secp256k1SecretKey(secret).sign_recoverable(digest)
    s = int.from_bytes(sig.data[32:64], "big")
    twin = Signature(
        Curve.SECP256K1,
        sig.data[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([sig.data[64] ^ 1]),
    )
    # The twin is a mathematically valid signature by the same key...
    recovered = coincurve.PublicKey.from_signature_and_message(twin.data, digest, hasher=None)
    assert recovered.format(False)[1:] == Secp256k1SecretKey(secret).public_key.data
    # ...which the Verifier refuses as malleable.
    assert recover_secp256k1(digest, twin) is None


# Verifier crate vector (crates/crypto/src/secp256k1.rs, also the erc191 "Hello world!" case).
def test_secp256k1_contract_vector() -> None:
    pk = bytes.fromhex(
        "85a66984273f338ce4ef7b85e5430b008307e8591bb7c1b980852cf6423770b8"
        "01f41e9438155eb53a5e20f748640093bb42ae3aeca035f7b7fd7a1a21f22f68"
    )
    digest = bytes.fromhex("aa05af77f274774b8bdc7b61d98bc40da523dc2821fdea555f4d6aa413199bcc")
    sig = bytes.fromhex(
        "7800a70d05cde2c49ed546a6ce887ce6027c2c268c0285f6efef0cdfc4366b23"
        "643790f67a86468ee8301ed12cfffcb07c6530f90a9327ec057800fabd332e4701"
    )
    assert recover_secp256k1(digest, Signature(Curve.SECP256K1, sig)) == PublicKey(
        Curve.SECP256K1, pk
    )


@pytest.mark.parametrize("r_s", [(0, 1), (1, 0), (SECP256K1_N, 1), (1, SECP256K1_N - 1)])
def test_secp256k1_out_of_range_r_s(r_s: tuple[int, int]) -> None:
    r, s = r_s
    sig = Signature(Curve.SECP256K1, r.to_bytes(32, "big") + s.to_bytes(32, "big") + b"\x00")
    assert recover_secp256k1(b"\x01" * 32, sig) is None


def test_secp256k1_digest_must_be_32_bytes() -> None:
    key = Secp256k1SecretKey(b"\x42" * 32)
    with pytest.raises(ValueError, match="32-byte"):
        key.sign_recoverable(b"\x00" * 31)
    assert recover_secp256k1(b"\x00" * 31, key.sign_recoverable(b"\x00" * 32)) is None


@pytest.mark.parametrize("secret", [bytes(32), SECP256K1_N.to_bytes(32, "big"), b"\x01" * 31])
def test_secp256k1_secret_range(secret: bytes) -> None:
    with pytest.raises(KeyFormatError):
        Secp256k1SecretKey(secret)


def test_secp256k1_generate_gives_distinct_working_keys() -> None:
    a, b = Secp256k1SecretKey.generate(), Secp256k1SecretKey.generate()
    assert a.public_key != b.public_key
    assert recover_secp256k1(b"\x05" * 32, a.sign_recoverable(b"\x05" * 32)) == a.public_key


# --- p256 -------------------------------------------------------------------------------------


def _p256_sign(private: ec.EllipticCurvePrivateKey, digest: bytes) -> tuple[PublicKey, int, int]:
    r, s = decode_dss_signature(private.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))))
    point = private.public_key().public_numbers()
    pk = PublicKey(Curve.P256, point.x.to_bytes(32, "big") + point.y.to_bytes(32, "big"))
    return pk, r, s


@given(st.binary(min_size=32, max_size=32))
def test_p256_low_s_accepted_high_s_rejected(digest: bytes) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    pk, r, s = _p256_sign(private, digest)
    low, high = min(s, P256_N - s), max(s, P256_N - s)

    def sig(s_value: int) -> Signature:
        return Signature(Curve.P256, r.to_bytes(32, "big") + s_value.to_bytes(32, "big"))

    assert verify_p256(pk, digest, sig(low))
    # The Verifier rejects (does not normalise) the malleable twin (crates/crypto/src/p256.rs).
    assert not verify_p256(pk, digest, sig(high))
    assert not verify_p256(pk, bytes(32) if digest != bytes(32) else b"\x01" * 32, sig(low))


def test_p256_point_not_on_curve() -> None:
    pk = PublicKey(Curve.P256, b"\x01" * 64)
    assert not verify_p256(pk, b"\x00" * 32, Signature(Curve.P256, b"\x01" * 64))


def test_curve_mismatch_never_verifies() -> None:
    key = Ed25519SecretKey(RFC8032_SEED)
    sig = key.sign(b"m")
    assert not verify_p256(PublicKey(Curve.P256, b"\x01" * 64), b"\x00" * 32, sig)
    assert recover_secp256k1(b"\x00" * 32, sig) is None
    assert not verify_ed25519(PublicKey(Curve.P256, b"\x01" * 64), b"m", sig)
