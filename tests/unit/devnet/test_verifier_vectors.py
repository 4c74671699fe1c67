"""Every signed vector of the fixtures runs through ``simulate_intents`` and yields the expected
intent hash (PROTOCOL.md §2.5-§2.8); the ERC-191 vector signed by another key fails on the key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devnet.verifier import ManualClock, Verifier, VerifierError
from nearintents import signing

VECTORS = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "vectors.json").read_text(encoding="utf-8")
)
CASES: list[dict[str, Any]] = VECTORS["multipayload_intent_hashes"]["cases"]
# All vectors use legacy nonces; their deadlines are in 2025 and 2035.
BEFORE_DEADLINES = datetime(2025, 1, 1, tzinfo=UTC)


def multipayload(case: dict[str, Any]) -> dict[str, Any]:
    keep = ("standard", "payload", "public_key", "signature")
    return {k: case[k] for k in keep if k in case}


def signer_of(case: dict[str, Any]) -> str:
    return str(signing.extract_payload(multipayload(case))["signer_id"])


@pytest.fixture
def ledger() -> Iterator[Verifier]:
    with Verifier.open(clock=ManualClock(BEFORE_DEADLINES)) as v:
        yield v


MATCHING = [c for c in CASES if c.get("recovered_signer", signer_of(c)) == signer_of(c)]
MISMATCHED = [c for c in CASES if c not in MATCHING]


def test_the_fixture_has_one_mismatched_erc191_case() -> None:
    assert len(MISMATCHED) == 1
    assert MISMATCHED[0]["standard"] == "erc191"


@pytest.mark.parametrize("case", MATCHING, ids=[c["standard"] for c in MATCHING])
def test_simulate_gives_the_expected_intent_hash(ledger: Verifier, case: dict[str, Any]) -> None:
    mp = multipayload(case)
    out = ledger.simulate_intents([mp])
    assert out["intents_executed"] == [
        {
            "intent_hash": case["expected_intent_hash"],
            "account_id": signer_of(case),
            "nonce": signing.extract_payload(mp)["nonce"],
        }
    ]
    assert "invariant_violated" not in out
    # Simulation never commits: the nonce is still free.
    assert not ledger.is_nonce_used(signer_of(case), signing.extract_payload(mp)["nonce"])


def test_erc191_signed_by_another_key_is_rejected_for_the_key(ledger: Verifier) -> None:
    case = MISMATCHED[0]
    mp = multipayload(case)
    recovered_key = signing.verify(mp)
    with pytest.raises(VerifierError) as raised:
        ledger.simulate_intents([mp])
    assert str(raised.value) == (
        f"public key '{recovered_key}' doesn't exist for account '{signer_of(case)}'"
    )


def test_erc191_mismatch_hashes_as_expected_once_the_key_is_registered(ledger: Verifier) -> None:
    # The same bytes: register the recovering key for signer_id (a direct call, authenticated by
    # predecessor) and fund the withdrawal; the hash is then reported as expected.
    case = MISMATCHED[0]
    mp = multipayload(case)
    signer = signer_of(case)
    ledger.add_public_key(signer, signing.verify(mp)).ensure_success()
    ledger.ft_on_transfer("btc.omft.near", signer, 100_000_000).ensure_success()
    out = ledger.simulate_intents([mp])
    assert out["intents_executed"][0]["intent_hash"] == case["expected_intent_hash"]
