import copy
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import base58
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nearintents.quote_signature import (
    PRODUCTION_PUBLIC_KEY,
    STAGING_PUBLIC_KEY,
    QuoteSignatureError,
    canonical_string,
    public_key_of,
    quote_hash,
    sign_quote,
    signed_fields,
    verify_quote_signature,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "vectors.json").read_text()
)["quote_signature"]
CASES = {case["name"]: case for case in VECTORS["cases"]}


def _response(name: str) -> dict[str, Any]:
    response: dict[str, Any] = copy.deepcopy(CASES[name]["response"])
    return response


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda case: case["name"])
def test_every_vector_case(case: dict[str, Any]) -> None:
    response = case["response"]
    if "canonical_string" in case:
        assert canonical_string(response) == case["canonical_string"]
    if "quote_hash" in case:
        assert quote_hash(response) == case["quote_hash"]
    assert verify_quote_signature(response, VECTORS["public_key"]) is case["valid"]


def test_vectors_use_the_staging_key() -> None:
    assert VECTORS["public_key"] == STAGING_PUBLIC_KEY
    assert not verify_quote_signature(_response("non_dry"), PRODUCTION_PUBLIC_KEY)


def test_hash_is_base58_sha256_of_the_canonical_string() -> None:
    response = _response("non_dry")
    digest = hashlib.sha256(canonical_string(response).encode()).digest()
    assert quote_hash(response) == base58.b58encode(digest).decode()


def test_status_echo_signs_the_same_as_the_quote() -> None:
    assert canonical_string(_response("status_echo_with_nulls")) == canonical_string(
        _response("non_dry")
    )


def test_sign_then_verify_with_a_fresh_key() -> None:
    seed = os.urandom(32)
    response = _response("non_dry")
    response["signature"] = sign_quote(response, seed)
    assert response["signature"].startswith("ed25519:")
    assert len(base58.b58decode(response["signature"].removeprefix("ed25519:"))) == 64
    public_key = public_key_of(seed)
    assert verify_quote_signature(response, public_key)
    # The SDK also accepts keys and signatures without the curve prefix.
    assert verify_quote_signature(response, public_key.removeprefix("ed25519:"))
    assert not verify_quote_signature(response, STAGING_PUBLIC_KEY)
    response["quote"]["amountOut"] = "5931561"
    assert not verify_quote_signature(response, public_key)


def test_signature_is_over_the_ascii_hash_text() -> None:
    import nacl.signing

    seed = bytes(range(32))
    response = _response("dry")
    signature = sign_quote(response, seed)
    expected = nacl.signing.SigningKey(seed).sign(quote_hash(response).encode("ascii")).signature
    assert base58.b58decode(signature.removeprefix("ed25519:")) == expected


@pytest.mark.parametrize(
    "signature",
    [
        None,
        42,
        "",
        "ed25519:",
        "ed25519:0OIl",
        "secp256k1:53wcpim7FDNLbBHVezUpakthWq2TR9Lag3PwW3e8Cxmz4bFEodcc4rui5BiVHRRaHocYE9URVapz",
        "ed25519:" + base58.b58encode(bytes(63)).decode(),
        "ed25519:" + base58.b58encode(bytes(64)).decode(),
    ],
)
def test_malformed_signature_is_false_not_an_error(signature: object) -> None:
    response = _response("non_dry")
    response["signature"] = signature
    assert verify_quote_signature(response, VECTORS["public_key"]) is False


@pytest.mark.parametrize(
    "public_key",
    [
        "",
        "ed25519:",
        "ed25519:!!!",
        "ed25519:" + base58.b58encode(bytes(31)).decode(),
        "p256:5J5tkaxyPoR3Q9S8LXfo5bWnXK5Z2bctJ4mB9gENh7co",
        None,
    ],
)
def test_malformed_public_key_is_false_not_an_error(public_key: Any) -> None:
    assert verify_quote_signature(_response("non_dry"), public_key) is False


@pytest.mark.parametrize(
    "response",
    [
        {},
        [],
        "quote",
        {"signature": "x"},
        {"signature": "x", "quoteRequest": None, "quote": {}},
        {"signature": "x", "quoteRequest": {}, "quote": []},
    ],
)
def test_malformed_response_is_false_not_an_error(response: Any) -> None:
    assert verify_quote_signature(response, VECTORS["public_key"]) is False


def test_malformed_response_raises_for_hashing() -> None:
    with pytest.raises(QuoteSignatureError):
        quote_hash({"quoteRequest": {}, "quote": None})
    with pytest.raises(QuoteSignatureError):
        canonical_string({"quoteRequest": {}, "quote": {"amountIn": object()}})


