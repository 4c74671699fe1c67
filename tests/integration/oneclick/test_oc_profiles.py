"""Compatibility profiles over HTTP. Under ``v0.1.10-strict`` every response of every endpoint and
status validates against the reference spec with every object closed; under ``rust-v0`` every
enum value is one the Rust SDK knows; every profiled body is the full one with exactly the
out-of-profile properties (or tokens) removed; the SDKs' default user agents pick their profile."""

import copy
import functools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import yaml
from oc_helpers import quote_request
from sqlalchemy import update

from nearintents.keys import Ed25519SecretKey, implicit_account_id
from oneclick.domain.swaps import SwapStatus
from oneclick.services.partners import add_partner
from oneclick.store.tables import swaps
from oneclick.testing.world import FakeWorld

REFERENCE = Path(__file__).parents[2] / "fixtures" / "openapi-v0.1.10.yaml"
STRICT = "v0.1.10-strict"
RUST = "rust-v0"
GO_USER_AGENT = "OpenAPI-Generator/1.0.0/go"
RUST_USER_AGENT = "OpenAPI-Generator/0.1.10/rust"

# The Rust SDK's closed enums (one-click-sdk-rs, v0/src/models, commit f9741c3), as test data.
RUST_BLOCKCHAINS = {
    "near", "eth", "base", "arb", "btc", "sol", "ton", "dash", "doge", "xrp", "zec", "gnosis",
    "bera", "bsc", "pol", "tron", "sui", "op", "avax", "cardano", "ltc", "xlayer", "monad",
    "bch", "adi", "plasma", "scroll", "starknet", "aleo",
}  # fmt: skip
RUST_ENUMS: dict[str, set[str]] = {
    "blockchain": RUST_BLOCKCHAINS,
    "swapType": {"EXACT_INPUT", "EXACT_OUTPUT", "FLEX_INPUT", "ANY_INPUT"},
    "depositType": {"ORIGIN_CHAIN", "INTENTS"},
    "refundType": {"ORIGIN_CHAIN", "INTENTS"},
    "recipientType": {"DESTINATION_CHAIN", "INTENTS"},
    "depositMode": {"SIMPLE", "MEMO"},
    "status": {s.value for s in SwapStatus},
}
STELLAR_XLM = "nep141:stellar.omft.near"  # a sample token on a chain neither SDK knows


# --------------------------------------------------------------------------------------------
# Oracles built from the reference YAML itself (independent of the generated table)
# --------------------------------------------------------------------------------------------


@functools.cache
def _spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(REFERENCE.read_text())
    return document


def _without_examples(node: Any) -> Any:  # YAML examples parse to datetimes: not JSON
    if isinstance(node, dict):
        return {k: _without_examples(v) for k, v in node.items() if k != "example"}
    if isinstance(node, list):
        return [_without_examples(v) for v in node]
    return node


@functools.cache
def _closed_components() -> dict[str, Any]:
    schemas = copy.deepcopy(_without_examples(_spec()["components"]["schemas"]))
    for schema in schemas.values():
        if "properties" in schema:
            schema["additionalProperties"] = False
    return {"schemas": schemas}


def _response_schema(method: str, path: str, status: int) -> dict[str, Any]:
    operation = _spec()["paths"][path][method.lower()]
    content = operation["responses"].get(str(status), {}).get("content")
    if content is None:  # e.g. 401: no body documented; ours is the spec's error shape
        assert status >= 400, (method, path, status)
        return {"$ref": "#/components/schemas/BadRequestResponse"}
    schema: dict[str, Any] = content["application/json"]["schema"]
    return schema


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _resolve(_spec()["components"]["schemas"][schema["$ref"].split("/")[-1]])
    if len(schema.get("allOf", [])) == 1:
        return _resolve(schema["allOf"][0])
    return schema


