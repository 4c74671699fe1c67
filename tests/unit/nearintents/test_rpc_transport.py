"""JsonRpcTransport against a real local server: envelope, id check, error tree, timeouts, and the
strict wire scalars."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.responses import JSONResponse

from nearintents.rpc import (
    RpcError,
    RpcMalformedResponse,
    RpcServerError,
    RpcTimeout,
    RpcTransportError,
    RpcUnauthorized,
)
from nearintents.rpc.jsonrpc import I128, U128, JsonRpcTransport, TokenId, decode_json


class Pong(BaseModel):
    pong: int


PONG = TypeAdapter(Pong)


async def call(url: str, **kwargs: Any) -> Pong:
    async with JsonRpcTransport(url, **kwargs) as rpc:
        return await rpc.call("ping", [{"n": 1}], PONG)


async def test_sends_a_json_rpc_2_request_and_returns_the_validated_result(rpc_server):
    rpc_server.result("ping", {"pong": 7})
    assert await call(rpc_server.url) == Pong(pong=7)
    sent = rpc_server.last
    body = sent.json()
    assert set(body) == {"id", "jsonrpc", "method", "params"}
    assert body["jsonrpc"] == "2.0"
    assert body["method"] == "ping"
    assert body["params"] == [{"n": 1}]
    assert isinstance(body["id"], str)
    assert body["id"]
    assert sent.headers["content-type"] == "application/json"
    assert sent.path == "/rpc"


async def test_object_params_are_sent_as_an_object(rpc_server):
    rpc_server.result("ping", {"pong": 1})
    async with JsonRpcTransport(rpc_server.url) as rpc:
        await rpc.call("ping", {"a": "b"}, PONG)
    assert rpc_server.last.json()["params"] == {"a": "b"}


async def test_every_request_gets_a_fresh_id(rpc_server):
    rpc_server.result("ping", {"pong": 1})
    async with JsonRpcTransport(rpc_server.url) as rpc:
        await rpc.call("ping", [], PONG)
        await rpc.call("ping", [], PONG)
    first, second = rpc_server.calls("ping")
    assert first["id"] != second["id"]


async def test_error_as_a_plain_string(rpc_server):
    rpc_server.error("ping", "quote not found")
    with pytest.raises(RpcServerError) as caught:
        await call(rpc_server.url)
    err = caught.value
    assert type(err) is RpcServerError
    assert err.message == "quote not found"
    assert err.code is None
    assert err.method == "ping"
    assert not err.retryable


async def test_error_as_an_object_keeps_code_message_and_data(rpc_server):
    rpc_server.error("ping", {"code": -32602, "message": "invalid params", "data": {"x": 1}})
    with pytest.raises(RpcServerError) as caught:
        await call(rpc_server.url)
    err = caught.value
    assert (err.code, err.message, err.data) == (-32602, "invalid params", {"x": 1})
    assert err.http_status == 200
    assert "code=-32602" in str(err)


async def test_near_style_error_keeps_name_and_cause(rpc_server):
    error = {
        "name": "HANDLER_ERROR",
        "cause": {"name": "TIMEOUT_ERROR", "info": {"requested_transaction_hash": "x"}},
        "code": -32000,
        "message": "Server error",
        "data": "Timeout",
    }
    rpc_server.error("ping", error, status=408)
    with pytest.raises(RpcServerError) as caught:
        await call(rpc_server.url)
    err = caught.value
    assert err.name == "HANDLER_ERROR"
    assert err.cause_name == "TIMEOUT_ERROR"
    assert err.cause_info == {"requested_transaction_hash": "x"}
    assert err.http_status == 408
    assert err.retryable


async def test_error_with_a_null_id_is_still_a_server_error(rpc_server):
    rpc_server.on(
        "ping",
        lambda req: {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse"}},
    )
    with pytest.raises(RpcServerError) as caught:
        await call(rpc_server.url)
    assert caught.value.code == -32700


async def test_http_5xx_with_an_html_body_is_a_retryable_server_error(rpc_server):
    rpc_server.raw("ping", b"<html>bad gateway</html>", status=502, media_type="text/html")
    with pytest.raises(RpcServerError) as caught:
        await call(rpc_server.url)
    err = caught.value
    assert err.http_status == 502
    assert err.retryable
    assert "bad gateway" in err.data


async def test_http_5xx_with_a_json_rpc_error_body_keeps_the_error(rpc_server):
    rpc_server.error("ping", {"code": -32000, "message": "overloaded"}, status=503)
    with pytest.raises(RpcServerError) as caught:
        await call(rpc_server.url)
    assert (caught.value.message, caught.value.http_status) == ("overloaded", 503)
    assert caught.value.retryable


async def test_http_5xx_with_a_result_body_is_still_a_server_error(rpc_server):
    rpc_server.on(
        "ping",
        lambda req: JSONResponse(
            {"jsonrpc": "2.0", "id": req["id"], "result": {"pong": 1}}, status_code=500
        ),
    )
    with pytest.raises(RpcServerError) as caught:
        await call(rpc_server.url)
    assert caught.value.http_status == 500


@pytest.mark.parametrize("status", [401, 403])
async def test_http_401_and_403_mean_the_key_is_wrong(rpc_server, status):
    rpc_server.raw("ping", b'{"message":"unauthorized"}', status=status)
    with pytest.raises(RpcUnauthorized) as caught:
        await call(rpc_server.url, headers={"X-API-Key": "k"})
    assert caught.value.http_status == status
    assert not caught.value.retryable


async def test_http_429_is_retryable(rpc_server):
    rpc_server.raw("ping", b"slow down", status=429)
    with pytest.raises(RpcServerError) as caught:
        await call(rpc_server.url)
    assert caught.value.retryable


async def test_http_404_without_json_rpc_body_is_not_retryable(rpc_server):
    rpc_server.raw("ping", b"not here", status=404)
    with pytest.raises(RpcServerError) as caught:
        await call(rpc_server.url)
    assert caught.value.http_status == 404
    assert not caught.value.retryable


@pytest.mark.parametrize(
    "body",
    [
        b"<html>hello</html>",
        b"",
        b'{"jsonrpc": "2.0", "id": "x", "result": NaN}',
        b"\xff\xfe\x00garbage",
    ],
)
async def test_a_body_that_is_not_json_is_malformed(rpc_server, body):
    rpc_server.raw("ping", body, status=200, media_type="application/json")
    with pytest.raises(RpcMalformedResponse) as caught:
        await call(rpc_server.url)
    assert "not a JSON-RPC 2.0 response" in caught.value.message
    assert not caught.value.retryable


@pytest.mark.parametrize(
    "envelope",
    [
        lambda i: {"id": i, "result": {"pong": 1}},  # no jsonrpc
        lambda i: {"jsonrpc": "1.0", "id": i, "result": {"pong": 1}},
        lambda i: {"jsonrpc": "2.0", "id": i},  # neither result nor error
        lambda i: {"jsonrpc": "2.0", "id": i, "result": {"pong": 1}, "error": "boom"},
        lambda i: {"jsonrpc": "2.0", "id": i, "error": {"code": "x", "message": "m"}},
        lambda i: [{"jsonrpc": "2.0", "id": i, "result": {"pong": 1}}],  # a batch answer
    ],
)
async def test_a_wrong_envelope_is_malformed(rpc_server, envelope):
    rpc_server.on("ping", lambda req: envelope(req["id"]))
    with pytest.raises(RpcMalformedResponse):
        await call(rpc_server.url)


@pytest.mark.parametrize("wrong_id", ["other", 1, None])
async def test_a_result_for_another_id_is_malformed(rpc_server, wrong_id):
    rpc_server.on("ping", lambda req: {"jsonrpc": "2.0", "id": wrong_id, "result": {"pong": 1}})
    with pytest.raises(RpcMalformedResponse) as caught:
        await call(rpc_server.url)
    assert "does not match request id" in caught.value.message


async def test_a_result_of_the_wrong_shape_is_malformed(rpc_server):
    rpc_server.result("ping", {"pong": "seven"})
    with pytest.raises(RpcMalformedResponse) as caught:
        await call(rpc_server.url)
    assert "wrong shape" in caught.value.message
    assert "pong" in caught.value.message
    assert isinstance(caught.value.__cause__, ValidationError)


async def test_a_slow_answer_times_out(rpc_server):
    rpc_server.hang("ping")
    started = time.monotonic()
    with pytest.raises(RpcTimeout) as caught:
        await call(rpc_server.url, timeout=0.2)
    assert time.monotonic() - started < 5
    assert caught.value.retryable
    assert isinstance(caught.value, RpcError)


async def test_the_per_call_time_limit_overrides_the_transport_timeout(rpc_server):
    rpc_server.hang("ping")
    started = time.monotonic()
    async with JsonRpcTransport(rpc_server.url, timeout=60) as rpc:
        with pytest.raises(RpcTimeout):
            await rpc.call("ping", [], PONG, time_limit=0.2)
    assert time.monotonic() - started < 5


async def test_a_server_hanging_up_is_a_transport_error(hangup_url):
    with pytest.raises(RpcTransportError) as caught:
        await call(hangup_url)
    assert caught.value.retryable
    assert isinstance(caught.value.__cause__, httpx.TransportError)


async def test_a_refused_connection_is_a_transport_error(refused_url):
    with pytest.raises(RpcTransportError) as caught:
        await call(refused_url)
    assert caught.value.retryable


async def test_an_injected_client_is_left_open_and_an_owned_one_closed(rpc_server):
    rpc_server.result("ping", {"pong": 3})
    async with httpx.AsyncClient() as shared:
        async with JsonRpcTransport(rpc_server.url, client=shared) as rpc:
            assert (await rpc.call("ping", [], PONG)).pong == 3
        assert not shared.is_closed
        owned = JsonRpcTransport(rpc_server.url)
        await owned.aclose()
        assert owned._client.is_closed


@pytest.mark.parametrize("url", ["ftp://example.org/rpc", "not a url", "http://"])
def test_a_non_http_url_is_refused(url):
    with pytest.raises(ValueError, match="URL"):
        JsonRpcTransport(url)


@pytest.mark.parametrize("timeout", [0, -1.0])
def test_a_non_positive_timeout_is_refused(timeout):
    with pytest.raises(ValueError, match="timeout"):
        JsonRpcTransport("http://127.0.0.1:1/rpc", timeout=timeout)


# --- wire scalars ---

U128_ADAPTER = TypeAdapter(U128)
I128_ADAPTER = TypeAdapter(I128)


@pytest.mark.parametrize(
    ("wire", "value"),
    [("0", 0), ("5", 5), (5, 5), (str(2**128 - 1), 2**128 - 1), ("1000", 1000)],
)
def test_u128_accepts_canonical_decimals(wire, value):
    assert U128_ADAPTER.validate_python(wire) == value
    assert U128_ADAPTER.dump_python(value, mode="json") == str(value)


@pytest.mark.parametrize(
    "wire",
    [
        "01",
        "+5",
        " 5",
        "5 ",
        "1.0",
        "-1",
        "1_000",
        "",
        "0x10",
        "١٢",
        "1e3",
        1.0,
        True,
        -1,
        None,
        str(2**128),
        2**128,
    ],
)
def test_u128_rejects_anything_else(wire):
    with pytest.raises(ValidationError):
        U128_ADAPTER.validate_python(wire)


@pytest.mark.parametrize(("wire", "value"), [("-100", -100), ("0", 0), ("7", 7)])
def test_i128_accepts_signed_decimals(wire, value):
    assert I128_ADAPTER.validate_python(wire) == value


@pytest.mark.parametrize("wire", ["-0", "-01", "+1", "--1", str(2**127), str(-(2**127) - 1)])
def test_i128_rejects_non_canonical_or_out_of_range(wire):
    with pytest.raises(ValidationError):
        I128_ADAPTER.validate_python(wire)


@pytest.mark.parametrize(
    ("token", "ok"),
    [
        ("nep141:wrap.near", True),
        ("nep245:v2_1.omni.hot.tg:137_qiStmoQJDQPTebaPjgx5VBxZv6L", True),
        ("imt:imt.near:token_id1", True),
        ("wrap.near", False),
        ("erc20:0xabc", False),
        ("nep141:", False),
        ("nep141:a b", False),
    ],
)
def test_token_ids_are_checked_by_shape(token, ok):
    adapter = TypeAdapter(TokenId)
    if ok:
        assert adapter.validate_python(token) == token
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(token)


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}'])
def test_decode_json_refuses_non_json_constants(text):
    with pytest.raises(ValueError, match="not valid JSON"):
        decode_json(text)