def test_sign_rejects_bad_seed() -> None:
    with pytest.raises(QuoteSignatureError):
        sign_quote(_response("dry"), bytes(31))


# --- the JavaScript rules of §5.13 ------------------------------------------------------------


def test_falsy_optional_request_fields_are_dropped_truthy_kept() -> None:
    response = _response("dry")
    request = response["quoteRequest"]
    request.update(quoteWaitingTimeMs=0, referral="", virtualChainRecipient=None)
    fields = signed_fields(response)
    assert "quoteWaitingTimeMs" not in fields
    assert "referral" not in fields
    assert "virtualChainRecipient" not in fields
    request.update(quoteWaitingTimeMs=3000, referral="my-app")
    fields = signed_fields(response)
    assert fields["quoteWaitingTimeMs"] == 3000
    assert fields["referral"] == "my-app"


def test_excluded_request_fields_never_signed() -> None:
    response = _response("non_dry")
    response["quoteRequest"].update(
        sessionId="s", connectedWallets=["w"], partnerId="p", userAccountId="u", rebates=[]
    )
    assert canonical_string(response) == CASES["non_dry"]["canonical_string"]


def test_non_dry_quote_without_deadline_erases_the_request_deadline() -> None:
    response = _response("non_dry")
    del response["quote"]["deadline"]
    fields = signed_fields(response)
    assert "deadline" not in fields
    response["quote"]["deadline"] = ""
    assert "deadline" not in signed_fields(response)


def test_dry_quote_keeps_the_request_deadline_and_ignores_deposit_fields() -> None:
    response = _response("dry")
    response["quote"]["depositAddress"] = "bc1qwhatever"
    fields = signed_fields(response)
    assert fields["deadline"] == response["quoteRequest"]["deadline"]
    assert "depositAddress" not in fields
    assert canonical_string(response) == CASES["dry"]["canonical_string"]


def test_present_null_in_an_always_field_is_kept() -> None:
    response = _response("dry")
    response["quoteRequest"]["recipient"] = None
    assert '"recipient":null' in canonical_string(response)
    del response["quoteRequest"]["recipient"]
    assert '"recipient"' not in canonical_string(response)


def test_js_truthiness_of_containers() -> None:
    response = _response("non_dry")
    response["quote"]["depositMemo"] = []  # truthy in JS, unlike Python
    assert '"depositMemo":[]' in canonical_string(response)


def test_missing_dry_means_full_quote() -> None:
    response = _response("non_dry")
    del response["quoteRequest"]["dry"]
    fields = signed_fields(response)
    assert "dry" not in fields
    assert fields["depositAddress"] == response["quote"]["depositAddress"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (100, "100"),
        (0.5, "0.5"),
        (100.0, "100"),
        (-0.0, "0"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (1.5e-6, "0.0000015"),
        (123456789012345680000.0, "123456789012345680000"),
        (2**53 + 1, "9007199254740992"),  # what a JS client holds after parsing
        (2**60, "1152921504606847000"),
        (float("nan"), "null"),
        (True, "true"),
    ],
)
def test_numbers_print_like_json_stringify(value: object, text: str) -> None:
    response = _response("dry")
    response["quoteRequest"]["slippageTolerance"] = value
    assert f'"slippageTolerance":{text},' in canonical_string(response)


def test_strings_escape_like_json_stringify() -> None:
    response = _response("dry")
    response["quoteRequest"]["recipient"] = 'a"b\\c\n\x01\x7fé€😀\ud800'
    expected = '"recipient":"a\\"b\\\\c\\n\\u0001\x7fé€😀\\ud800"'
    assert expected in canonical_string(response)
    quote_hash(response)  # encodes to UTF-8 without error


def test_nested_keys_sort_by_utf16_code_units() -> None:
    response = _response("non_dry")
    response["quote"]["depositMemo"] = {"\U0001f600": 1, "\uff5e": 2, "b": {"z": 1, "a": None}}
    assert '"depositMemo":{"b":{"a":null,"z":1},"\U0001f600":1,"\uff5e":2}' in canonical_string(
        response
    )


@given(
    st.dictionaries(
        st.sampled_from(["amountIn", "amountOut", "minAmountOut", "depositAddress", "refundFee"]),
        st.text(max_size=20),
    )
)
def test_canonical_string_is_valid_json_of_the_signed_fields(overrides: dict[str, str]) -> None:
    response = _response("non_dry")
    response["quote"].update(overrides)
    text = canonical_string(response)
    assert json.loads(text) == signed_fields(response)
    assert list(json.loads(text)) == sorted(json.loads(text))