def assert_valid_strict(method: str, path: str, response: httpx.Response) -> None:
    """The body validates against the reference with ``additionalProperties: false`` on every
    object (so also: every required property is present, every enum value is the spec's)."""
    schema = {**_response_schema(method, path, response.status_code),
              "components": _closed_components()}  # fmt: skip
    validator = jsonschema_rs.Draft4Validator(schema, validate_formats=True)
    problems = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(response.json())]
    assert not problems, (method, path, response.status_code, problems)


def _foreign_enum(item: Any, schema: dict[str, Any]) -> bool:
    properties = _resolve(schema).get("properties", {})
    return isinstance(item, dict) and any(
        "enum" in _resolve(sub) and item[key] not in _resolve(sub)["enum"]
        for key, sub in properties.items()
        if key in item
    )


def out_of_spec(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """What the reference cannot carry: unknown properties, and list items with an enum value
    outside the reference (a token on a newer chain)."""
    schema = _resolve(schema)
    if schema.get("type") == "array" and isinstance(value, list):
        found: list[str] = []
        for i, item in enumerate(value):
            if _foreign_enum(item, schema["items"]):
                found.append(f"{path}[{i}]")
            else:
                found += out_of_spec(item, schema["items"], f"{path}[{i}]")
        return found
    if "properties" in schema and isinstance(value, dict):
        found = []
        for key, item in value.items():
            if key in schema["properties"]:
                found += out_of_spec(item, schema["properties"][key], f"{path}.{key}")
            else:
                found.append(f"{path}.{key}")
        return found
    return []


def removals(full: Any, profiled: Any, path: str = "$") -> list[str]:
    """Where ``profiled`` is ``full`` with object properties or list items removed (fails on any
    added, changed or reordered value)."""
    if isinstance(full, dict):
        assert isinstance(profiled, dict), path
        assert profiled.keys() <= full.keys(), f"{path}: added {profiled.keys() - full.keys()}"
        removed = [f"{path}.{key}" for key in full if key not in profiled]
        for key in profiled:
            removed += removals(full[key], profiled[key], f"{path}.{key}")
        return removed
    if isinstance(full, list):
        assert isinstance(profiled, list), path
        removed, j = [], 0
        for i, item in enumerate(full):
            here = f"{path}[{i}]"
            try:
                inner = removals(item, profiled[j], here) if j < len(profiled) else None
            except AssertionError:
                inner = None
            if inner is None:
                removed.append(here)
            else:
                removed += inner
                j += 1
        assert j == len(profiled), f"{path}: items added or reordered"
        return removed
    assert type(profiled) is type(full), f"{path}: {full!r} -> {profiled!r}"
    assert profiled == full, f"{path}: {full!r} -> {profiled!r}"
    return []


def rust_enum_values(path: str, body: Any) -> list[tuple[str, Any]]:
    """(field, value) of every enum the Rust models decode in this response."""

    def request_enums(echo: dict[str, Any]) -> list[tuple[str, Any]]:
        keys = ("swapType", "depositType", "refundType", "recipientType", "depositMode")
        return [(key, echo[key]) for key in keys if key in echo]

    if path == "/v0/tokens":
        return [("blockchain", token["blockchain"]) for token in body]
    if path == "/v0/quote" and "quoteRequest" in body:
        return request_enums(body["quoteRequest"])
    if "quoteResponse" in body:
        return [("status", body["status"]), *request_enums(body["quoteResponse"]["quoteRequest"])]
    return []


# --------------------------------------------------------------------------------------------
# Driving the app
# --------------------------------------------------------------------------------------------


async def _send(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], **kw: Any
) -> httpx.Response:
    return await client.request(method, path, headers=headers, **kw)


