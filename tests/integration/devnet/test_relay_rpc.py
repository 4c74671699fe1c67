"""The relay's wire, byte for byte where it matters: JSON-RPC errors for malformed requests
(never an HTTP 500), ``?method=``, API keys in both header styles, and the solver WebSocket's
subscribe/unsubscribe/event envelope."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from devnet.relay import RelayConfig
from devnet.relay.testing import USDC, WNEAR, World, eventually, relay_world
from nearintents.rpc import HttpSolverRelay, QuoteRequest, RpcUnauthorized

pytestmark = pytest.mark.devnet


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with relay_world() as w:
        yield w


async def post(world: World, body: bytes | str, *, url: str | None = None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(url or world.relay_server.url, content=body)


def quote_params(**overrides: Any) -> dict[str, Any]:
    params = {
        "defuse_asset_identifier_in": USDC,
        "defuse_asset_identifier_out": WNEAR,
        "exact_amount_in": "1000",
        "wait_ms": 50,
    }
    params.update(overrides)
    return params


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", -32700),
        (b"\xff\xfe", -32700),
        (b"NaN", -32700),
        (b"[]", -32600),
        (b'{"jsonrpc":"2.0","id":1}', -32600),
        (b'{"jsonrpc":"1.0","id":1,"method":"quote","params":[]}', -32600),
        (b'{"jsonrpc":"2.0","id":true,"method":"quote","params":[]}', -32600),
        (b'{"jsonrpc":"2.0","id":1,"method":"nope","params":[{}]}', -32601),
        (b'{"jsonrpc":"2.0","id":1,"method":"quote","params":[]}', -32602),
        (b'{"jsonrpc":"2.0","id":1,"method":"quote","params":[1]}', -32602),
        (b'{"jsonrpc":"2.0","id":1,"method":"get_status","params":[{"intent_hash":"x"}]}', -32602),
        (
            b'{"jsonrpc":"2.0","id":1,"method":"publish_intent","params":[{"quote_hashes":[]}]}',
            -32602,
        ),
    ],
)
async def test_malformed_requests_get_json_rpc_errors(world: World, body: bytes, code: int) -> None:
    response = await post(world, body)
    assert response.status_code == 200
    assert response.json()["error"]["code"] == code
    assert response.json()["jsonrpc"] == "2.0"


@pytest.mark.parametrize(
    "overrides",
    [
        {"exact_amount_out": "5"},  # both amounts
        {"exact_amount_in": "0"},
        {"exact_amount_in": "1.5"},
        {"exact_amount_in": 10**40},
        {"defuse_asset_identifier_out": USDC},  # same token
        {"defuse_asset_identifier_in": "usdc.near"},  # not a token id
        {"min_deadline_ms": -1},
    ],
)
async def test_bad_quote_params_are_invalid_params(world: World, overrides: dict[str, Any]) -> None:
    body = {"jsonrpc": "2.0", "id": "q", "method": "quote", "params": [quote_params(**overrides)]}
    answer = (await post(world, json.dumps(body))).json()
    assert answer["id"] == "q"
    assert answer["error"]["code"] == -32602


async def test_method_may_come_from_the_query_string(world: World) -> None:
    body = {"jsonrpc": "2.0", "id": 7, "params": [quote_params()]}
    response = await post(world, json.dumps(body), url=world.relay_server.url + "?method=quote")
    assert response.json() == {"jsonrpc": "2.0", "id": 7, "result": None}


async def test_too_large_a_body_is_refused_without_a_500(world: World) -> None:
    response = await post(world, b" " * (world.relay.config.max_message_bytes + 1))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == -32600


async def test_api_keys_in_either_header_style() -> None:
    async with relay_world(relay_config=RelayConfig(api_keys=frozenset({"sekret"}))) as world:
        request = QuoteRequest(
            defuse_asset_identifier_in=USDC,
            defuse_asset_identifier_out=WNEAR,
            exact_amount_in=1,
            wait_ms=50,
        )
        assert await world.client.quote(request) == []  # the world's client sends the key
        async with HttpSolverRelay(world.relay_server.url) as anonymous:
            with pytest.raises(RpcUnauthorized):
                await anonymous.quote(request)
        body = json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": "quote", "params": [quote_params()]}
        )
        async with httpx.AsyncClient(timeout=10) as http:
            for headers in ({"X-API-Key": "sekret"}, {"Authorization": "Bearer sekret"}):
                ok = await http.post(world.relay_server.url, content=body, headers=headers)
                assert ok.json()["result"] is None
            wrong = await http.post(
                world.relay_server.url, content=body, headers={"X-API-Key": "x"}
            )
            assert wrong.status_code == 401
        with pytest.raises(InvalidStatus):
            async with connect(world.relay_server.ws_url, open_timeout=5):
                pass
        headers = {"Authorization": "Bearer sekret"}
        async with connect(world.relay_server.ws_url, additional_headers=headers) as ws:
            await ws.send(
                json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": ["quote"]})
            )
            assert "result" in json.loads(await asyncio.wait_for(ws.recv(), 5))


async def test_the_solver_websocket(world: World) -> None:
    async with connect(world.relay_server.ws_url, open_timeout=5) as ws:

        async def call(request_id: int, method: str, params: Any) -> dict[str, Any]:
            message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
            await ws.send(json.dumps(message))
            answer: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert answer["id"] == request_id
            return answer

        subscription = (await call(1, "subscribe", ["quote"]))["result"]
        status_sub = (await call(2, "subscribe", ["quote_status", {}, True]))["result"]
        assert subscription != status_sub
        assert (await call(3, "subscribe", ["nope"]))["error"]["code"] == -32602
        assert (await call(4, "unknown", []))["error"]["code"] == -32601
        unknown_quote = await call(5, "quote_response", [{"quote_id": "nope"}])
        assert "unknown or closed quote_id" in unknown_quote["error"]["message"]
        await ws.send("not json")
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["error"]["code"] == -32700

        request = QuoteRequest(
            defuse_asset_identifier_in=USDC,
            defuse_asset_identifier_out=WNEAR,
            exact_amount_out=42,
            wait_ms=2_000,
        )
        pending = asyncio.create_task(world.client.quote(request))
        event = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert event["method"] == "event"
        assert event["params"]["subscription"] == subscription
        data = event["params"]["data"]
        assert data == {
            "quote_id": data["quote_id"],
            "defuse_asset_identifier_in": USDC,
            "defuse_asset_identifier_out": WNEAR,
            # the solver is asked for the least it must pay so that 42 reach the channel after
            # the verifier's 100 pips: net(43) = 43 - ceil(0.0043) = 42
            "exact_amount_out": "43",
            "min_deadline_ms": 60_000,
        }
        assert event["params"]["metadata"]["partner_id"] == "1click"
        assert event["params"]["metadata"]["traceparent"].startswith("00-")
        # A solver that declines in words: the relay stops waiting for it.
        declined = await call(
            6,
            "quote_response",
            [{"quote_id": data["quote_id"], "quote_output": {"amount_in": "x"}}],
        )
        assert "quote_output.amount_in is not a u128 amount" in declined["error"]["message"]
        assert await asyncio.wait_for(pending, 5) == []

        assert (await call(7, "unsubscribe", [subscription]))["result"] == "OK"
        assert (await call(8, "unsubscribe", [subscription]))["error"]["code"] == -32602
        await world.client.quote(request.model_copy(update={"wait_ms": 50}))
        await eventually(lambda: not world.relay.hub.collections, what="the quote to close")
        await ws.send(
            json.dumps({"jsonrpc": "2.0", "id": 9, "method": "subscribe", "params": ["quote"]})
        )
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["id"] == 9, (
            "no event after unsubscribe"
        )
