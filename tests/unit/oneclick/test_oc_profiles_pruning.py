"""Compatibility profiles without HTTP: the generated 0.1.10 table is the reference spec, the Rust
table is that spec plus later fields, selection order, and pruning only ever removes."""

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from oneclick.api.profiles import rust_v0, spec_v0_1_10
from oneclick.api.profiles.catalog import (
    CLIENT_APIS,
    Profile,
    UnknownProfile,
    render,
    select_profile,
)
from oneclick.api.profiles.shapes import (
    Node,
    module_source,
    prune,
    responses_from_openapi,
    schemas_from_openapi,
)

REFERENCE = Path(__file__).parents[2] / "fixtures" / "openapi-v0.1.10.yaml"
STRICT_API = CLIENT_APIS[Profile.V0_1_10_STRICT]
RUST_API = CLIENT_APIS[Profile.RUST_V0]
STATUS = Node(ref="GetExecutionStatusResponse")


def _reference() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(REFERENCE.read_text())
    return document


def is_pruned_subset(small: Any, big: Any) -> bool:
    """``small`` is ``big`` with object properties or list items removed, nothing else."""
    if isinstance(big, dict):
        return (isinstance(small, dict) and small.keys() <= big.keys()
                and all(is_pruned_subset(v, big[k]) for k, v in small.items()))  # fmt: skip
    if isinstance(big, list):
        if not isinstance(small, list):
            return False
        rest = iter(big)  # an order-preserving subsequence
        return all(any(is_pruned_subset(item, candidate) for candidate in rest) for item in small)
    return type(small) is type(big) and small == big


def test_the_generated_table_is_the_reference_spec() -> None:
    document = _reference()
    assert schemas_from_openapi(document) == spec_v0_1_10.SCHEMAS, (
        "regenerate: module_source(spec) > src/oneclick/api/profiles/spec_v0_1_10.py; ruff format"
    )
    assert responses_from_openapi(document) == spec_v0_1_10.RESPONSES
    assert "SCHEMAS" in module_source(document, str(REFERENCE))


def test_the_rust_models_are_the_reference_plus_later_fields() -> None:
    """A check of the transcription: the crate was generated from 0.1.10 and then widened."""
    for name, shape in spec_v0_1_10.SCHEMAS.items():
        rust = rust_v0.SCHEMAS[name]
        assert set(shape.required) <= set(rust.required), name
        for key, node in shape.properties.items():
            theirs = rust.properties[key]
            assert (theirs.ref, theirs.items) == (node.ref, node.items), (name, key)
            if node.enum is not None:
                assert theirs.enum is not None
                assert set(node.enum) <= set(theirs.enum), (name, key)
    assert "correlationId" in rust_v0.SCHEMAS["QuoteResponse"].required
    assert "ANY_INPUT" in (rust_v0.SCHEMAS["QuoteRequest"].properties["swapType"].enum or ())
    assert {("GET", "/v0/tokens"), ("GET", "/v0/any-input/withdrawals")} <= set(rust_v0.RESPONSES)


@pytest.mark.parametrize(
    ("compat", "agent", "expected"),
    [
        (None, None, Profile.FULL),
        (None, "OpenAPI-Generator/1.0.0/go", Profile.V0_1_10_STRICT),
        (None, " OpenAPI-Generator/0.1.10/rust ", Profile.RUST_V0),
        (None, "OpenAPI-Generator/0.1.11/rust", Profile.FULL),  # a later crate: not assumed
        (None, "Mozilla/5.0", Profile.FULL),
        ("full", "OpenAPI-Generator/1.0.0/go", Profile.FULL),
        ("V0.1.10-STRICT", None, Profile.V0_1_10_STRICT),
        ("rust-v0", "OpenAPI-Generator/1.0.0/go", Profile.RUST_V0),
    ],
)
def test_selection_header_first_then_user_agent(
    compat: str | None, agent: str | None, expected: Profile
) -> None:
    assert select_profile(compat, agent) is expected


@pytest.mark.parametrize("compat", ["", "strict", "v0.1.9-strict", "full,rust-v0"])
def test_an_unknown_profile_names_the_valid_ones(compat: str) -> None:
    with pytest.raises(UnknownProfile) as raised:
        select_profile(compat, "OpenAPI-Generator/1.0.0/go")
    assert raised.value.status_code == 400
    assert all(p.value in raised.value.message for p in Profile)