async def profiled_and_full(
    client: httpx.AsyncClient, profile: str, method: str, path: str, **kw: Any
) -> tuple[httpx.Response, httpx.Response]:
    """The same request twice (same correlation id), in ``profile`` and then in ``full``."""
    extra = kw.pop("headers", {})
    correlation = {"x-correlation-id": str(uuid.uuid4()), **extra}
    profiled = await _send(client, method, path, {**correlation, "X-OneClick-Compat": profile},
                           **kw)  # fmt: skip
    full = await _send(client, method, path, correlation, **kw)
    assert profiled.status_code == full.status_code, (profiled.text, full.text)
    assert profiled.headers["x-oneclick-compat"] == profile
    assert full.headers["x-oneclick-compat"] == "full"
    return profiled, full


async def check_strict(
    client: httpx.AsyncClient, method: str, path: str, **kw: Any
) -> httpx.Response:
    strict, full = await profiled_and_full(client, STRICT, method, path, **kw)
    assert int(strict.headers["content-length"]) == len(strict.content)
    assert_valid_strict(method, path, strict)
    schema = _response_schema(method, path, strict.status_code)
    assert removals(full.json(), strict.json()) == out_of_spec(full.json(), schema)
    return strict


async def check_rust(client: httpx.AsyncClient, method: str, path: str, **kw: Any) -> Any:
    rust, full = await profiled_and_full(client, RUST, method, path, **kw)
    body = rust.json()
    unknown = [(k, v) for k, v in rust_enum_values(path, body) if v not in RUST_ENUMS[k]]
    assert not unknown, (path, unknown)
    expected = []
    if path == "/v0/tokens":
        expected = [f"$[{i}]" for i, token in enumerate(full.json())
                    if token["blockchain"] not in RUST_ENUMS["blockchain"]]  # fmt: skip
    assert removals(full.json(), body) == expected
    return body


async def _set_status(world: FakeWorld, address: str, status: SwapStatus) -> None:
    # Forced, as an operator editing the row would (the aggregate allows only the engine's
    # transitions, and these tests need statuses no swap reaches that way).
    async with world.store.db.begin() as conn:
        await conn.execute(
            update(swaps)
            .where(swaps.c.deposit_address == address)
            .values(status=status.value, version=swaps.c.version + 1)
        )


def _quote_requests() -> list[dict[str, Any]]:
    return [
        quote_request(dry=True),
        quote_request(appFees=[{"recipient": "partner.near", "fee": 10}], referral="myapp",
                      quoteWaitingTimeMs=500,
                      virtualChainRecipient="0xb4c2fbec9d610F9A3a9b843c47b1A8095ceC887C"),
        quote_request(depositType="INTENTS", customRecipientMsg="hello"),
        quote_request(originAsset="nep141:wrap.near", amount=str(10**24), refundTo="bob.near",
                      depositType="INTENTS", refundType="INTENTS"),
        quote_request(originAsset=STELLAR_XLM, amount="100000000", depositMode="MEMO",
                      refundTo="GAHK7EEG2WWHVKDNT4CEQFZGKF2LGDSW2IVM4S5DP42RBW3K6BTODB4A"),
    ]  # fmt: skip


async def _status_of(client: httpx.AsyncClient, quote: dict[str, Any]) -> dict[str, Any]:
    params = {"depositAddress": quote["quote"]["depositAddress"]}
    if "depositMemo" in quote["quote"]:
        params["depositMemo"] = quote["quote"]["depositMemo"]
    response = await client.get("/v0/status", params=params)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


# --------------------------------------------------------------------------------------------
# v0.1.10-strict (the Go SDK)
# --------------------------------------------------------------------------------------------


async def test_strict_tokens_are_the_reference_surface(client: httpx.AsyncClient) -> None:
    strict = await check_strict(client, "GET", "/v0/tokens")
    assert STELLAR_XLM not in {t["assetId"] for t in strict.json()}  # stellar is newer than 0.1.10
    assert any("coingeckoId" in t for t in (await client.get("/v0/tokens")).json())
    assert all("coingeckoId" not in t for t in strict.json())


