"""Client inputs that land in bounded columns are checked at the edge: a clear 400 on SQLite and
PostgreSQL alike (PostgreSQL refuses a ``String(64)`` overflow that SQLite would store: a 500)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from oc_helpers import ON_BOTH_DATABASES, quote_request

from nearintents.keys import Ed25519SecretKey, implicit_account_id
from nearintents.nonce import encode_nonce_b64
from nearintents.standards import raw_ed25519
from oneclick.testing.world import FakeWorld

LONG_ACCOUNT = "a" * 60 + ".near"  # 65 characters: one more than NEAR (and the column) allows


pytestmark = ON_BOTH_DATABASES


async def test_deposit_submit_bounds_the_sender_account_and_memo(
    client: httpx.AsyncClient,
) -> None:
    quote = await client.post("/v0/quote", json=quote_request())
    address = quote.json()["quote"]["depositAddress"]
    base = {"txHash": "ab" * 32, "depositAddress": address}
    long_sender = await client.post(
        "/v0/deposit/submit", json={**base, "nearSenderAccount": LONG_ACCOUNT}
    )
    assert long_sender.status_code == 400, long_sender.text
    assert "nearSenderAccount" in long_sender.json()["message"]
    long_memo = await client.post("/v0/deposit/submit", json={**base, "memo": "1" * 65})
    assert long_memo.status_code == 400, long_memo.text
    good = await client.post(
        "/v0/deposit/submit", json={**base, "nearSenderAccount": "a" * 59 + ".near"}
    )
    assert good.status_code == 200, good.text


def _signed_transfer(world: FakeWorld, receiver: str, **change: object) -> dict[str, object]:
    key = Ed25519SecretKey.generate()
    payload = {
        "signer_id": implicit_account_id(key.public_key),
        "verifying_contract": world.ctx.policy.verifier_contract,
        "deadline": (world.clock.now() + timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
        "nonce": encode_nonce_b64(bytes(32)),
        "intents": [{"intent": "transfer", "receiver_id": receiver,
                     "tokens": {"nep141:btc.omft.near": "10000"}}],
    }  # fmt: skip
    payload.update(change)
    return raw_ed25519.sign(json.dumps(payload), key)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"signer_id": LONG_ACCOUNT}, "signer_id"),
        ({"nonce": "A" * 80}, "nonce"),
        ({"nonce": 7}, "nonce"),
    ],
)
async def test_submit_intent_bounds_signer_and_nonce(
    client: httpx.AsyncClient, world: FakeWorld, change: dict[str, object], field: str
) -> None:
    quote = await client.post("/v0/quote", json=quote_request(depositType="INTENTS"))
    address = quote.json()["quote"]["depositAddress"]
    ok = _signed_transfer(world, address)
    answer = await client.post("/v0/submit-intent",
                               json={"type": "swap_transfer", "signedData": ok})  # fmt: skip
    assert answer.status_code == 200, answer.text  # the same transfer, well formed, is taken
    bad = _signed_transfer(world, address, **change)
    refused = await client.post(
        "/v0/submit-intent", json={"type": "swap_transfer", "signedData": bad}
    )
    assert refused.status_code == 400, refused.text
    assert field in refused.json()["message"]
