"""The relay's wire (PROTOCOL.md §3): JSON-RPC over HTTP at ``POST /rpc`` (``?method=`` accepted)
for distribution channels, and the solver WebSocket at ``/ws``. Malformed input gets a JSON-RPC
error, never an HTTP 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketState

from devnet.relay import jsonrpc as rpc
from devnet.relay.relay import Relay
from devnet.relay.solvers import SolverConnection, Topic
from nearintents.rpc.jsonrpc import CryptoHash
from nearintents.rpc.relay import PublishIntentRequest, PublishIntentsRequest, QuoteRequest

logger = logging.getLogger(__name__)

# Requests are read leniently (unknown fields ignored, e.g. the old ``quote_id`` of ``quote``);
# everything the relay uses is still validated by the shared wire models.
_LENIENT = ConfigDict(frozen=True, extra="ignore")


class _QuoteParams(QuoteRequest):
    model_config = _LENIENT


class _PublishOne(PublishIntentRequest):
    model_config = _LENIENT


class _PublishMany(PublishIntentsRequest):
    model_config = _LENIENT


class _StatusParams(BaseModel):
    model_config = _LENIENT
    intent_hash: CryptoHash


def authorized(api_keys: frozenset[str], headers: Mapping[str, str]) -> bool:
    """Either header style carries the key (PROTOCOL.md §3, open question 4)."""
    if not api_keys:
        return True
    bearer = headers.get("authorization", "")
    offered = [bearer[7:].strip()] if bearer[:7].lower() == "bearer " else []
    offered.append(headers.get("x-api-key", ""))
    return any(hmac.compare_digest(o, k) for o in offered if o for k in api_keys)


async def _dispatch(relay: Relay, request: rpc.Request) -> Any:
    method, params = request.method, request.params
    if method == "quote":
        quote = rpc.parse_params(_QuoteParams, params)
        if quote.defuse_asset_identifier_in == quote.defuse_asset_identifier_out:
            raise rpc.RpcFault(rpc.INVALID_PARAMS, "Invalid params: the same token in and out")
        return await relay.quote(quote)
    if method == "publish_intent":
        one = rpc.parse_params(_PublishOne, params)
        outcome = await relay.publish([one.signed_data], list(one.quote_hashes))
        return outcome.wire(plural=False)
    if method == "publish_intents":
        many = rpc.parse_params(_PublishMany, params)
        outcome = await relay.publish(list(many.signed_datas), list(many.quote_hashes))
        return outcome.wire(plural=True)
    if method == "get_status":
        status = rpc.parse_params(_StatusParams, params)
        return relay.status(status.intent_hash)
    raise rpc.RpcFault(rpc.METHOD_NOT_FOUND, f"Method not found: {method}")


async def _read_body(request: Request, limit: int) -> bytes | None:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def create_app(relay: Relay) -> Starlette:
    config = relay.config

    async def http_rpc(request: Request) -> JSONResponse:
        if not authorized(config.api_keys, request.headers):
            denied = rpc.RpcFault(rpc.UNAUTHORIZED, "Unauthorized: a valid API key is required")
            return JSONResponse(rpc.error(None, denied), status_code=401)
        body = await _read_body(request, config.max_message_bytes)
        if body is None:
            too_large = rpc.RpcFault(rpc.INVALID_REQUEST, "Invalid Request: body too large")
            return JSONResponse(rpc.error(None, too_large), status_code=413)
        try:
            parsed = rpc.parse_request(body, default_method=request.query_params.get("method"))
        except rpc.RpcFault as fault:
            return JSONResponse(rpc.error(None, fault))
        try:
            value = await _dispatch(relay, parsed)
        except rpc.RpcFault as fault:
            return JSONResponse(rpc.error(parsed.id, fault))
        except Exception:
            logger.exception("relay request failed", extra={"action": parsed.method})
            internal = rpc.RpcFault(rpc.INTERNAL_ERROR, "Internal error")
            return JSONResponse(rpc.error(parsed.id, internal))
        return JSONResponse(rpc.result(parsed.id, value))

    async def solver_ws(websocket: WebSocket) -> None:
        if not authorized(config.api_keys, websocket.headers):
            await websocket.close(code=1008)  # before accept: the handshake gets HTTP 403
            return
        await websocket.accept()
        connection = SolverConnection(queue_size=config.send_queue_size)
        relay.hub.register(connection)
        try:
            reader = asyncio.create_task(_read(relay, websocket, connection))
            writer = asyncio.create_task(_write(websocket, connection, config.send_timeout_s))
            await connection.closing.wait()
            for task in (reader, writer):
                task.cancel()
            for task in (reader, writer):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            relay.hub.unregister(connection)
            if websocket.application_state is WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):  # the peer may be gone already
                    async with asyncio.timeout(config.send_timeout_s):
                        await websocket.close(code=1000, reason=connection.close_reason[:120])
            logger.info(
                "solver connection closed: %s",
                connection.close_reason,
                extra={"action": "solver_disconnect", "connection": connection.id},
            )

    return Starlette(
        routes=[
            Route("/rpc", http_rpc, methods=["POST"]),
            Route("/", http_rpc, methods=["POST"]),
            WebSocketRoute("/ws", solver_ws),
        ]
    )


async def _read(relay: Relay, websocket: WebSocket, connection: SolverConnection) -> None:
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                connection.close("disconnected")
                return
            text = message.get("text")
            if text is None:
                raw = message.get("bytes") or b""
                text = raw.decode("utf-8", "replace")
            await _handle(relay, connection, text)
    except Exception as exc:  # loop top: this connection ends, nobody else is affected
        logger.warning("solver connection failed: %r", exc, extra={"action": "solver_read"})
        connection.close(f"read failed: {type(exc).__name__}")


async def _write(websocket: WebSocket, connection: SolverConnection, timeout_s: float) -> None:
    try:
        while True:
            text = await connection.outbox.get()
            async with asyncio.timeout(timeout_s):
                await websocket.send_text(text)
    except TimeoutError:
        connection.close("send timed out: the solver is not reading")
    except Exception as exc:  # loop top: the peer is gone or the socket broke
        connection.close(f"send failed: {type(exc).__name__}")


async def _handle(relay: Relay, connection: SolverConnection, text: str) -> None:
    try:
        request = rpc.parse_request(text)
    except rpc.RpcFault as fault:
        connection.send(rpc.error(None, fault))
        return
    try:
        value = await _solver_method(relay, connection, request)
    except rpc.RpcFault as fault:
        connection.send(rpc.error(request.id, fault))
    except Exception:
        logger.exception("solver request failed", extra={"action": request.method})
        connection.send(rpc.error(request.id, rpc.RpcFault(rpc.INTERNAL_ERROR, "Internal error")))
    else:
        connection.send(rpc.result(request.id, value))


async def _solver_method(relay: Relay, connection: SolverConnection, request: rpc.Request) -> Any:
    params = request.params
    if request.method == "subscribe":
        # ["quote"] or ["quote_status", {}, true] (guaranteed delivery: accepted, not queued).
        if not isinstance(params, list) or not params or params[0] not in set(Topic):
            raise rpc.RpcFault(rpc.INVALID_PARAMS, 'Invalid params: ["quote"] or ["quote_status"]')
        return connection.subscribe(Topic(params[0]))
    if request.method == "unsubscribe":
        if not isinstance(params, list) or len(params) != 1 or not isinstance(params[0], str):
            raise rpc.RpcFault(rpc.INVALID_PARAMS, "Invalid params: [<subscription id>]")
        if not connection.unsubscribe(params[0]):
            raise rpc.RpcFault(rpc.INVALID_PARAMS, f"unknown subscription {params[0]}")
        return "OK"
    if request.method == "quote_response":
        await relay.answer_quote(connection, rpc.single_param(params))
        return "OK"
    raise rpc.RpcFault(rpc.METHOD_NOT_FOUND, f"Method not found: {request.method}")