def _engine_status_body() -> dict[str, Any]:
    """A status body with every field the full surface may carry once the engine fills
    ``swapDetails`` (PROTOCOL.md §5.4), including ones 0.1.10 does not know."""
    tx = {"hash": "0x1", "explorerUrl": "https://etherscan.io/tx/0x1"}
    return {
        "correlationId": "c0ffee00-0000-4000-8000-000000000000",
        "quoteResponse": {
            "correlationId": "c0ffee00-0000-4000-8000-000000000001",
            "timestamp": "2026-01-01T12:00:00.000Z",
            "signature": "ed25519:sig",
            "quoteRequest": {
                "dry": False, "swapType": "EXACT_INPUT", "slippageTolerance": 100,
                "originAsset": "a", "depositType": "ORIGIN_CHAIN", "destinationAsset": "b",
                "amount": "1", "refundTo": "r", "refundType": "ORIGIN_CHAIN", "recipient": "x",
                "recipientType": "DESTINATION_CHAIN", "deadline": "2026-01-01T14:00:00.000Z",
                "customRecipientMsg": "m", "appFees": [{"recipient": "p.near", "fee": 1}],
            },
            "quote": {
                "amountIn": "1", "amountInFormatted": "1", "amountInUsd": "1", "minAmountIn": "1",
                "amountOut": "1", "amountOutFormatted": "1", "amountOutUsd": "1",
                "minAmountOut": "1", "timeEstimate": 10, "refundFee": "5", "withdrawFee": "6",
                "chainDepositAddresses": [{"blockchain": "stellar", "address": "G"}],
            },
        },
        "status": "REFUNDED",
        "updatedAt": "2026-01-01T12:00:00.000Z",
        "swapDetails": {
            "intentHashes": ["h"], "nearTxHashes": ["n"], "amountIn": "1", "slippage": 3,
            "originChainTxHashes": [tx, {"hash": "0x2"}],  # the second: no explorer known
            "destinationChainTxHashes": [], "refundedAmount": "1", "refundReason": "EXPIRED",
            "depositedAmount": "1", "withdrawFee": "6", "referral": "myapp",
        },
    }  # fmt: skip


def test_strict_keeps_exactly_the_reference_properties_of_a_rich_status() -> None:
    full = _engine_status_body()
    pruned = prune(full, STATUS, STRICT_API)
    assert pruned.unrepresentable == []
    body = pruned.body
    assert isinstance(body, dict)
    assert is_pruned_subset(body, full)
    assert "correlationId" not in body
    assert "correlationId" not in body["quoteResponse"]
    assert set(body["quoteResponse"]["quote"]) == set(full["quoteResponse"]["quote"]) - {
        "refundFee", "withdrawFee", "chainDepositAddresses"}  # fmt: skip
    assert "customRecipientMsg" not in body["quoteResponse"]["quoteRequest"]
    details = body["swapDetails"]
    assert set(full["swapDetails"]) - set(details) == {"refundReason", "depositedAmount",
                                                       "withdrawFee", "referral"}  # fmt: skip
    # A transaction without an explorer URL cannot be decoded by Go: it is left out, not faked.
    assert details["originChainTxHashes"] == [full["swapDetails"]["originChainTxHashes"][0]]


def test_rust_keeps_unknown_fields_and_every_value() -> None:
    full = _engine_status_body()
    pruned = prune(full, STATUS, RUST_API)
    assert pruned.unrepresentable == []
    # Only the item the Rust struct cannot decode (no explorerUrl) goes.
    expected = _engine_status_body()
    del expected["swapDetails"]["originChainTxHashes"][1]
    assert pruned.body == expected


def test_what_cannot_be_represented_is_reported_never_invented(
    caplog: pytest.LogCaptureFixture,
) -> None:
    full = _engine_status_body()
    del full["updatedAt"]
    full["status"] = "SWAPPING"  # a status no client knows
    pruned = prune(full, STATUS, RUST_API)
    assert isinstance(pruned.body, dict)
    assert "updatedAt" not in pruned.body
    assert pruned.body["status"] == "SWAPPING"
    assert sorted(pruned.unrepresentable) == [
        "$.status: 'SWAPPING' is not a value it knows",
        "$.updatedAt: required by the client, absent",
    ]
    with caplog.at_level(logging.WARNING):
        served = render(Profile.RUST_V0, "GET", "/v0/status", 200, full)
    assert served == pruned.body
    assert "not representable in profile rust-v0" in caplog.text


def test_render_by_operation_and_status() -> None:
    error = {"message": "nope", "correlationId": "c"}
    for status in (400, 401, 404, 409, 500, 503):
        assert render(Profile.V0_1_10_STRICT, "GET", "/v0/status", status, error) == {
            "message": "nope"
        }
        assert render(Profile.V0_1_10_STRICT, "POST", "/v0/submit-intent", status, error) == {
            "message": "nope"
        }
        assert render(Profile.RUST_V0, "GET", "/v0/status", status, error) == error
    newer = {"intentHash": "h", "correlationId": "c"}
    assert render(Profile.V0_1_10_STRICT, "POST", "/v0/submit-intent", 200, newer) == newer
    assert render(Profile.V0_1_10_STRICT, "GET", "/openapi.json", 200, newer) == newer
    full = _engine_status_body()
    assert render(Profile.FULL, "GET", "/v0/status", 200, full) is full


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5)
    | st.sampled_from(["near", "stellar", "SUCCESS", "SWAPPING", "INTENTS", "FLEX_INPUT"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(
        st.sampled_from(sorted({k for s in rust_v0.SCHEMAS.values() for k in s.properties}
                               | {"extra", "correlationId"})),
        inner, max_size=6),
    max_leaves=25,
)  # fmt: skip


@given(body=_JSON, ref=st.sampled_from(sorted(spec_v0_1_10.SCHEMAS)), as_list=st.booleans())
def test_pruning_only_ever_removes(body: Any, ref: str, as_list: bool) -> None:
    node = Node(items=Node(ref=ref)) if as_list else Node(ref=ref)
    for api in (STRICT_API, RUST_API):
        assert is_pruned_subset(prune(body, node, api).body, body)
