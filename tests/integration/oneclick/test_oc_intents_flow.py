"""generate-intent → the user's wallet signs → submit-intent → published through the relay."""

import json

import httpx
import pytest
from oc_helpers import quote_request

from nearintents import signing
from nearintents.keys import Ed25519SecretKey, Secp256k1SecretKey, implicit_account_id
from nearintents.standards import erc191
from oneclick.testing.world import FakeWorld


async def _intents_quote(client: httpx.AsyncClient) -> str:
    response = await client.post("/v0/quote", json=quote_request(depositType="INTENTS"))
    assert response.status_code == 200
    return response.json()["quote"]["depositAddress"]


def _sign(standard: str, payload: object, key: object) -> dict:
    if standard == "nep413":
        assert isinstance(payload, dict)
        assert isinstance(key, Ed25519SecretKey)
        from nearintents.encoding import b64decode
        from nearintents.standards import nep413

        return nep413.sign(
            payload["message"], b64decode(payload["nonce"]), payload["recipient"], key
        )
    if standard == "erc191":
        assert isinstance(key, Secp256k1SecretKey)
        return erc191.sign(str(payload), key)
    from nearintents.standards import raw_ed25519

    assert isinstance(key, Ed25519SecretKey)
    return raw_ed25519.sign(str(payload), key)


@pytest.mark.parametrize("standard", ["nep413", "erc191", "raw_ed25519"])
async def test_transfer_round_trip(
    client: httpx.AsyncClient, world: FakeWorld, standard: str
) -> None:
    address = await _intents_quote(client)
    key: Ed25519SecretKey | Secp256k1SecretKey
    key = Secp256k1SecretKey.generate() if standard == "erc191" else Ed25519SecretKey.generate()
    signer = implicit_account_id(key.public_key)
    generated = await client.post(
        "/v0/generate-intent",
        json={"type": "swap_transfer", "standard": standard, "signerId": signer,
              "depositAddress": address},
    )  # fmt: skip
    assert generated.status_code == 200, generated.text
    intent = generated.json()["intent"]
    assert intent["standard"] == standard
    signed = _sign(standard, intent["payload"], key)
    payload = signing.extract_payload(signed)
    assert payload["signer_id"] == signer
    assert payload["intents"] == [
        {"intent": "transfer", "receiver_id": address, "tokens": {"nep141:btc.omft.near": "10000"}}
    ]
    submitted = await client.post(
        "/v0/submit-intent", json={"type": "swap_transfer", "signedData": signed}
    )
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["intentHash"] == signing.intent_hash(signed)
    assert world.relay.published == [signed]
    async with world.store.transaction() as tx:
        stored = await tx.intents.get(submitted.json()["intentHash"])
    assert stored is not None
    assert stored.state.value == "PUBLISHED"
    assert json.loads(stored.signed_data) == signed


async def test_tampered_or_foreign_intents_are_refused(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    address = await _intents_quote(client)
    key = Ed25519SecretKey.generate()
    generated = await client.post(
        "/v0/generate-intent",
        json={"type": "swap_transfer", "standard": "raw_ed25519",
              "signerId": implicit_account_id(key.public_key), "depositAddress": address},
    )  # fmt: skip
    signed = _sign("raw_ed25519", generated.json()["intent"]["payload"], key)
    tampered = dict(signed, payload=signed["payload"].replace("10000", "10001"))
    response = await client.post(
        "/v0/submit-intent", json={"type": "swap_transfer", "signedData": tampered}
    )
    assert response.status_code == 400
    assert "not a valid signed intent" in response.json()["message"]
    other = json.loads(signed["payload"])
    other["intents"][0]["receiver_id"] = "someone.near"
    foreign = _sign("raw_ed25519", json.dumps(other, separators=(",", ":")), key)
    response = await client.post(
        "/v0/submit-intent", json={"type": "swap_transfer", "signedData": foreign}
    )
    assert response.status_code == 404
    assert world.relay.published == []


async def test_generate_intent_rules(client: httpx.AsyncClient) -> None:
    origin_chain = (await client.post("/v0/quote", json=quote_request())).json()["quote"]
    body = {"type": "swap_transfer", "standard": "nep413", "signerId": "alice.near",
            "depositAddress": origin_chain["depositAddress"]}  # fmt: skip
    assert (await client.post("/v0/generate-intent", json=body)).status_code == 404
    body["depositAddress"] = await _intents_quote(client)
    for change in ({"standard": "nope"}, {"type": "other"}, {"signerId": "Not Valid"}):
        response = await client.post("/v0/generate-intent", json={**body, **change})
        assert response.status_code == 400, change


async def test_a_relay_rejection_is_reported(client: httpx.AsyncClient, world: FakeWorld) -> None:
    address = await _intents_quote(client)
    key = Ed25519SecretKey.generate()
    generated = await client.post(
        "/v0/generate-intent",
        json={"type": "swap_transfer", "standard": "raw_ed25519",
              "signerId": implicit_account_id(key.public_key), "depositAddress": address},
    )  # fmt: skip
    signed = _sign("raw_ed25519", generated.json()["intent"]["payload"], key)
    world.relay.reject_reason = "insufficient balance or overflow"
    response = await client.post(
        "/v0/submit-intent", json={"type": "swap_transfer", "signedData": signed}
    )
    assert response.status_code == 400
    assert "insufficient balance" in response.json()["message"]