@pytest.mark.parametrize("index", range(len(_quote_requests())))
async def test_strict_quotes_are_the_reference_surface(
    client: httpx.AsyncClient, index: int
) -> None:
    body = _quote_requests()[index]
    strict = await client.post("/v0/quote", json=body, headers={"X-OneClick-Compat": STRICT})
    assert strict.status_code == 200, strict.text
    assert_valid_strict("POST", "/v0/quote", strict)
    assert "correlationId" not in strict.json()
    if body["dry"]:
        strict = await check_strict(client, "POST", "/v0/quote", json=body)
        return
    # A live quote cannot be asked for twice: compare it with the full document /v0/status keeps.
    full = (await _status_of(client, strict.json()))["quoteResponse"]
    schema = _response_schema("POST", "/v0/quote", 200)
    removed = removals(full, strict.json())
    assert removed == out_of_spec(full, schema)
    assert "$.correlationId" in removed
    assert ("$.quote.refundFee" in removed) == ("refundFee" in full["quote"])
    assert strict.json()["signature"] == full["signature"]


@pytest.mark.parametrize("status", list(SwapStatus))
async def test_strict_status_and_deposit_submit_in_every_status(
    client: httpx.AsyncClient, world: FakeWorld, status: SwapStatus
) -> None:
    quote = (await client.post("/v0/quote", json=quote_request(referral="myapp"))).json()
    address = quote["quote"]["depositAddress"]
    await _set_status(world, address, status)
    strict = await check_strict(client, "GET", "/v0/status", params={"depositAddress": address})
    assert strict.json()["status"] == status.value
    assert "correlationId" not in strict.json()["quoteResponse"]
    submitted = await check_strict(
        client, "POST", "/v0/deposit/submit", json={"txHash": "ab" * 32, "depositAddress": address}
    )
    assert submitted.json()["status"] in {status.value, SwapStatus.KNOWN_DEPOSIT_TX.value}


