"""The official TypeScript SDK's verifyQuoteSignature agrees with the published quote-signature
vectors: every valid case verifies, the tampered one does not. This proves the harness that the
API conformance tests use to check our own signed quotes with the SDK."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "vectors.json").read_text()
)["quote_signature"]


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda case: case["name"])
def test_sdk_verifies_quote_signature_vectors(
    ts_verify_quote: Callable[[dict[str, Any], str], bool], case: dict[str, Any]
) -> None:
    assert ts_verify_quote(case["response"], VECTORS["public_key"]) is case["valid"]


def test_vectors_cover_valid_and_tampered_cases() -> None:
    outcomes = [case["valid"] for case in VECTORS["cases"]]
    assert True in outcomes
    assert False in outcomes