async def test_strict_error_bodies_are_the_reference_error(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    expired = "Bearer not-a-jwt"
    cases: list[tuple[str, str, dict[str, Any], int]] = [
        ("POST", "/v0/quote", {"json": {"dry": True}}, 400),
        ("POST", "/v0/quote", {"json": quote_request(originAsset="nep141:nope.near")}, 400),
        ("POST", "/v0/quote", {"json": quote_request(), "headers": {"Authorization": expired}},
         401),
        ("GET", "/v0/status", {"params": {"depositAddress": "0xabc"}}, 404),
        ("GET", "/v0/status", {}, 400),
        ("GET", "/v0/status", {"params": {"depositAddress": "0xabc"},
                               "headers": {"Authorization": expired}}, 401),
        ("POST", "/v0/deposit/submit", {"json": {"txHash": "ab", "depositAddress": "0x1"}}, 404),
        ("POST", "/v0/deposit/submit", {"json": {"txHash": "ab"}}, 400),
        ("POST", "/v0/deposit/submit", {"json": {"txHash": "ab", "depositAddress": "0x1"},
                                        "headers": {"Authorization": expired}}, 401),
    ]  # fmt: skip
    for method, path, kw, expected in cases:
        strict = await check_strict(client, method, path, **kw)
        assert strict.status_code == expected, (path, strict.text)
        assert set(strict.json()) == {"message"}


async def test_strict_serves_newer_operations_in_full_but_their_errors_in_the_error_shape(
    client: httpx.AsyncClient,
) -> None:
    """The Go SDK has no generate-intent, submit-intent or any-input operations: their answers
    stay as they are, but an error is the one ``{"message"}`` shape."""
    for method, path, kw in [
        ("GET", "/v0/any-input/withdrawals", {"params": {"depositAddress": "0xabc"}}),
        ("POST", "/v0/generate-intent", {"json": {"type": "swap_transfer"}}),
        ("POST", "/v0/submit-intent", {"json": {"type": "nope"}}),
    ]:
        strict, full = await profiled_and_full(client, STRICT, method, path, **kw)
        assert strict.status_code >= 400
        assert strict.json() == {"message": full.json()["message"]}
    quote = (await client.post("/v0/quote", json=quote_request(depositType="INTENTS"))).json()
    signer = implicit_account_id(Ed25519SecretKey.generate().public_key)
    generated = await client.post(
        "/v0/generate-intent",
        json={"type": "swap_transfer", "standard": "raw_ed25519", "signerId": signer,
              "depositAddress": quote["quote"]["depositAddress"]},
        headers={"X-OneClick-Compat": STRICT},
    )  # fmt: skip
    assert generated.status_code == 200
    assert set(generated.json()) == {"intent", "correlationId"}


# --------------------------------------------------------------------------------------------
# rust-v0
# --------------------------------------------------------------------------------------------


async def test_rust_profile_only_filters_tokens_it_cannot_decode(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    tokens = await check_rust(client, "GET", "/v0/tokens")
    assert STELLAR_XLM not in {t["assetId"] for t in tokens}
    assert any("coingeckoId" in t for t in tokens)  # unknown fields: the Rust SDK ignores them
    for body in _quote_requests():
        if body["dry"]:
            await check_rust(client, "POST", "/v0/quote", json=body)
            continue
        rust = await client.post("/v0/quote", json=body, headers={"X-OneClick-Compat": RUST})
        assert rust.status_code == 200
        assert rust.json() == (await _status_of(client, rust.json()))["quoteResponse"]
        assert rust.json()["correlationId"]  # required by the Rust models
    quote = (await client.post("/v0/quote", json=quote_request())).json()
    address = quote["quote"]["depositAddress"]
    for status in SwapStatus:
        await _set_status(world, address, status)
        body = await check_rust(client, "GET", "/v0/status", params={"depositAddress": address})
        assert body["status"] == status.value
        await check_rust(client, "POST", "/v0/deposit/submit",
                         json={"txHash": "cd" * 32, "depositAddress": address})  # fmt: skip
    error = await check_rust(client, "GET", "/v0/status", params={"depositAddress": "0xabc"})
    assert error["message"] == "Deposit address 0xabc not found"


# --------------------------------------------------------------------------------------------
# Selection
# --------------------------------------------------------------------------------------------


async def test_the_sdks_default_user_agents_pick_their_profile(client: httpx.AsyncClient) -> None:
    go = await client.get("/v0/tokens", headers={"User-Agent": GO_USER_AGENT})
    assert go.headers["x-oneclick-compat"] == STRICT
    assert_valid_strict("GET", "/v0/tokens", go)
    go_quote = await client.post("/v0/quote", json=quote_request(dry=True),
                                 headers={"User-Agent": GO_USER_AGENT})  # fmt: skip
    assert_valid_strict("POST", "/v0/quote", go_quote)
    assert "correlationId" not in go_quote.json()

    rust = await client.get("/v0/tokens", headers={"User-Agent": RUST_USER_AGENT})
    assert rust.headers["x-oneclick-compat"] == RUST
    assert {t["blockchain"] for t in rust.json()} <= RUST_ENUMS["blockchain"]
    assert any("coingeckoId" in t for t in rust.json())

    for agent in ("python-httpx/0.28.1", "OpenAPI-Generator/1.0.0/go-custom", None):
        headers = {"User-Agent": agent} if agent else {}
        other = await client.get("/v0/tokens", headers=headers)
        assert other.headers["x-oneclick-compat"] == "full"
        assert STELLAR_XLM in {t["assetId"] for t in other.json()}


async def test_the_header_wins_over_the_user_agent(client: httpx.AsyncClient) -> None:
    both = {"User-Agent": GO_USER_AGENT, "X-OneClick-Compat": "full"}
    full = await client.post("/v0/quote", json=quote_request(dry=True), headers=both)
    assert full.headers["x-oneclick-compat"] == "full"
    assert "correlationId" in full.json()
    rust = await client.get("/v0/tokens", headers={"User-Agent": GO_USER_AGENT,
                                                   "X-OneClick-Compat": " Rust-V0 "})  # fmt: skip
    assert rust.headers["x-oneclick-compat"] == RUST


async def test_an_unknown_profile_is_a_400_naming_the_valid_ones(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v0/tokens", headers={"X-OneClick-Compat": "go"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"message"}
    for name in ("full", STRICT, RUST, "'go'"):
        assert name in body["message"]
    assert response.headers["vary"] == "X-OneClick-Compat, User-Agent"
    assert response.headers["x-correlation-id"]


async def test_every_response_varies_on_the_profile_inputs(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"X-OneClick-Compat": STRICT}, {"User-Agent": RUST_USER_AGENT}):
        for response in (
            await client.get("/v0/tokens", headers=headers),
            await client.get("/v0/status", params={"depositAddress": "0x1"}, headers=headers),
            await client.get("/docs/v0/openapi.yaml", headers=headers),
        ):
            assert response.headers["vary"] == "X-OneClick-Compat, User-Agent"


async def test_partner_quotes_are_profiled_like_anonymous_ones(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    _, token = await add_partner(world.store, "acme", secret=world.keys.jwt_secret,
                                 now=world.clock.now(), ttl=None)  # fmt: skip
    await check_strict(client, "POST", "/v0/quote", json=quote_request(dry=True),
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip


# --------------------------------------------------------------------------------------------
# Signatures: the full quote is what the TypeScript SDK verifies
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_full_quotes_still_verify_with_the_ts_sdk_and_profiles_keep_the_signature(
    client: httpx.AsyncClient,
    world: FakeWorld,
    ts_verify_quote: Callable[[dict[str, Any], str], bool],
) -> None:
    key = world.keys.manager_public_key
    for profile in (STRICT, RUST):
        profiled = (await client.post("/v0/quote", json=quote_request(),
                                      headers={"X-OneClick-Compat": profile})).json()  # fmt: skip
        full = (await _status_of(client, profiled))["quoteResponse"]
        assert profiled["signature"] == full["signature"]
        assert ts_verify_quote(full, key)
    dry_strict, dry_full = await profiled_and_full(client, STRICT, "POST", "/v0/quote",
                                                   json=quote_request(dry=True))  # fmt: skip
    assert dry_strict.json()["signature"] == dry_full.json()["signature"]
    assert ts_verify_quote(dry_full.json(), key)
    explicit = await client.post("/v0/quote", json=quote_request(),
                                 headers={"X-OneClick-Compat": "full"})  # fmt: skip
    assert ts_verify_quote(explicit.json(), key)


# --------------------------------------------------------------------------------------------
# ANY_INPUT: the full profile has every 0.1.25 field; strict and rust-v0 keep their shapes
# --------------------------------------------------------------------------------------------


ANY_INPUT_ECHO = "quoteRequest.swapType"


def _strict_problems(method: str, path: str, response: httpx.Response) -> list[str]:
    schema = {**_response_schema(method, path, response.status_code),
              "components": _closed_components()}  # fmt: skip
    validator = jsonschema_rs.Draft4Validator(schema, validate_formats=True)
    return [".".join(map(str, e.instance_path)) for e in validator.iter_errors(response.json())]


async def _any_input_quote(client: httpx.AsyncClient, world: FakeWorld) -> dict[str, str]:
    _, token = await add_partner(world.store, "fees", secret=world.keys.jwt_secret,
                                 now=world.clock.now(), ttl=None)  # fmt: skip
    return {"Authorization": f"Bearer {token}"}


def _any_input_request() -> dict[str, Any]:
    return quote_request(swapType="ANY_INPUT", originAsset="1cs_v1:any", amount="0",
                         depositType="INTENTS", refundTo="fees.near", refundType="INTENTS",
                         slippageTolerance=0)  # fmt: skip


async def _finished_withdrawal(world: FakeWorld, address: str) -> None:
    """A SUCCESS withdrawal row (its shape is what this test is about; the engine tests in
    tests/unit/oneclick/test_oc_any_input.py make real ones)."""
    from oneclick.domain.any_input import AnyInputWithdrawal, WithdrawalState
    from oneclick.domain.engine import Leg
    from oneclick.domain.records import IntentKind, IntentState

    now = world.clock.now()
    async with world.store.transaction() as tx:
        swap = await tx.swaps.by_deposit(address, None)
        assert swap is not None
        leg = Leg(
            "11" * 32,
            swap.id,
            IntentKind.WITHDRAW,
            swap.custody_account_id,
            "AA==",
            "{}",
            IntentState.SETTLED,
            now,
            now,
            debits={swap.destination_asset: 5_000_000},
        )
        withdrawal = AnyInputWithdrawal("w1", swap.id, swap.destination_asset, 5_000_000,
                                        leg.intent_hash, WithdrawalState.PENDING, None, None,
                                        now, now)  # fmt: skip
        await tx.any_input.add_withdrawal(withdrawal, leg, [])
        await tx.any_input.finish_withdrawal(
            "w1", now, state=WithdrawalState.SUCCESS, delivered=4_700_000, tx_hash="0x" + "ab" * 32
        )


async def test_any_input_quotes_status_and_withdrawals_in_every_profile(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    auth = await _any_input_quote(client, world)
    strict = await client.post("/v0/quote", json=_any_input_request(),
                               headers={**auth, "X-OneClick-Compat": STRICT})  # fmt: skip
    assert strict.status_code == 200, strict.text
    # The Go SDK cannot ask for ANY_INPUT (0.1.10 has no such swapType): the echo of the request
    # keeps it (a profile never changes a value), everything else is the reference surface.
    assert _strict_problems("POST", "/v0/quote", strict) == [ANY_INPUT_ECHO]
    full = (await _status_of(client, strict.json()))["quoteResponse"]
    assert full["quote"]["chainDepositAddresses"]  # the full profile: every 0.1.25 field
    removed = removals(full, strict.json())
    assert "$.quote.chainDepositAddresses" in removed
    assert removed == out_of_spec(full, _response_schema("POST", "/v0/quote", 200))
    assert strict.json()["signature"] == full["signature"]
    address = full["quote"]["depositAddress"]
    params = {"depositAddress": address}
    status, whole = await profiled_and_full(client, STRICT, "GET", "/v0/status", params=params)
    assert _strict_problems("GET", "/v0/status", status) == ["quoteResponse." + ANY_INPUT_ECHO]
    schema = _response_schema("GET", "/v0/status", 200)
    assert removals(whole.json(), status.json()) == out_of_spec(whole.json(), schema)
    assert "anyInputDeposits" in whole.json()["swapDetails"]
    assert "anyInputDeposits" not in status.json()["swapDetails"]
    await check_rust(client, "GET", "/v0/status", params={"depositAddress": address})

    await _finished_withdrawal(world, address)
    rust, whole = await profiled_and_full(client, RUST, "GET", "/v0/any-input/withdrawals",
                                          params=params)  # fmt: skip
    body = whole.json()
    [line] = body["withdrawals"]  # an array, as the docs show it
    assert set(line) == {"status", "amountOut", "amountOutFormatted", "amountOutUsd",
                         "withdrawFee", "withdrawFeeFormatted", "withdrawFeeUsd", "timestamp",
                         "hash"}  # fmt: skip
    assert (line["amountOut"], line["withdrawFee"]) == ("4700000", "300000")
    assert {"asset", "recipient", "affiliateRecipient"} <= body.keys()
    # The Rust SDK decodes ``withdrawals`` as one object: the array is left out, nothing else.
    assert removals(body, rust.json()) == ["$.withdrawals"]
    go, whole = await profiled_and_full(client, STRICT, "GET", "/v0/any-input/withdrawals",
                                        params=params)  # fmt: skip
    assert go.json() == whole.json()  # not a Go SDK operation: served as it is
